"""Recipes: YAML files that set mitmproxy and mitmrelay options for one setup, validated first
(validate.py: parse, validate, resolve).

Nothing is imported here: the recipe option (options.py) is gathered with every other option by
mitmrelay/options.py, which validate.py reads.
"""
