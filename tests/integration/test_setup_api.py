"""The Setup page's API in a real mitmweb: what it refuses (no token, a foreign origin, a simple
content type, a bad value: the project's text, nothing applied) and that no password typed into
the page comes back, in an answer, an option, the log or a recipe."""

from __future__ import annotations

import pytest
from mitmrelay.testing import HOST
from setup_helpers import MITMPROXY_MAJOR, PACKAGE_ROOT, SetupApi, raw, seed_form
from wsdl_samples import STOCK_QUOTE

SECRET = "Typed-Secret-4711"


@pytest.fixture
def web(peer, tmp_path):
    config = tmp_path / "config"
    mitm = peer.mitmdump(
        "--set", "proxy_connect_timeout=7", tool="mitmweb",
        env={**PACKAGE_ROOT, "XDG_CONFIG_HOME": str(config), "EDITOR_PASS": "set"},
    )  # fmt: skip
    return mitm, SetupApi(mitm)


def hop(port: int, **fields) -> dict:
    return {"scheme": "socks5h", "host": HOST, "port": str(port), **fields}


def test_the_page_is_served_with_mitmwebs_policy_and_its_url_is_logged(web):
    mitm, api = web
    url = f"http://{HOST}:{mitm.web_port}/mitmrelay/"
    mitm.wait_log(r"mitmrelay Setup page: http://\S+/mitmrelay/")
    status, headers, page = raw(url, opener=api.opener)
    assert status == 200
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert '<script src="/mitmrelay/static/setup.js" defer></script>' in page
    assert page.count("<script") == 1  # no inline script: the policy would block it
    status, headers, _ = raw(url + "static/setup.js", opener=api.opener)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    answer = api.send("POST", "/commands/mitmrelay.setup", {"arguments": []})
    assert answer["value"].startswith(f"http://{HOST}:{mitm.web_port}/mitmrelay/")


@pytest.mark.skipif(MITMPROXY_MAJOR < 12, reason="mitmweb 11 has no authentication")
def test_without_mitmwebs_token_nothing_is_served(web):
    mitm, _ = web
    base = f"http://{HOST}:{mitm.web_port}/mitmrelay/"
    assert raw(base)[0] == 403
    assert raw(base + "api/state")[0] == 403
    assert raw(base + "api/apply", b"{}", {"Content-Type": "application/json"})[0] == 403


def test_state_changing_requests_must_be_same_origin_json_with_the_xsrf_token(web):
    _, api = web
    form = {"form": seed_form("https://localhost:443", 5000, [])}
    assert api.call("apply", form, {"Content-Type": "text/plain"})[0] == 415
    assert api.call("apply", form, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert api.call("apply", form, {"Origin": "http://evil.example"})[0] == 403
    assert api.call("apply", form, {"X-XSRFToken": "forged"})[0] == 403
    assert api.call("apply", form, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert api.get("/options")["mode"]["value"] == ["regular"]


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (hop(1080, scheme="sock5"), "unknown scheme 'sock5' (did you mean 'socks5'?)"),
        (hop(0), "has no port: add one, e.g. socks5h://127.0.0.1:1080"),
        (hop(1080, password="x"), "give an environment variable name for the password"),
    ],
)
def test_a_refused_hop_shows_the_projects_text_beside_it_and_nothing_is_applied(web, row, text):
    _, api = web
    status, answer = api.call("apply", {"form": seed_form("https://localhost:443", 5000, [row])})
    assert status == 400
    assert text in answer["errors"]["hop-1"]
    assert api.get("/options")["mode"]["value"] == ["regular"]
    assert api.get("/options")["proxy_chain"]["value"] == ""


def test_a_refusal_of_configure_rolls_every_option_back(web):
    _, api = web
    form = seed_form("https://localhost:443", 5000, [hop(1080, user="u", env="NOT_SET_ANYWHERE")])
    status, answer = api.call("apply", {"form": {**form, "timeout": "3"}})
    assert status == 400
    assert "NOT_SET_ANYWHERE" in answer["errors"]["hops"]
    options = api.get("/options")
    assert options["mode"]["value"] == ["regular"]  # applied together with the chain, or not
    assert options["proxy_connect_timeout"]["value"] == 7


def test_a_typed_password_goes_to_the_environment_only(web, tmp_path):
    mitm, api = web
    row = hop(1080, user="alice", env="SETUP_PASS", password=SECRET)
    form = seed_form("https://localhost:443", 5000, [row])
    status, answer = api.call("apply", {"form": form})
    assert status == 200, answer
    chain = api.get("/options")["proxy_chain"]["value"]
    assert chain == f"socks5h://alice:${{SETUP_PASS}}@{HOST}:1080"
    assert answer["form"]["hops"][0]["env"] == "SETUP_PASS"
    status, saved = api.call("recipe/save", {"form": form, "name": "mine", "save": True})
    assert status == 200, saved
    file = tmp_path / "config" / "mitmrelay" / "recipes" / "mine.yaml"
    assert "${SETUP_PASS}" in file.read_text()
    assert "mode: reverse:https://localhost:443@5000" in saved["yaml"]
    state = api.call("state")[1]
    for text in (str(answer), str(saved), str(state), mitm.text(), file.read_text()):
        assert SECRET not in text


def test_a_recipe_of_the_same_name_is_replaced_only_when_asked(web, tmp_path):
    _, api = web
    file = tmp_path / "config" / "mitmrelay" / "recipes" / "mine.yaml"
    file.parent.mkdir(parents=True)
    file.write_text("description: written by hand\noptions: {}\n")
    form = seed_form("https://localhost:443", 5000, [hop(1080)])
    status, answer = api.call("recipe/save", {"form": form, "name": "mine", "save": True})
    assert status == 409, answer
    assert answer["exists"] == str(file)
    assert "exists: Replace it, or choose another name" in answer["errors"]["recipe_name"]
    assert file.read_text() == "description: written by hand\noptions: {}\n"
    status, answer = api.call(
        "recipe/save", {"form": form, "name": "mine", "save": True, "replace": True}
    )
    assert status == 200, answer
    assert "mode: reverse:https://localhost:443@5000" in file.read_text()


def test_a_route_preview_names_the_rule(web):
    _, api = web
    form = seed_form(
        "https://localhost:443", 5000, [hop(1080)], bypass="*.internal.example", routes=""
    )
    assert api.call("apply", {"form": form})[0] == 200
    status, answer = api.call("route", {"host": "db.internal.example", "port": "5432"})
    assert status == 200
    assert answer["route"].startswith("db.internal.example:5432: direct (proxy_bypass")
    answer = api.call("route", {"host": "api.example", "port": "443"})[1]
    assert f"via socks5h://{HOST}:1080" in answer["route"]


def test_a_change_in_mitmwebs_options_editor_shows_on_the_page(web):
    _, api = web
    api.send("PUT", "/options", {"proxy_chain": f"http://me:${{EDITOR_PASS}}@{HOST}:3128"})
    (row,) = api.call("state")[1]["form"]["hops"]
    assert (row["scheme"], row["user"], row["env"], row["port"]) == (
        "http",
        "me",
        "EDITOR_PASS",
        3128,
    )


def test_a_flow_file_that_does_not_exist_is_refused_beside_the_soap_replay_field(web, tmp_path):
    _, api = web
    form = seed_form("https://localhost:443", 5000, [], soap_replay=str(tmp_path / "no.flows"))
    status, answer = api.call("apply", {"form": form})
    assert status == 400
    assert answer["errors"]["soap_replay"].startswith("Cannot use soap_replay")
    assert "no.flows" in answer["errors"]["soap_replay"]
    assert api.get("/options")["soap_replay"]["value"] == []


def test_the_wsdls_known_are_listed_after_one_is_given(web, tmp_path):
    _, api = web
    assert api.call("wsdls") == (200, {"wsdls": []})
    wsdl = tmp_path / "stock.wsdl"
    wsdl.write_text(STOCK_QUOTE)
    form = seed_form("https://localhost:443", 5000, [], soap_wsdl=str(wsdl))
    assert api.call("apply", {"form": form})[0] == 200
    (line,) = api.call("wsdls")[1]["wsdls"]
    assert str(wsdl) in line and "service StockQuoteService" in line and "1 operations" in line


def test_the_refresh_options_are_applied_and_a_missing_key_is_refused_beside_its_field(
    web, tmp_path
):
    _, api = web
    form = seed_form(
        "https://localhost:443",
        5000,
        [],
        soap_refresh_on_replay=False,
        soap_wsse_password="${NOT_SET_HERE}",
    )
    status, answer = api.call("apply", {"form": form})
    assert status == 400  # the option's own check, beside its field
    assert "${NOT_SET_HERE} is not set" in answer["errors"]["soap_wsse_password"]
    form["soap_wsse_password"] = "${EDITOR_PASS}"  # set in mitmweb's environment
    status, answer = api.call("apply", {"form": form})
    assert status == 200, answer
    options = api.get("/options")
    assert options["soap_refresh_on_replay"]["value"] is False
    assert options["soap_wsse_password"]["value"] == "${EDITOR_PASS}"
    assert answer["form"]["soap_wsse_password"] == "${EDITOR_PASS}"
    missing = {
        "soap_sign_key": str(tmp_path / "no.key"),
        "soap_sign_cert": str(tmp_path / "no.pem"),
    }
    status, answer = api.call("apply", {"form": {**form, **missing}})
    assert status == 400, answer
    assert "no.key" in answer["errors"]["soap_sign_key"], answer
    assert api.get("/options")["soap_sign_key"]["value"] == ""
