"""SetupPage: the Setup page in mitmweb, at /mitmrelay/ on mitmweb's own port.

Under mitmweb the page is mounted into mitmweb's tornado application when mitmproxy runs, and its
URL is logged; `mitmrelay.setup` (mitmweb's command bar, mitmproxy's console) gives it again.
mitmweb has no plugin API: a mitmweb whose shape differs from the one known gets one log line and
no page. Under mitmdump the addon does nothing.

Usage:
    mitmrelay web --listen-host 127.0.0.1          # then open the logged .../mitmrelay/ URL
    mitmweb -s addons/relay.py --set setup_open_browser=true
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

from mitmproxy import command, ctx, exceptions
from mitmproxy.addonmanager import Loader

from . import options

logger = logging.getLogger(__name__)

PATH = "/mitmrelay/"


def page_url(master: Any) -> str:
    """mitmweb's own URL (with its token on mitmweb 12) with the page's path."""
    url = getattr(master, "web_url", None)  # mitmweb 12; 11 has none
    if not isinstance(url, str):
        host = master.options.web_host
        host = f"[{host}]" if ":" in host else host
        url = f"http://{host}:{master.options.web_port}/"
    return urllib.parse.urlsplit(url)._replace(path=PATH).geturl()


def _is_mitmweb(master: Any) -> bool:
    return type(master).__module__.startswith("mitmproxy.tools.web")


class SetupPage:
    def __init__(self) -> None:
        self.url: str | None = None
        self.checks: dict[str, Any] = {}
        self._tasks: set[asyncio.Task] = set()

    def load(self, loader: Loader) -> None:
        options.declare(loader, "setup_open_browser")

    def running(self) -> None:
        master: Any = ctx.master
        if not _is_mitmweb(master) or self.url is not None:
            return
        try:
            from . import handlers

            handlers.mount(master.app, self)
        except (ImportError, AttributeError, TypeError, RuntimeError) as e:
            import mitmproxy.version

            logger.warning(
                f"mitmrelay's Setup page is not available in this mitmweb "
                f"(mitmproxy {mitmproxy.version.VERSION}): {e}. Everything else works; "
                "set options in mitmweb's Options editor, or use mitmproxy 11.0 to 12.x."
            )
            return
        self.url = page_url(master)
        logger.info(f"mitmrelay Setup page: {self.url}")
        if ctx.options.setup_open_browser:
            from mitmproxy.tools.web.webaddons import open_browser

            open_browser(self.url)

    def start_check(self, chain: Any, opts: Any, target: Any) -> str:
        """Run the check engine on the running options; its lines are polled by id."""
        from . import handlers

        run = handlers.CheckRun()
        check_id = handlers.new_check_id()
        self.checks[check_id] = run
        while len(self.checks) > 20:  # the page polls only the newest
            self.checks.pop(next(iter(self.checks)))
        handlers.spawn(run.run(chain, opts, target), self._tasks)
        return check_id

    @command.command("mitmrelay.setup")
    def setup(self) -> str:
        """The URL of mitmrelay's Setup page (mitmweb only)."""
        if self.url is None:
            raise exceptions.CommandError(
                "mitmrelay's Setup page runs in mitmweb only (mitmrelay web); see the log"
            )
        logger.info(f"mitmrelay Setup page: {self.url}")
        return self.url
