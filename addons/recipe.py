"""Run a recipe: a YAML file of mitmproxy and mitmrelay options for one setup (see recipes/).

Usage:
    mitmdump -s addons/relay.py --set recipe=recipes/soap-over-socks5.yaml
    mitmweb -s addons/relay.py --set recipe=recipes/soap-over-socks5.yaml

addons/relay.py loads this addon after the others. Loaded on its own, it must come after the
scripts whose options the recipe sets: -s addons/chain.py -s addons/recipe.py.
"""

from mitmrelay.recipe.addon import Recipe

addons = [Recipe()]
