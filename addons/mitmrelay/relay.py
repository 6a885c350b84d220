"""Every addon of the project, in the order they must load; `addons/relay.py` loads this list."""

from __future__ import annotations

from typing import Any

from mitmrelay.chain.addon import ProxyChain
from mitmrelay.chain.check import CheckCommand
from mitmrelay.chain.strategy import LazyForReverseHttp
from mitmrelay.option_errors import OptionErrors
from mitmrelay.recipe.addon import Recipe
from mitmrelay.safety import SafetyWarnings
from mitmrelay.soap.addon import SoapView
from mitmrelay.soap.refresh_addon import SoapRefresh
from mitmrelay.soap.replay_addon import SoapReplay
from mitmrelay.streams.recorder import Recorder
from mitmrelay.streams.socat_dump import SocatDump
from mitmrelay.streams.tcp_bound import TcpMessageBound
from mitmrelay.web.addon import SetupPage


def all_addons() -> list[Any]:
    """New instances of every addon. Recipe last: a recipe sets only options of addons before it."""
    return [
        OptionErrors(),  # first: in place before any addon's configure() can refuse
        SafetyWarnings(),
        ProxyChain(),
        LazyForReverseHttp(),
        CheckCommand(),
        SoapRefresh(),  # before the view: labels and views show the request as sent
        SoapView(),
        SoapReplay(),
        SocatDump(),
        Recorder(),
        TcpMessageBound(),
        SetupPage(),
        Recipe(),
    ]
