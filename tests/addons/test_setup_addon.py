"""SetupPage in a real (not running) mitmweb master, in mitmdump's, and in a mitmweb whose shape
differs: the page is routed through mitmweb's own application, or one warning and no page."""

from __future__ import annotations

import asyncio
import logging

import pytest
import tornado.web
from mitmproxy import exceptions, options
from mitmproxy.test import taddons
from mitmproxy.version import VERSION
from mitmrelay.web import addon as setup_addon
from mitmrelay.web import handlers
from tornado.httputil import HTTPHeaders, HTTPServerRequest

MAJOR = int(VERSION.split(".")[0])


def handler_for(application, path: str, host: str = "127.0.0.1:8081"):
    request = HTTPServerRequest(method="GET", uri=path, headers=HTTPHeaders({"Host": host}))
    delegate = application.find_handler(request)
    return getattr(delegate, "handler_class", None)


def in_mitmweb(change=None):
    """Run SetupPage.running() in a WebMaster (its app changed by `change`); give the addon,
    the application and the master's options."""

    async def run():
        from mitmproxy.tools.web.master import WebMaster

        master = WebMaster(options.Options(), with_termlog=False)
        page = setup_addon.SetupPage()
        master.addons.add(page)
        if change:
            change(master)
        page.running()
        return page, master.app, master

    return asyncio.run(run())


def test_the_page_is_routed_in_mitmwebs_application_under_its_host_rule():
    page, application, master = in_mitmweb()
    assert page.url is not None and page.url.startswith("http://127.0.0.1:8081/mitmrelay/")
    assert ("?token=" in page.url) == (MAJOR >= 12)
    assert handler_for(application, "/mitmrelay/") is handlers.Page
    assert handler_for(application, "/mitmrelay/api/apply") is handlers.Apply
    assert handler_for(application, "/") is not handlers.Page  # mitmweb's own page stays
    if MAJOR < 12:  # mitmweb 11's DNS-rebinding protection: names other than localhost refused
        assert handler_for(application, "/mitmrelay/", "evil.example:8081") is not handlers.Page
    assert master.commands.execute("mitmrelay.setup") == page.url


@pytest.mark.parametrize(
    "change",
    [
        lambda master: setattr(master, "app", object()),
        lambda master: setattr(master, "app", tornado.web.Application([])),
    ],
    ids=["no tornado app", "no index page among its routes"],
)
def test_a_mitmweb_of_another_shape_gets_one_warning_and_no_page(change, caplog):
    caplog.set_level(logging.INFO)
    page, _, _ = in_mitmweb(change)
    assert page.url is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("mitmrelay's Setup page is not available in this mitmweb")
    assert not any(r.exc_info for r in caplog.records)


def test_under_mitmdump_there_is_no_page_and_the_command_says_why(caplog):
    page = setup_addon.SetupPage()
    with taddons.context(page) as tctx:
        page.running()
        assert page.url is None
        with pytest.raises(exceptions.CommandError, match="runs in mitmweb only"):
            tctx.master.commands.execute("mitmrelay.setup")
    assert "Setup page" not in caplog.text
