"""Recipes: YAML files that set mitmproxy and mitmrelay options for one setup, validated first."""

from .validate import Need, OptionInfo, Problem, Recipe, parse, resolve, validate

__all__ = ["Need", "OptionInfo", "Problem", "Recipe", "parse", "resolve", "validate"]
