"""`mitmrelay check TARGET` on the command line: the options of a relay loaded without listeners,
handed to the check engine beside the chain (chain/check.py), which says each step.

Usage:
    mitmrelay check --set proxy_chain='socks5h://me:${PROXY_PASS}@127.0.0.1:1080' tls://api.example:443
    mitmrelay check --recipe soap-over-socks5 https://api.partner.example:443
"""

from __future__ import annotations

import logging
from typing import Any

from mitmproxy import exceptions, hooks

from ..chain.addon import ProxyChain
from ..option_errors import unknown_options


class _Relay:
    def __init__(self, addons: list[Any]) -> None:
        self.addons = addons


async def load_relay(sets: list[str], recipe: str | None) -> tuple[Any, ProxyChain]:
    """A master with every addon loaded and configured as mitmdump would from `--set` options and a
    recipe, without any listener; returns it with its chain addon. ValueError for bad options."""
    from mitmproxy import options as mitmproxy_options
    from mitmproxy.tools.dump import DumpMaster

    from ..relay import all_addons

    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        opts = mitmproxy_options.Options()
        master = DumpMaster(opts, with_termlog=False, with_dumper=False)
        try:
            opts.set(*sets, *([f"recipe={recipe}"] if recipe else []), defer=True)
            # One addon holding them all, as mitmproxy registers a script: every load() runs
            # before the --set values are applied, so the recipe sees which were given.
            master.addons.add(_Relay(all_addons()))
            # What mitmproxy's master does when it starts, short of the listeners.
            await master.addons.trigger_event(hooks.ConfigureHook(set(opts.keys())))
        except exceptions.OptionsError as e:
            errors.insert(0, str(e))
        if opts.deferred:
            errors.insert(0, unknown_options(opts.deferred, opts.keys()))
        if errors:
            await master.done()  # what loaded (a PAC worker...) ends with the refusal
            raise ValueError("\n".join(errors))
    finally:
        logging.getLogger().removeHandler(handler)
    return master, master.addons.get("proxychain")
