"""Option errors in one line: the filter on mitmproxy's script logger, unknown option names."""

from __future__ import annotations

import logging

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons
from mitmrelay.option_errors import (
    MARK,
    SCRIPT_LOGGER,
    ExitAtStart,
    OptionErrors,
    one_line,
    unknown_options,
)


def record(message: str, exc: BaseException | None) -> logging.LogRecord:
    return logging.LogRecord(
        SCRIPT_LOGGER, logging.ERROR, __file__, 1, message, None,
        (type(exc), exc, None) if exc else None,
    )  # fmt: skip


def test_an_options_error_while_a_script_loads_is_its_text_alone():
    entry = record("error in script relay.py", exceptions.OptionsError("Cannot use proxy_chain"))
    assert one_line(entry)
    assert entry.getMessage() == "Cannot use proxy_chain" and entry.exc_info is None
    with pytest.raises(SystemExit) as exit:  # once mitmproxy's handlers have printed it
        ExitAtStart().handle(entry)
    assert exit.value.code == 1


@pytest.mark.parametrize(
    ("message", "exc"),
    [
        ("error in script relay.py", ValueError("a bug")),  # a bug keeps its traceback
        ("Addon error: x", exceptions.OptionsError("x")),  # not while a script loads
        ("error in script relay.py", None),
    ],
)
def test_other_records_pass_untouched(message, exc):
    entry = record(message, exc)
    assert one_line(entry)
    assert entry.getMessage() == message and entry.exc_info == record(message, exc).exc_info
    assert not hasattr(entry, MARK)
    ExitAtStart().handle(entry)  # no exit


def test_unknown_options_with_the_nearest_known_name():
    known = ["proxy_chain", "proxy_routes", "listen_host"]
    assert unknown_options(["proxy_chian"], known) == (
        "unknown option proxy_chian (did you mean 'proxy_chain'?)"
    )
    assert unknown_options(["zzz", "lisen_host"], known) == (
        "unknown option lisen_host (did you mean 'listen_host'?); unknown option zzz"
    )


def test_only_until_mitmproxy_runs_does_an_option_error_end_it():
    """A script reloaded while mitmproxy runs (its file changed) only logs its errors."""
    root = logging.getLogger()
    first = OptionErrors()
    with taddons.context(first) as tctx:
        assert first.exit_at_start in root.handlers
        first.running()
        assert first.exit_at_start not in root.handlers
        tctx.master.addons.remove(first)  # as mitmproxy reloads a script
        reloaded = OptionErrors()
        tctx.master.addons.add(reloaded)
        assert reloaded.exit_at_start not in root.handlers
