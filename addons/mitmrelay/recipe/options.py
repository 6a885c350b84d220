"""The `recipe` option, declared and checked here (see optionkit)."""

from __future__ import annotations

from mitmrelay.optionkit import BadValue, Option, Place, Table, absolute_input, input_check

from . import shipped


def _recipe_names() -> list[str]:
    return ["", *shipped.available()]


def _recipe_file(value: str, place: Place) -> None:
    if not value:  # empty: no recipe
        return
    named = "/" not in value and value.removesuffix(".yaml") in shipped.available()
    if named and not place.path(value).exists():
        return  # a recipe's name
    input_check("file")(value, place)


TABLE = Table(
    Option(
        name="recipe",
        typespec=str,
        default="",
        help="A recipe: a YAML file of options for one setup, validated before traffic flows, "
        "e.g. recipes/soap-over-socks5.yaml, or a recipe's name: one of yours in "
        "~/.config/mitmrelay/recipes ($XDG_CONFIG_HOME), else a shipped one (soap-over-socks5). "
        "Options given explicitly win over the recipe.",
        # mitmweb's Options editor shows them as a drop-down; --set takes any path too.
        choices=_recipe_names,
        files=_recipe_file,
        absolute=absolute_input,
    ),
)


declare = TABLE.declare
use = TABLE.use
parse = TABLE.parse
check_environment = TABLE.check_environment

__all__ = ["TABLE", "BadValue", "check_environment", "declare", "parse", "use"]
