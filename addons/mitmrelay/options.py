"""Every option of mitmrelay, gathered: each package declares its own, with their checks, in its
options.py (chain, soap, streams, recipe, web); mitmproxy's own options with a check known for
them are here. What needs them all reads this module: the recipe validator (a recipe is judged
exactly as `--set` is), the Setup page, `mitmrelay check`, the docs tests. No package's addon
imports it: each uses its own table (see optionkit for the parts).
"""

from __future__ import annotations

from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.utils import human

from mitmrelay.chain import options as chain
from mitmrelay.optionkit import (
    CWD,
    BadValue,
    Check,
    Missing,
    Option,
    Place,
    Table,
    Unset,
    absolute_input,
    input_check,
    require_env,
)
from mitmrelay.recipe import options as recipe
from mitmrelay.soap import options as soap
from mitmrelay.streams import options as streams
from mitmrelay.web import options as web


def _size(value: str) -> int | None:
    try:
        return human.parse_size(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a size: write bytes or a number with k, m or g, e.g. 1m"
        ) from None


# mitmproxy's own options with a check: mitmproxy declares them; recipes are judged by these.
_MITMPROXY = (
    Check(name="mode", check=ProxyMode.parse),
    Check(name="stream_large_bodies", check=_size),
    Check(name="body_size_limit", check=_size),
    # Input files: a relative path in a recipe is relative to the recipe file, so a recipe can
    # ship with its certificates. Output paths (record_dir, socat_dump) stay relative to the
    # directory mitmproxy runs in, as on the command line.
    Check(
        name="ssl_verify_upstream_trusted_ca", files=input_check("file"), absolute=absolute_input
    ),
    Check(
        name="ssl_verify_upstream_trusted_confdir",
        files=input_check("dir"),
        absolute=absolute_input,
    ),
    Check(name="client_certs", files=input_check("file or dir"), absolute=absolute_input),
    Check(name="rfile", files=input_check("file"), absolute=absolute_input),
    Check(name="server_replay", files=input_check("file"), absolute=absolute_input),
)

TABLE = Table(
    *chain.TABLE.entries,
    *soap.TABLE.entries,
    *streams.TABLE.entries,
    *web.TABLE.entries,
    *recipe.TABLE.entries,
    *_MITMPROXY,
)
OPTIONS: dict[str, Option] = TABLE.options
MITMPROXY: dict[str, Check] = {check.name: check for check in _MITMPROXY}
CHECKS: dict[str, Check] = TABLE.checks

declare = TABLE.declare
judge = TABLE.judge
judge_environment = TABLE.judge_environment
parse = TABLE.parse
check_environment = TABLE.check_environment
use = TABLE.use

__all__ = [
    "CHECKS",
    "CWD",
    "MITMPROXY",
    "OPTIONS",
    "TABLE",
    "BadValue",
    "Check",
    "Missing",
    "Option",
    "Place",
    "Unset",
    "check_environment",
    "declare",
    "judge",
    "judge_environment",
    "parse",
    "require_env",
    "use",
]
