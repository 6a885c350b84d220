"""Option errors, each in one line: a bad value of ours, an option name nobody knows.

mitmproxy logs an exception raised while a script loads as `error in script PATH` followed by the
traceback, even for an OptionsError, whose text already says what is wrong and the fix:

    mitmdump -s addons/relay.py --set proxy_chain=sock5://127.0.0.1:1080
    Cannot use proxy_chain 'sock5://127.0.0.1:1080': unknown scheme 'sock5' (did you mean ...

This addon rewrites that one kind of record (mitmproxy's script logger, an OptionsError attached)
into the error's text alone; every other record passes untouched, so a real bug keeps its
traceback. A later mitmproxy that words or routes it differently only brings the traceback back.

mitmproxy keeps `--set` options no addon declared ("deferred", for scripts that load later) and
never mentions them again: a misspelt option would be ignored in silence. Once everything has
loaded, such names given on the command line are an error here, with the nearest known names
(names from mitmproxy's config file are not: it is shared by mitmdump, mitmweb and the console,
and holds options only one of them declares, such as web_port):

    unknown option proxy_chian (did you mean 'proxy_chain'?)
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from mitmproxy import ctx, exceptions

from . import given
from .chain.spec import suggest

logger = logging.getLogger(__name__)

SCRIPT_LOGGER = "mitmproxy.addons.script"  # mitmproxy/addons/script.py's logger


def one_line(record: logging.LogRecord) -> bool:
    """A logging filter: an OptionsError logged while a script loads becomes its text alone."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, exceptions.OptionsError) and record.getMessage().startswith(
        "error in script"
    ):
        record.msg, record.args = str(exc), None
        record.exc_info = record.exc_text = None
    return True


def unknown_options(names: Iterable[str], known: Iterable[str]) -> str:
    """ "unknown option NAME (did you mean 'X'?)" for each of names, '; ' between them."""
    choices = sorted(known)
    return "; ".join(f"unknown option {name}{suggest(name, choices)}" for name in sorted(names))


class OptionErrors:
    """Installs one_line on mitmproxy's script logger while our scripts are loaded; once all is
    loaded, logs the options nobody declared as an error (mitmproxy then exits at start)."""

    def load(self, loader: object) -> None:
        logging.getLogger(SCRIPT_LOGGER).addFilter(one_line)

    def running(self) -> None:
        unknown = set(ctx.options.deferred) & set(given.settings(sys.argv[1:]))
        if unknown:
            logger.error(unknown_options(unknown, ctx.options.keys()))

    def done(self) -> None:
        logging.getLogger(SCRIPT_LOGGER).removeFilter(one_line)
