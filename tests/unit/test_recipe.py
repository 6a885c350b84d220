"""Recipe validation: every shipped recipe is valid; bad recipes fail with file, line, key, fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mitmrelay.recipe.catalog import offline_catalog
from mitmrelay.recipe.validate import parse, resolve, validate

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "recipes").glob("*.yaml"))


@pytest.fixture(scope="module")
def known():
    return offline_catalog(REPO / "addons" / "relay.py")


def problems_of(text: str, known, environ=None, base_dir=None) -> list[str]:
    recipe, problems = parse(textwrap.dedent(text), "r.yaml")
    return [str(p) for p in problems or validate(recipe, known, environ, base_dir)]


def test_there_are_recipes():
    assert len(RECIPES) >= 11


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipe_is_valid(path, known):
    recipe, problems = parse(path.read_text(), path.name)
    problems += validate(recipe, known, environ=None, base_dir=None)
    # Only recipe 1 turns verification off, as the socat original did; nothing else may warn.
    allowed = {"ssl_insecure"} if path.name == "soap-over-socks5.yaml" else set()
    assert [str(p) for p in problems if p.path[-1:] != tuple(allowed)[:1] or not allowed] == []
    options = recipe.data["options"]
    assert options["listen_host"] == "127.0.0.1"
    assert "stream_large_bodies" in options or "socat_dump" in options
    assert "#" in path.read_text().split("options:")[1], "the lines users edit are commented"


BASE = """\
description: d
options:
  listen_host: 127.0.0.1
"""

BAD = [
    (
        "unknown option",
        BASE + "  proxy_chian: socks5://h:1\n",
        "r.yaml:4: At key 'options' ==> 'proxy_chian': unknown option "
        "(did you mean 'proxy_chain'?)",
    ),
    (
        "unknown top key",
        "descripton: d\noptions: {}\n",
        "r.yaml:1: 'descripton': unknown key (did you mean 'description'?); "
        "use description, try, options",
    ),
    ("missing key", "options: {}\n", "r.yaml: missing key 'description'"),
    (
        "bad scheme",
        BASE + "  proxy_chain: sock5://127.0.0.1:1080\n",
        "r.yaml:4: At key 'options' ==> At key 'proxy_chain' ==> 'sock5://127.0.0.1:1080': "
        "unknown scheme 'sock5' (did you mean 'socks5'?)",
    ),
    (
        "route item",
        BASE + "  proxy_routes:\n    - a.example=direct\n    - b.example\n",
        "r.yaml:6: At key 'options' ==> At key 'proxy_routes' ==> At item 2 ==> 'b.example': "
        "missing '='",
    ),
    (
        "no port",
        BASE + "  proxy_chain: 'socks5h://u:${P}@proxy:'\n",
        "has no port: add one, e.g. socks5h://proxy:1080",
    ),
    (
        "wrong type",
        BASE + "  ssl_insecure: 'yes'\n",
        "r.yaml:4: At key 'options' ==> At key 'ssl_insecure' ==> "
        "expected true or false, got 'yes'",
    ),
    (
        "number for text",
        BASE + "  stream_large_bodies: 1\n",
        "expected text, got 1; write it in quotes: '1'",
    ),
    ("bad size", BASE + "  stream_large_bodies: 1M\n", "'1M' is not a size"),
    (
        "bad mode",
        BASE + "  mode: revers:https://x:443@5000\n",
        "r.yaml:4: At key 'options' ==> At key 'mode' ==> 'revers:https://x:443@5000': "
        "unknown mode",
    ),
    (
        "choice",
        BASE + "  socat_dump_format: xv\n",
        "At key 'socat_dump_format' ==> 'xv': choose 'v' (socat -v), 'x' (socat -x) or 'vx'",
    ),
    (
        "duplicate",
        BASE + "  listen_host: 127.0.0.1\n",
        "r.yaml:4: At key 'options' ==> 'listen_host': given twice (first on line 3); keep one",
    ),
    ("yaml", BASE + "  mode: [unclosed\n", "r.yaml:5: not valid YAML"),
    (
        "not a mapping",
        "- a\n",
        "a recipe is a mapping with the keys description, options; found list",
    ),
    (
        "route to no recording",
        BASE + "  proxy_routes: ['api.example:25=file:']\n",
        (
            "r.yaml:4: At key 'options' ==> At key 'proxy_routes' ==> At item 1 ==> "
            "'api.example:25=file:': file: needs the path of a recording"
        ),
    ),
    (
        "options not a mapping",
        "description: d\noptions: [a]\n",
        "r.yaml:2: At key 'options' ==> expected a mapping",
    ),
]


@pytest.mark.parametrize("text,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_recipe_messages(text, expected, known):
    found = problems_of(text, known)
    assert any(expected in p for p in found), found


def test_unset_environment_variable_names_it_and_the_fix(known):
    text = BASE + "  proxy_chain: socks5h://u:${NOT_SET_HERE}@proxy:1080\n"
    assert problems_of(text, known, environ={}) == [
        "r.yaml:4: At key 'options' ==> At key 'proxy_chain' ==> ${NOT_SET_HERE} is not set in the "
        "environment: export NOT_SET_HERE=... before starting mitmproxy"
    ]
    assert problems_of(text, known, environ={"NOT_SET_HERE": "x"}) == []
    # Options that do not read the environment themselves: the recipe expands the reference.
    text = BASE.replace("127.0.0.1", "${NOT_SET_HERE}")
    assert [p for p in problems_of(text, known, environ={}) if ": warning: " not in p] == [
        "r.yaml:3: At key 'options' ==> At key 'listen_host' ==> ${NOT_SET_HERE} is not set in the "
        "environment: export NOT_SET_HERE=... before starting mitmproxy"
    ]


def test_missing_files_are_relative_to_the_recipe(known, tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    good = BASE + "  ssl_verify_upstream_trusted_ca: ca.pem\n"
    bad = BASE + "  client_certs: ${CERTS}/client.pem\n"
    assert problems_of(good, known, {}, tmp_path) == []
    [problem] = problems_of(bad, known, {"CERTS": str(tmp_path)}, tmp_path)
    assert problem.startswith(
        "r.yaml:4: At key 'options' ==> At key 'client_certs' ==> file or dir "
    )
    assert f"{tmp_path}/client.pem' does not exist" in problem


def test_recordings_of_file_routes_are_input_files_relative_to_the_recipe(known, tmp_path):
    (tmp_path / "good.recording").write_text(
        '{"mitmrelay": "recording"}\n{"dir": "<", "text": "hi"}\n'
    )
    (tmp_path / "bad.recording").write_text('{"not": "a recording"}\n')
    route = BASE + "  proxy_routes:\n    - a.example=direct\n    - api.example:25=file:{}\n"
    assert problems_of(route.format("good.recording"), known, {}, tmp_path) == []
    [missing] = problems_of(route.format("gone.recording"), known, {}, tmp_path)
    assert missing == (
        "r.yaml:6: At key 'options' ==> At key 'proxy_routes' ==> At item 2 ==> recording "
        f"'{tmp_path}/gone.recording' does not exist: fix the path after file: (relative paths are "
        "relative to the recipe file; record_dir writes NAME.recording)"
    )
    [bad] = problems_of(route.format("bad.recording"), known, {}, tmp_path)
    assert f"At item 2 ==> {tmp_path}/bad.recording:1: the first line must be" in bad
    recipe, _ = parse(route.format("good.recording"), "r.yaml")
    assert resolve(recipe, known, tmp_path, {})["proxy_routes"] == [
        "a.example=direct",
        f"api.example:25=file:{tmp_path / 'good.recording'}",
    ]


def test_warnings_for_open_listeners_insecure_tls_and_written_passwords(known):
    text = "description: d\noptions:\n  mode: regular@8080\n  ssl_insecure: true\n  proxy_chain: socks5h://u:pw@h:1\n"
    found = problems_of(text, known)
    assert len(found) == 3 and all(": warning: " in p for p in found)
    assert any(
        "'regular@8080' listens on every interface: add listen_host: 127.0.0.1" in p for p in found
    )
    assert any("'socks5h://u:***@h:1'" in p for p in found) and not any("pw@" in p for p in found)


def test_resolve_expands_environment_except_where_options_read_it_themselves(known, tmp_path):
    recipe, _ = parse(
        "description: d\noptions:\n  mode: regular@${PORT}\n  client_certs: c.pem\n"
        "  proxy_chain: socks5h://u:${PASS}@h:1\n",
        "r.yaml",
    )
    values = resolve(recipe, known, tmp_path, {"PORT": "8081", "PASS": "secret"})
    assert values == {
        "mode": ["regular@8081"],
        "client_certs": str(tmp_path / "c.pem"),
        "proxy_chain": "socks5h://u:${PASS}@h:1",
    }


# What the user supplies (needs) against faults of the recipe (errors). In texts and expected
# lines, {tmp} is the recipe's folder, which holds `file` (a plain file), `folder` and
# `bad.recording` (not a recording). Expected: (severity, the needs as `recipes check` prints
# them after "needs: ", the problem's text as starting the recipe reports it).
CLASSIFIED = [
    (
        "unset variable in a chain",
        "  proxy_chain: socks5h://u:${UNSET_A}@proxy:1080\n",
        "need",
        ["UNSET_A (export UNSET_A=...)"],
        "r.yaml:4: At key 'options' ==> At key 'proxy_chain' ==> ${UNSET_A} is not set in the "
        "environment: export UNSET_A=... before starting mitmproxy",
    ),
    (
        "two unset variables in a route",
        "  proxy_routes:\n    - a.example=http://${UNSET_B}:${UNSET_A}@proxy:3128\n",
        "need",
        ["UNSET_A (export UNSET_A=...)", "UNSET_B (export UNSET_B=...)"],
        "r.yaml:5: At key 'options' ==> At key 'proxy_routes' ==> At item 1 ==> ${UNSET_A}, "
        "${UNSET_B} are not set in the environment: export UNSET_A=... UNSET_B=... before "
        "starting mitmproxy",
    ),
    (
        "unset variable the recipe expands",
        "  mode: regular@${UNSET_A}\n",
        "need",
        ["UNSET_A (export UNSET_A=...)"],
        "r.yaml:4: At key 'options' ==> At key 'mode' ==> ${UNSET_A} is not set in the "
        "environment: export UNSET_A=... before starting mitmproxy",
    ),
    (
        "missing client certificate",
        "  client_certs: ~/partner-client.pem\n",
        "need",
        ["the file {home}/partner-client.pem (client_certs)"],
        "r.yaml:4: At key 'options' ==> At key 'client_certs' ==> file or dir "
        "'{home}/partner-client.pem' does not exist: fix the path (relative paths are relative "
        "to the recipe file)",
    ),
    (
        "missing CA folder",
        "  ssl_verify_upstream_trusted_confdir: cas\n",
        "need",
        ["the folder {tmp}/cas (ssl_verify_upstream_trusted_confdir)"],
        "r.yaml:4: At key 'options' ==> At key 'ssl_verify_upstream_trusted_confdir' ==> dir "
        "'{tmp}/cas' does not exist: fix the path (relative paths are relative to the recipe file)",
    ),
    (
        "missing recording",
        "  proxy_routes: ['api.example:25=file:gone.recording']\n",
        "need",
        ["the file {tmp}/gone.recording (proxy_routes)"],
        "r.yaml:4: At key 'options' ==> At key 'proxy_routes' ==> At item 1 ==> recording "
        "'{tmp}/gone.recording' does not exist: fix the path after file: (relative paths are "
        "relative to the recipe file; record_dir writes NAME.recording)",
    ),
    (
        "missing WSDL",
        "  soap_wsdl: [gone.wsdl]\n",
        "need",
        ["the file {tmp}/gone.wsdl (soap_wsdl)"],
        "r.yaml:4: At key 'options' ==> At key 'soap_wsdl' ==> At item 1 ==> no such file "
        "'{tmp}/gone.wsdl': fix the path (relative paths are relative to the recipe file)",
    ),
    (
        "missing flow file",
        "  soap_replay: [gone.flows]\n",
        "need",
        ["the file {tmp}/gone.flows (soap_replay)"],
        "r.yaml:4: At key 'options' ==> At key 'soap_replay' ==> At item 1 ==> cannot read "
        "{tmp}/gone.flows: No such file or directory",
    ),
    (
        "missing PAC file",
        "  proxy_pac: gone.pac\n",
        "need",
        ["the file {tmp}/gone.pac (proxy_pac)"],
        "r.yaml:4: At key 'options' ==> At key 'proxy_pac' ==> cannot read {tmp}/gone.pac: "
        "No such file or directory",
    ),
    (
        "bad scheme, with an unset variable",
        "  proxy_chain: sock5://u:${UNSET_A}@proxy:1080\n",
        "error",
        [],
        "r.yaml:4: At key 'options' ==> At key 'proxy_chain' ==> 'sock5://u:${UNSET_A}@proxy:1080'"
        ": unknown scheme 'sock5' (did you mean 'socks5'?)",
    ),
    (
        "a recording that is not one",
        "  proxy_routes: ['api.example:25=file:bad.recording']\n",
        "error",
        [],
        "r.yaml:4: At key 'options' ==> At key 'proxy_routes' ==> At item 1 ==> "
        "{tmp}/bad.recording:1: the first line must be",
    ),
    (
        "a folder where the CA file goes",
        "  ssl_verify_upstream_trusted_ca: folder\n",
        "error",
        [],
        "r.yaml:4: At key 'options' ==> At key 'ssl_verify_upstream_trusted_ca' ==> file "
        "'{tmp}/folder' does not exist",
    ),
    (
        "wrong type",
        "  client_certs: 7\n",
        "error",
        [],
        "r.yaml:4: At key 'options' ==> At key 'client_certs' ==> expected text, got 7; write it "
        "in quotes: '7'",
    ),
    (
        "unknown option",
        "  clint_certs: ~/partner-client.pem\n",
        "error",
        [],
        "r.yaml:4: At key 'options' ==> 'clint_certs': unknown option (did you mean "
        "'client_certs'?)",
    ),
]


@pytest.mark.parametrize(
    ("text", "severity", "needs", "message"),
    [row[1:] for row in CLASSIFIED],
    ids=[row[0] for row in CLASSIFIED],
)
def test_needs_are_what_the_user_supplies_errors_the_recipes_faults(
    known, tmp_path, text, severity, needs, message
):
    (tmp_path / "file").write_text("")
    (tmp_path / "folder").mkdir()
    (tmp_path / "bad.recording").write_text('{"not": "a recording"}\n')
    recipe, problems = parse(BASE + text, "r.yaml")
    problems += validate(recipe, known, {"PATH": "/bin"}, tmp_path)

    def fill(line: str) -> str:
        return line.replace("{tmp}", str(tmp_path)).replace("{home}", str(Path.home()))

    [problem] = [p for p in problems if p.severity != "warning"]
    assert problem.severity == severity
    assert problem.stops
    assert [str(need) for need in problem.needs] == [fill(need) for need in needs]
    assert str(problem).startswith(fill(message))


def test_a_pac_url_is_not_fetched_by_the_validator(known, tmp_path):
    # Port 1 refuses at once: a fetch would be an error; the relay fetches it as it starts.
    text = BASE + "  proxy_pac: http://127.0.0.1:1/wpad.dat\n"
    assert problems_of(text, known, {}, tmp_path) == []


def test_a_shipped_recipes_relative_paths_start_in_the_current_directory(
    known, tmp_path, monkeypatch
):
    """A shipped recipe lives inside the installed package: `mitmrelay run replay-mock-server`
    looks for recordings/ where it is started, not in site-packages."""
    shipped = REPO / "recipes" / "replay-mock-server.yaml"
    recipe, _ = parse(shipped.read_text(), shipped.name)
    monkeypatch.chdir(tmp_path)
    [problem] = validate(recipe, known, {}, shipped.parent)
    recording = tmp_path / "recordings" / "20260101-120000-1a2b3c4d.recording"
    assert [str(need) for need in problem.needs] == [f"the file {recording} (proxy_routes)"]
    assert "relative to the current directory, for a recipe shipped with mitmrelay" in str(problem)
    recording.parent.mkdir()
    recording.write_text('{"mitmrelay": "recording"}\n{"dir": "<", "text": "hi"}\n')
    assert validate(recipe, known, {}, shipped.parent) == []
    assert resolve(recipe, known, shipped.parent, {})["proxy_routes"] == [
        f"legacy.partner.example:7001=file:{recording}"
    ]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_shipped_recipes_say_how_an_installed_user_runs_and_tries_them(path):
    text = path.read_text()
    run = text.split("# Run:", 1)[1].split("\n")
    lines = [run[0], *[line for line in run[1:] if line.startswith("#      ")]]
    assert any(line.strip(" #").startswith(f"mitmrelay run {path.stem}") for line in lines), run
    assert "mitmdump -s" not in text and "recipes/" not in text, "checkout paths"
    recipe, _ = parse(text, path.name)
    program = recipe.data["try"].split("|")[-1].split()[0]
    assert program in {"curl", "socat", "mitmrelay"}, recipe.data["try"]
