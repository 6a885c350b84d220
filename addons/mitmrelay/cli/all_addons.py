"""mitmrelay: every addon of the project, as a script for -s, inside the installed package.

Usage:
    mitmdump -s "$(python -m mitmrelay script)" --set proxy_chain=socks5h://127.0.0.1:9050
    mitmrelay dump --set proxy_chain=socks5h://127.0.0.1:9050      # the same, shorter

The launcher of the `mitmproxy_addon_launcher.addon_script` entry point group loads this file too.
mitmproxy puts the script's folder first on sys.path while loading it: no module in cli/ may be
named like a top-level module (types.py, yaml.py, ...).
"""

from mitmrelay.relay import all_addons

addons = all_addons()
