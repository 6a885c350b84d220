"""mitmrelay: every addon of the project in one script.

Usage:
    mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 \
        --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'

Works the same with mitmweb and in every mitmproxy mode; see README.md for all options.
"""

from mitmrelay.chain.addon import ProxyChain
from mitmrelay.recipe.addon import Recipe
from mitmrelay.recorder import Recorder
from mitmrelay.safety import SafetyWarnings
from mitmrelay.soap.addon import SoapView
from mitmrelay.socatdump import SocatDump
from mitmrelay.tcpbound import TcpMessageBound

# Recipe last: a recipe can only set the options of addons loaded before it.
addons = [SafetyWarnings(), ProxyChain(), SoapView(), SocatDump(), Recorder(), TcpMessageBound(), Recipe()]
