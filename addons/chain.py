"""Proxy chains for every server connection mitmproxy opens: SOCKS4/4a/5/5h and HTTP CONNECT hops.

Usage:
    mitmdump -s addons/chain.py --mode reverse:https://api.partner.example:443@5000 \
        --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'

Options: proxy_chain, proxy_bypass, proxy_routes, proxy_connect_timeout (see docs/chains.md).
"""

from mitmrelay.chain.addon import ProxyChain

addons = [ProxyChain()]
