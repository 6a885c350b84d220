"""Option errors, each in one line: a bad value of ours, an option name nobody knows.

mitmproxy logs an exception raised while a script loads as `error in script PATH` followed by the
traceback, even for an OptionsError, whose text already says what is wrong and the fix:

    mitmdump -s addons/relay.py --set proxy_chain=sock5://127.0.0.1:1080
    Cannot use proxy_chain 'sock5://127.0.0.1:1080': unknown scheme 'sock5' (did you mean ...

This addon rewrites that one kind of record (mitmproxy's script logger, an OptionsError attached)
into the error's text alone; every other record passes untouched, so a real bug keeps its
traceback. A later mitmproxy that words or routes it differently only brings the traceback back.

mitmproxy loads scripts while it brings up its listeners, and exits on an error logged at start
only once they are up, after two lines of its own (`... listening at 127.0.0.1:8080.`,
`Error logged during startup, exiting...`). Such an error, logged before mitmproxy runs, ends the
process right after its line is printed, with mitmproxy's exit status 1: the one line is all the
output. An error of a script reloaded later, while mitmproxy runs, is only logged, as before.

mitmproxy keeps `--set` options no addon declared ("deferred", for scripts that load later) and
never mentions them again: a misspelt option would be ignored in silence. Once everything has
loaded, such names given on the command line are an error here, with the nearest known names
(names from mitmproxy's config file are not: it is shared by mitmdump, mitmweb and the console,
and holds options only one of them declares, such as web_port):

    unknown option proxy_chian (did you mean 'proxy_chain'?)

When ours is the only script (`-s addons/relay.py`, every `mitmrelay` command), everything has
loaded with it, and that line is the whole output too. Beside other scripts, the names are known
only once all have loaded, which is when mitmproxy runs: its two lines come before.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import Iterable
from typing import Any

from mitmproxy import ctx, exceptions

from . import given
from .chain.spec import suggest

logger = logging.getLogger(__name__)

SCRIPT_LOGGER = "mitmproxy.addons.script"  # mitmproxy/addons/script.py's logger
MARK = "mitmrelay_option_error"  # set on the records one_line rewrote
RUNNING: weakref.WeakSet[Any] = weakref.WeakSet()  # the masters that have started running


def one_line(record: logging.LogRecord) -> bool:
    """A logging filter: an OptionsError logged while a script loads becomes its text alone."""
    exc = record.exc_info[1] if record.exc_info else None
    if isinstance(exc, exceptions.OptionsError) and record.getMessage().startswith(
        "error in script"
    ):
        record.msg, record.args = str(exc), None
        record.exc_info = record.exc_text = None
        setattr(record, MARK, True)
    return True


class ExitAtStart(logging.Handler):
    """On the root logger, after mitmproxy's own handlers (added later than they were): once they
    have printed an option error one_line rewrote, mitmproxy is ended with status 1, as it would
    end itself after bringing up its listeners."""

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, MARK, False):
            raise SystemExit(1)


def unknown_options(names: Iterable[str], known: Iterable[str]) -> str:
    """ "unknown option NAME (did you mean 'X'?)" for each of names, '; ' between them."""
    choices = sorted(known)
    return "; ".join(f"unknown option {name}{suggest(name, choices)}" for name in sorted(names))


class OptionErrors:
    """Installs one_line on mitmproxy's script logger while our scripts are loaded, and
    ExitAtStart until mitmproxy runs; logs the options nobody declared as an error (mitmproxy
    then exits at start)."""

    def __init__(self) -> None:
        self.exit_at_start = ExitAtStart()
        self.checked = False

    def load(self, loader: object) -> None:
        logging.getLogger(SCRIPT_LOGGER).addFilter(one_line)
        # A script reloaded while mitmproxy runs (its file changed) only logs its errors.
        if ctx.master not in RUNNING:
            logging.getLogger().addHandler(self.exit_at_start)

    def configure(self, updated: set[str]) -> None:
        # Alone among the scripts, every option is declared once our addons have loaded; with
        # other scripts, only once they all have, which is when mitmproxy runs.
        if ctx.master not in RUNNING and len(getattr(ctx.options, "scripts", ())) == 1:
            self.check_unknown()

    def running(self) -> None:
        logging.getLogger().removeHandler(self.exit_at_start)
        if ctx.master not in RUNNING:
            RUNNING.add(ctx.master)
            self.check_unknown()

    def check_unknown(self) -> None:
        if self.checked:
            return
        self.checked = True
        unknown = set(ctx.options.deferred) & set(given.settings(sys.argv[1:]))
        if unknown:
            logger.error(unknown_options(unknown, ctx.options.keys()), extra={MARK: True})

    def done(self) -> None:
        logging.getLogger(SCRIPT_LOGGER).removeFilter(one_line)
        logging.getLogger().removeHandler(self.exit_at_start)
