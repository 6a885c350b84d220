"""Every option is declared and judged once: a value `--set` refuses, a recipe cannot set either,
and the recipe's refusal names the line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import peers
import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons
from mitmrelay import options
from mitmrelay.recipe.catalog import offline_catalog
from mitmrelay.recipe.validate import Problem, parse, validate
from mitmrelay.relay import all_addons

UNSET = "MITMRELAY_TEST_UNSET"

# (option, a value it refuses, words both refusals say). In values, {tmp} is a fresh folder that
# holds `file` (a plain file) and `bad.recording` (not a recording). Words None: mitmproxy's own
# --set parser refuses the value (of the wrong type) in its words, the validator in its own.
BAD: list[tuple[str, Any, str | None]] = [
    ("proxy_chain", "sock5://h:1", "unknown scheme 'sock5' (did you mean 'socks5'?)"),
    ("proxy_chain", "socks5h://u:pw@h", "has no port"),
    ("proxy_chain", f"socks5h://u:${{{UNSET}}}@h:1", f"${{{UNSET}}} is not set in the environment"),
    ("proxy_bypass", ["10.0.0.0/33"], "is not a valid CIDR such as 10.0.0.0/8"),
    ("proxy_bypass", [""], "empty destination pattern"),
    ("proxy_routes", ["x"], "missing '='"),
    ("proxy_routes", [f"x=socks5h://u:${{{UNSET}}}@h:1"], "is not set in the environment"),
    ("proxy_routes", ["x=file:{tmp}/gone.recording"], "does not exist: fix the path after file:"),
    ("proxy_routes", ["x=file:{tmp}/bad.recording"], "the first line must be"),
    ("proxy_chain", "http://h:1 | | direct", "alternative 2 is empty"),
    ("proxy_chain", "http://h:1?auth=ntml", "unknown auth 'ntml' (did you mean 'ntlm'?)"),
    ("proxy_pac", "{tmp}/gone.pac", "cannot read"),
    ("proxy_pac", "{tmp}/file", "defines no function FindProxyForURL"),
    ("proxy_pac", "ftp://h/p.pac", "give a file path or an http:// or https:// URL"),
    ("proxy_from_env", "maybe", None),
    ("proxy_connect_timeout", 0, "must be a positive number of seconds"),
    ("proxy_connect_timeout", -1, "must be a positive number of seconds"),
    ("proxy_failover_cooldown", -1, "must be 0 (always try in the written order) or more"),
    ("soap_mask_secrets", "maybe", None),
    ("soap_max_bytes", 10, "must be at least 1024 bytes"),
    ("soap_validate", "maybe", None),
    ("soap_log_calls", "maybe", None),
    ("soap_wsdl", ["{tmp}/gone.wsdl"], "no such file"),
    ("soap_wsdl", ["{tmp}/bad.recording"], "malformed XML"),
    ("soap_wsdl", ["ftp://h/x.wsdl"], "give a WSDL file or an http:// or https:// URL"),
    ("soap_wsdl", ["https:///x?wsdl"], "a URL needs a host"),
    ("soap_replay", ["{tmp}/gone.flows"], "No such file or directory"),
    ("soap_replay", ["{tmp}/bad.recording"], "is not a mitmproxy flow file"),
    ("soap_replay_ignore", ["a//b"], "step 2"),
    ("soap_replay_unmatched", "drop", "use one of fault, forward"),
    ("soap_refresh_on_replay", "maybe", None),
    ("soap_wsse_password", f"${{{UNSET}}}", f"${{{UNSET}}} is not set in the environment"),
    ("soap_sign_key", "{tmp}/gone.key", "does not exist: fix the path"),
    ("soap_sign_cert", "{tmp}/gone.pem", "does not exist: fix the path"),
    ("socat_dump", "{tmp}/missing/d.txt", "does not exist"),
    ("socat_dump", "{tmp}", "is a directory"),
    ("socat_dump_format", "y", "choose 'v' (socat -v), 'x' (socat -x) or 'vx' (socat -v -x)"),
    ("record_dir", "{tmp}/file/rec", "is not a directory"),
    ("tcp_messages_max", -1, "give the number of newest messages to keep per TCP flow"),
    ("setup_open_browser", "maybe", None),
    ("recipe", "{tmp}/gone.yaml", "does not exist"),
]


@pytest.fixture(scope="module")
def known():
    return offline_catalog(peers.REPO / "addons" / "relay.py")


@pytest.fixture
def relay():
    """Every addon of the project, as `-s addons/relay.py` loads them."""
    addons = all_addons()
    with taddons.context(*addons) as tctx:
        yield tctx
        for addon in addons:
            if hasattr(addon, "done"):
                addon.done()


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(UNSET, raising=False)
    (tmp_path / "file").write_text("")
    (tmp_path / "bad.recording").write_text('{"not": "a recording"}\n')
    return tmp_path


def fill(value: Any, tmp: Path) -> Any:
    if isinstance(value, list):
        return [fill(v, tmp) for v in value]
    return value.replace("{tmp}", str(tmp)) if isinstance(value, str) else value


def set_specs(name: str, value: Any) -> list[str]:
    """`--set` arguments for a value, as a user types them."""
    if isinstance(value, list):
        return [f"{name}={item}" for item in value]
    if isinstance(value, bool):
        return [f"{name}={str(value).lower()}"]
    return [f"{name}={value}"]


def recipe_text(name: str, value: Any) -> tuple[str, int]:
    """A recipe setting name to value, and the line its (first) value is on."""
    lines = ["description: d", "options:", "  listen_host: 127.0.0.1"]
    if isinstance(value, list):
        lines += [f"  {name}:", *(f"    - {json.dumps(item)}" for item in value)]
        return "\n".join(lines) + "\n", 5
    lines.append(f"  {name}: {json.dumps(value)}")
    return "\n".join(lines) + "\n", 4


def recipe_errors(text: str, known, base_dir: Path) -> list[Problem]:
    recipe, problems = parse(text, "r.yaml")
    problems = problems or validate(recipe, known, dict(os.environ), base_dir)
    return [p for p in problems if p.stops]


@pytest.mark.parametrize(
    ("name", "value", "words"), BAD, ids=[f"{name}={value}" for name, value, _ in BAD]
)
def test_a_value_set_refuses_is_refused_in_a_recipe_with_its_line(
    relay, known, tmp, name, value, words
):
    value = fill(value, tmp)
    with pytest.raises(exceptions.OptionsError) as refused:
        relay.options.set(*set_specs(name, value))
    text, line = recipe_text(name, value)
    [problem] = recipe_errors(text, known, tmp)
    assert problem.line == line, problem
    assert problem.path[:2] == ("options", name), problem
    if words is not None:
        assert words in str(refused.value)
        assert words in problem.message
        assert str(problem).startswith(f"r.yaml:{line}: At key 'options' ==> At key '{name}'")
        # The option is named with the value in the --set refusal; the recipe names the line.
        assert str(refused.value).startswith(f"Cannot use {name} ")
    assert "u:pw@" not in str(refused.value) + str(problem)


def test_every_option_has_a_bad_value_row():
    assert {name for name, _, _ in BAD} == set(options.OPTIONS)


def test_every_option_is_declared_from_the_table(relay):
    declared_options = dict(relay.options.items())
    for name, option in options.OPTIONS.items():
        declared = declared_options[name]
        assert (declared.typespec, declared.default, declared.help) == (
            option.typespec,
            option.default,
            option.help,
        )
        assert re.search(r"e\.g\.|Example:|--set ", option.help), f"{name}: help has no example"
        # The validator leaves choices to the check: it must refuse the others. Choices made at
        # load (recipe: the names found) only suggest; any path is a recipe too.
        if option.choices and not callable(option.choices):
            with pytest.raises(options.BadValue):
                options.judge(name, "".join(option.choices))


def test_check_recipes_refuses_what_set_refuses_naming_the_line(tmp_path):
    (tmp_path / "r.yaml").write_text(recipe_text("proxy_connect_timeout", 0)[0])
    out = subprocess.run(
        [sys.executable, str(peers.REPO / "scripts" / "check-recipes"), "r.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert (
        "r.yaml:4: At key 'options' ==> At key 'proxy_connect_timeout' ==> 0: "
        "must be a positive number of seconds"
    ) in out.stdout
    assert out.stdout.rstrip().endswith("r.yaml: 1 error(s)")


def readme_options() -> dict[str, str]:
    """The Options table (docs/chains.md): option name -> its 'type, default' cell."""
    text = (peers.REPO / "docs" / "chains.md").read_text()
    table = text.split("\n## Options\n", 1)[1].strip().split("\n\n", 1)[0]
    rows = [line.split("|") for line in table.splitlines()[2:]]
    return {row[1].strip().strip("`"): row[2].strip() for row in rows}


def test_the_readme_options_table_lists_every_option_with_its_type():
    kinds = {str: "str", int: "int", bool: "bool", Sequence[str]: "list"}
    rows = readme_options()
    assert set(rows) == set(options.OPTIONS)
    for name, option in options.OPTIONS.items():
        assert rows[name].split(",")[0] == kinds[option.typespec], name
