"""The Setup page's option, declared here (see optionkit)."""

from __future__ import annotations

from mitmrelay.optionkit import BadValue, Option, Table

TABLE = Table(
    Option(
        name="setup_open_browser",
        typespec=bool,
        default=False,
        help="Open mitmrelay's Setup page (/mitmrelay/ on mitmweb's port) in a browser at start; "
        "`mitmrelay web` turns it on instead of mitmweb's web_open_browser. "
        "e.g. --set setup_open_browser=true",
    ),
)


declare = TABLE.declare
use = TABLE.use
parse = TABLE.parse
check_environment = TABLE.check_environment

__all__ = ["TABLE", "BadValue", "check_environment", "declare", "parse", "use"]
