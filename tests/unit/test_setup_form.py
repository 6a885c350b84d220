"""The Setup page's form as data: fields to options (each judged by the option's own check),
back to fields, to a recipe; passwords only as `${NAME}`."""

from __future__ import annotations

import asyncio
import types

import pytest
import yaml
from mitmrelay.chain import pac
from mitmrelay.cli.main import web_args
from mitmrelay.web import form

SEED = {
    "listeners": [{"mode": "reverse", "server": "https://api.partner.example:443", "port": "5000"}],
    "listen_host": "127.0.0.1",
    "hops": [
        {"scheme": "socks5h", "host": "127.0.0.1", "port": "1080"},
        {"scheme": "http", "host": "proxy.corp", "port": "3128", "user": "me", "env": "PASS",
         "password": "typed-secret"},
    ],
    "timeout": "10",
}  # fmt: skip


def test_the_seed_form_gives_mode_chain_and_the_typed_password_apart():
    built = form.build(SEED)
    assert built.errors == {}
    assert built.options["mode"] == ["reverse:https://api.partner.example:443@5000"]
    assert built.options["proxy_chain"] == (
        "socks5h://127.0.0.1:1080,http://me:${PASS}@proxy.corp:3128"
    )
    assert built.secrets == {"PASS": "typed-secret"}
    assert "typed-secret" not in str(built.options)


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        ({"listeners": [{"mode": "regular", "port": "0"}]}, "listen-1",
         "listener 1: port '0' is not a number from 1 to 65535"),
        ({"listeners": [{"mode": "reverse", "port": "1"}]}, "listen-1",
         "reverse mode forwards to a server"),
        ({"listeners": [{"mode": "regular", "port": "1"}, {"mode": "reverse", "port": "2",
          "server": "ftp://x"}]}, "listen-2", "listener 2: Cannot use mode 'reverse:ftp://x@2'"),
        ({"listeners": [{"mode": "other", "server": "bogus"}]}, "listen-1",
         "listener 1: Cannot use mode 'bogus': unknown mode"),
        ({"listeners": []}, "listeners", "add a listener"),
        ({"hops": [{"scheme": "sock5", "host": "h", "port": "1"}]}, "hop-1",
         "hop 1: unknown scheme 'sock5' (did you mean 'socks5'?)"),
        ({"hops": [{"scheme": "socks5", "host": "h", "port": "1", "password": "x"}]}, "hop-1",
         "give an environment variable name for the password"),
        ({"hops": [{"scheme": "socks5", "host": "h", "port": "1", "env": "1X"}]}, "hop-1",
         "'1X' is not an environment variable name"),
        ({"bypass": "*.ok\n10.0.0.0/33"}, "bypass", "Cannot use proxy_bypass entry 2"),
        ({"timeout": "0"}, "timeout", "Cannot use proxy_connect_timeout 0"),
        ({"timeout": "ten"}, "timeout", "is not a whole number of seconds"),
        ({"cooldown": "-1"}, "cooldown", "is not a whole number of seconds"),
        ({"routes": "*.corp=socks5://u:***@h:1"}, "routes", "a route's password shows as ***"),
        ({"hops": [{"scheme": "socks5", "host": "h", "port": "1", "auth": "ntlm"}]}, "hop-1",
         "?auth= is for http:// and https:// hops only"),
        ({"soap_wsdl": "ftp://x/a.wsdl"}, "soap_wsdl", "Cannot use soap_wsdl entry 1"),
    ],
)  # fmt: skip
def test_a_refused_field_has_the_projects_text_under_its_key(change, key, text):
    built = form.build({**SEED, **change})
    assert text in built.errors[key], built.errors


def test_an_auth_pin_and_the_soap_switches_are_options_too():
    row = {"scheme": "http", "host": "p", "port": "3128", "user": "u", "env": "P", "auth": "ntlm"}
    built = form.build({**SEED, "hops": [row], "cooldown": "300", "soap_validate": False})
    assert built.options["proxy_chain"] == "http://u:${P}@p:3128?auth=ntlm"
    assert built.options["proxy_failover_cooldown"] == 300
    assert built.options["soap_validate"] is False and built.options["soap_mask_secrets"] is True
    back = form.from_recipe(yaml.safe_load(form.recipe_yaml(built, "pinned")))
    assert back["hops"][0]["auth"] == "ntlm" and back["cooldown"] == 300


def test_a_direct_fallback_is_the_alternative_direct_and_comes_back_as_the_checkbox():
    built = form.build({**SEED, "fallback_direct": True})
    assert built.options["proxy_chain"].endswith("@proxy.corp:3128 | direct")
    opts = types.SimpleNamespace(**{**form.DEFAULTS, "proxy_chain": built.options["proxy_chain"]})
    back = form.from_options(opts)
    assert back["fallback_direct"] is True and len(back["hops"]) == 2 and back["notes"] == []
    opts.proxy_chain = "socks5://a:1 | direct | socks5://b:2"
    back = form.from_options(opts)
    assert [h["host"] for h in back["hops"]] == ["a"] and "'direct' before" in back["notes"][0]


def test_alternative_chains_are_tried_in_turn_and_come_back_as_rows():
    socks = {"scheme": "socks5h", "host": "jump", "port": "1080"}
    corp = {"scheme": "http", "host": "proxy.corp", "port": "3128", "user": "me", "env": "P"}
    built = form.build({**SEED, "hops": [socks], "alternatives": [[corp]], "fallback_direct": True})
    chain = "socks5h://jump:1080 | http://me:${P}@proxy.corp:3128 | direct"
    assert built.options["proxy_chain"] == chain
    back = form.from_options(types.SimpleNamespace(**{**form.DEFAULTS, "proxy_chain": chain}))
    assert [h["host"] for h in back["hops"]] == ["jump"]
    assert [[h["host"] for h in alt] for alt in back["alternatives"]] == [["proxy.corp"]]
    assert back["fallback_direct"] is True and back["notes"] == []
    bad = form.build({**SEED, "hops": [socks], "alternatives": [[], [{**corp, "port": "0"}]]})
    assert bad.errors["alt-2"] == "alternative 2 has no hop: add one, or remove it"
    assert bad.errors["alt-3-hop-1"].startswith("alternative 3, hop 1: hop 'http://me:${P}@")
    assert "mode" in bad.options and "proxy_chain" not in bad.options


def test_a_literal_password_of_the_running_option_is_kept_but_not_for_a_recipe():
    row = {"scheme": "socks5", "host": "h", "port": "1080", "user": "u", "keep": True}
    live = "socks5://u:literal@h:1080"
    assert form.build({**SEED, "hops": [row]}, live).options["proxy_chain"] == live
    assert (
        "a recipe holds no literal password"
        in (form.build({**SEED, "hops": [row]}, live, for_recipe=True).errors["hop-1"])
    )


def test_the_running_options_come_back_as_the_form_without_literal_passwords():
    opts = types.SimpleNamespace(
        **{
            **form.DEFAULTS,
            "mode": ["reverse:https://api.example:443@5000", "socks5", "transparent@9"],
            "listen_port": None,
        },
    )
    opts.proxy_chain = "socks5://u:literal@h:1080,http://me:${PASS}@p:3128"
    got = form.from_options(opts)
    assert got["listeners"] == [
        {"mode": "reverse", "server": "https://api.example:443", "port": 5000},
        {"mode": "socks5", "server": "", "port": 1080},
        {"mode": "other", "server": "transparent@9", "port": ""},
    ]
    built = form.build({**got, "listeners": got["listeners"]})
    assert built.options["mode"] == ["reverse:https://api.example:443@5000", "socks5@1080",
                                     "transparent@9"]  # fmt: skip
    assert [(h["env"], h["keep"], h["password"]) for h in got["hops"]] == [
        ("", True, ""),
        ("PASS", False, ""),
    ]
    assert "literal" not in str(got)


def test_a_recipe_of_the_form_is_what_a_user_would_write():
    text = form.recipe_yaml(form.build(SEED), "mine")
    assert yaml.safe_load(text) == {
        "description": "mine",
        "options": {
            "mode": "reverse:https://api.partner.example:443@5000",
            "listen_host": "127.0.0.1",
            "proxy_chain": "socks5h://127.0.0.1:1080,http://me:${PASS}@proxy.corp:3128",
        },
    }
    back = form.from_recipe(yaml.safe_load(text))
    assert [h["env"] for h in back["hops"]] == ["", "PASS"]
    assert back["listeners"][0]["port"] == 5000


def test_a_refusal_of_configure_goes_beside_the_option_it_names_first():
    assert form.field_of("Cannot use proxy_chain 'x': ${A} is not set (mode)") == "hops"
    assert form.field_of("something else") == "apply"


def test_mitmrelay_web_opens_the_setup_page_unless_told_what_to_open():
    assert web_args(["--listen-port", "1"]) == [
        "--no-web-open-browser", "--set", "setup_open_browser=true", "--listen-port", "1"
    ]  # fmt: skip
    assert web_args(["--no-web-open-browser"]) == ["--no-web-open-browser"]
    assert web_args(["--set", "web_open_browser=true"]) == ["--set", "web_open_browser=true"]


def preview(built, host: str, port: int, running_pac=None) -> str:
    return asyncio.run(form.preview(built, host, port, running_pac))


def test_the_route_preview_follows_the_form_not_yet_applied():
    built = form.build({**SEED, "bypass": "*.internal.example", "routes": "*.corp=direct"})
    assert preview(built, "db.internal.example", 5432) == (
        "db.internal.example:5432: direct (proxy_bypass *.internal.example)"
    )
    assert preview(built, "x.corp", 443) == "x.corp:443: direct (proxy_routes[1] *.corp)"
    assert preview(built, "api.example", 443) == (
        "api.example:443: via socks5h://127.0.0.1:1080,http://me:${PASS}@proxy.corp:3128 "
        "(proxy_chain)"
    )


def test_the_route_preview_asks_the_proxy_environment_and_the_running_pac_file(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("https_proxy", "http://envproxy.corp:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    built = form.build({**SEED, "hops": [], "from_env": True})
    assert preview(built, "api.example", 443) == (
        "api.example:443: via http://envproxy.corp:3128 (https_proxy)"
    )
    script = tmp_path / "corp.pac"
    script.write_text('function FindProxyForURL(url, host) { return "SOCKS5 127.0.0.1:1081"; }')
    built = form.build({**SEED, "hops": [], "from_env": True, "pac": str(script)})
    assert built.errors == {}
    # Not applied yet: no PAC file runs; the page says so.
    assert preview(built, "api.example", 443).endswith(
        "(https_proxy); the new PAC file may answer first: Apply, then check"
    )
    running = pac.Pac(script.read_text(), built.options["proxy_pac"])
    try:
        assert preview(built, "api.example", 443, running) == (
            f"api.example:443: via socks5h://127.0.0.1:1081 (PAC {built.options['proxy_pac']})"
        )
    finally:
        running.close()


def test_the_refresh_options_and_a_wsse_password_only_as_a_reference(tmp_path):
    key = tmp_path / "client.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    fields = {
        "soap_refresh_on_replay": False,
        "soap_wsse_password": "${WSSE_PASS}",
        "soap_sign_key": str(key),
    }
    built = form.build({**SEED, **fields})
    assert built.options["soap_refresh_on_replay"] is False
    assert built.options["soap_wsse_password"] == "${WSSE_PASS}"
    assert built.options["soap_sign_key"] == str(key)
    # Files are judged when applied, by the options' own checks; a refusal goes beside its field.
    assert form.field_of("Cannot use soap_sign_cert 'x.pem': no such file") == "soap_sign_cert"
    literal = form.build({**SEED, "soap_wsse_password": "hunter2"})
    assert "${NAME} of an environment variable" in literal.errors["soap_wsse_password"]
    assert "soap_wsse_password" not in literal.options

    # A literal given with --set never reaches the page, stays as it is, and is not saved.
    opts = types.SimpleNamespace(**{**form.DEFAULTS, "mode": ["regular"], "listen_port": None})
    opts.soap_wsse_password = "hunter2"
    got = form.from_options(opts)
    assert "hunter2" not in str(got)
    assert "soap_wsse_password" not in form.build(got).options
    assert "never sent to the page" in form.build(got, for_recipe=True).errors["soap_wsse_password"]
