"""mitmrelay: every addon of the project in one script.

Usage:
    mitmdump -s addons/relay.py --mode reverse:https://api.partner.example:443@5000 \
        --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'

Works the same with mitmweb and in every mitmproxy mode; every option: docs/chains.md.
"""

from mitmrelay.relay import all_addons

addons = all_addons()
