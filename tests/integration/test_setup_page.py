"""The Setup page in headless Chromium, as a user sets up the seed scenario: a reverse listener and
a two-hop chain (microsocks, then tinyproxy with a password from the environment) built in the
form, applied, checked hop by hop, a real SOAP call seen in mitmweb's flow list, saved as a recipe
and run again with `mitmrelay run`; a dead second hop and a bad value, as the page shows them."""

from __future__ import annotations

import base64
import os
import re
import shutil

import pytest
from browser_helpers import body_text, start_chromium
from cli_helpers import COMMAND, ENV
from mitmrelay.testing import HOST, Process, free_port, wait_for
from peers import FileServer, soap_call
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from setup_helpers import PACKAGE_ROOT

SECRET = "tiny-Secret-9312"
# A folder (docs/): the seed scenario's test saves the docs' three pictures of the page there,
# setup-empty.png, setup-filled.png and setup-checked.png, once it has passed; else they stay in
# the test's tmp_path and a test run leaves the checkout clean.
SCREENSHOTS = os.environ.get("MITMRELAY_SCREENSHOTS")
CHAIN = "section[aria-labelledby=h-chain]"


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path)
    yield driver
    driver.quit()


@pytest.fixture
def setup(peer, tmp_path, browser):
    """mitmweb with every addon, the page open; gives (mitmweb, the user's config folder)."""
    config = tmp_path / "config"
    env = {**PACKAGE_ROOT, "XDG_CONFIG_HOME": str(config), "TINY_PASS": SECRET}
    mitm = peer.mitmdump(tool="mitmweb", env=env)
    browser.get(f"http://{HOST}:{mitm.web_port}/mitmrelay/?token={mitm.web_token}")
    ready(browser)
    return mitm, config


def ready(driver) -> None:
    """Wait until the page's script has filled the form from the running options."""
    WebDriverWait(driver, 15).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
    )


def field(driver, id_: str, value: str) -> None:
    element = driver.find_element(By.ID, id_)
    element.clear()
    element.send_keys(value)


def add_hop(driver, n: int, scheme: str, port: int, **fields: str) -> None:
    driver.find_element(By.ID, "add-hop").click()
    Select(driver.find_element(By.ID, f"hop-{n}-scheme")).select_by_value(scheme)
    field(driver, f"hop-{n}-host", HOST)
    field(driver, f"hop-{n}-port", str(port))
    for name, value in fields.items():
        field(driver, f"hop-{n}-{name}", value)


def text_of(driver, id_: str, timeout: float = 15, until: str = "") -> str:
    WebDriverWait(driver, timeout).until(
        lambda d: until in d.find_element(By.ID, id_).text and d.find_element(By.ID, id_).text
    )
    return driver.find_element(By.ID, id_).text


def apply(driver) -> str:
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 15).until(
        lambda d: d.find_element(By.ID, "apply-status").text in ("applied", "not applied")
    )
    return driver.find_element(By.ID, "apply-status").text


def check(driver, target: str) -> list[tuple[str, str]]:
    field(driver, "target", target)
    driver.find_element(By.ID, "check").click()
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "check-result").text in ("reached", "failed")
    )
    return [
        (li.get_attribute("class"), li.text)
        for li in driver.find_elements(By.CSS_SELECTOR, "#steps li")
    ]


def screenshot(driver, path, first: str, last: str) -> None:
    """The page 1200 pixels wide, cut from the element `first` to the element `last` (CSS
    selectors) and to the page's column: a picture for the docs, no scrollbar, no focus ring."""
    driver.set_window_size(1200, 900)
    clip = driver.execute_script(
        "document.activeElement.blur();"
        "const [a, b] = [arguments[0], arguments[1]].map(s => document.querySelector(s)"
        ".getBoundingClientRect()), body = document.body.getBoundingClientRect();"
        "return {x: body.left, y: a.top + window.scrollY - 8, width: body.width,"
        " height: b.bottom - a.top + 16, scale: 1}",
        first,
        last,
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"clip": clip, "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.set_window_size(1400, 900)  # as start_chromium gives it
    assert 20_000 < path.stat().st_size < 300_000, path


def test_the_seed_scenario_built_checked_watched_and_saved(peer, setup, browser, certs, tmp_path):
    mitm, config = setup
    shots = {name: tmp_path / f"setup-{name}.png" for name in ("empty", "filled", "checked")}
    screenshot(browser, shots["empty"], "header", CHAIN)  # the page as first opened
    origin, socks = peer.https_origin(), peer.microsocks()
    tiny = peer.tinyproxy("relay", SECRET)
    listen = free_port()
    Select(browser.find_element(By.ID, "listen-1-mode")).select_by_value("reverse")
    field(browser, "listen-1-server", f"https://localhost:{origin.port}")
    field(browser, "listen_host", HOST)
    field(browser, "listen-1-port", str(listen))
    field(browser, "ca", str(certs.ca))
    add_hop(browser, 1, "socks5h", socks.port)
    add_hop(browser, 2, "http", tiny.port, user="relay", env="TINY_PASS")
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => !e.labels.length).map(e => e.id)"
    )
    assert unlabelled == []  # every control has its label (screen readers, keyboard users)
    screenshot(browser, shots["filled"], "header", CHAIN)
    field(browser, "probe_host", "localhost")
    field(browser, "probe_port", str(origin.port))
    browser.find_element(By.ID, "probe").click()  # the form as it stands, before Apply
    assert text_of(browser, "route-result", until="via") == (
        f"localhost:{origin.port}: via socks5h://{HOST}:{socks.port},"
        f"http://relay:${{TINY_PASS}}@{HOST}:{tiny.port} (proxy_chain)"
    )
    assert apply(browser) == "applied", body_text(browser)
    mitm.wait_log(rf"listening at {HOST}:{listen}\b")

    steps = check(browser, f"tls://localhost:{origin.port}")
    assert browser.find_element(By.ID, "check-result").text == "reached", steps
    assert not [s for s in steps if s[0] == "fail"]
    chain = f"socks5h://{HOST}:{socks.port},http://relay:${{TINY_PASS}}@{HOST}:{tiny.port}"
    lines = "\n".join(text for _, text in steps)
    assert f"via {chain}" in lines
    assert f"hop 1/2 socks5h://{HOST}:{socks.port}: SOCKS5 handshake done" in lines
    hop2 = f"hop 2/2 http://relay:${{TINY_PASS}}@{HOST}:{tiny.port}"
    assert f"{hop2}: HTTP CONNECT handshake done, user/password accepted" in lines
    assert f"certificate verified against ssl_verify_upstream_trusted_ca {certs.ca}" in lines
    screenshot(
        browser, shots["checked"], ".actions", "#check-result"
    )  # Apply, the route, each step green

    # A real SOAP call to the listener: answered through both proxies, shown in mitmweb.
    assert soap_call(listen)[0] == 200
    socks.wait_log(rf"connected to {HOST}:{tiny.port}\b")
    tiny.wait_log(rf"CONNECT localhost:{origin.port}")
    browser.get(mitm.web_url)
    WebDriverWait(browser, 15).until(lambda d: "SOAP Echo" in body_text(d))
    assert "/service" in body_text(browser)

    # The same setup saved as a recipe, then run by `mitmrelay run` on its own.
    browser.get(f"http://{HOST}:{mitm.web_port}/mitmrelay/")
    ready(browser)
    field(browser, "recipe_name", "seed")
    field(browser, "description", "the seed scenario, from the Setup page")
    browser.find_element(By.ID, "save").click()
    saved = text_of(browser, "saved", until="saved as")
    recipe = config / "mitmrelay" / "recipes" / "seed.yaml"
    assert str(recipe) in saved
    text = recipe.read_text()
    assert "${TINY_PASS}" in text and SECRET not in text
    assert browser.find_element(By.ID, "yaml").text.strip() == text.strip()
    page = browser.page_source
    mitm.stop()
    run = peer.keep(
        Process(
            [*COMMAND, "run", str(recipe), "--set", f"confdir={tmp_path / 'run-conf'}"],
            tmp_path / "run.log",
            [listen],
            env={**ENV, "TINY_PASS": SECRET},
            cwd=tmp_path,
        )
    )
    assert soap_call(listen)[0] == 200
    wait_for(
        lambda: len(re.findall(rf"CONNECT localhost:{origin.port}", tiny.text())) >= 2,
        10,
        "a second CONNECT through tinyproxy",
    )
    for output in (page, mitm.text(), run.text(), text):
        assert SECRET not in output
    for shot in shots.values() if SCREENSHOTS else ():
        shutil.copy(shot, SCREENSHOTS)


def test_a_dead_second_hop_is_named_and_a_bad_value_is_shown_beside_its_field(peer, setup, browser):
    mitm, _ = setup
    origin, socks, dead = peer.https_origin(), peer.microsocks(), free_port()
    Select(browser.find_element(By.ID, "listen-1-mode")).select_by_value("regular")
    field(browser, "listen-1-port", str(mitm.port))
    browser.find_element(By.ID, "add-listener").click()
    Select(browser.find_element(By.ID, "listen-2-mode")).select_by_value("socks5")
    socks_in = free_port()
    field(browser, "listen-2-port", str(socks_in))
    add_hop(browser, 1, "socks5h", socks.port)
    add_hop(browser, 2, "http", dead, user="me", env="TYPED_PASS", password=SECRET)
    assert apply(browser) == "applied"
    assert browser.find_element(By.ID, "hop-2-password").get_attribute("value") == ""
    mitm.wait_log(rf"SOCKS v5 proxy listening at {HOST}:{socks_in}\b")
    steps = check(browser, f"tls://localhost:{origin.port}")
    failed = [text for kind, text in steps if kind == "fail"]
    assert failed and failed[0].startswith(
        f"FAIL hop 2/2: address (through hop 1/2 socks5h://{HOST}:{socks.port})"
    ), steps
    assert (
        f"via socks5h://{HOST}:{socks.port},http://me:${{TYPED_PASS}}@{HOST}:{dead}" in steps[0][1]
    )
    assert browser.find_element(By.ID, "check-result").text == "failed"

    # An alternative chain (hop 1 alone) carries the connection when the first one fails.
    browser.find_element(By.ID, "add-alternative").send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "alt-2-hop-1-host"
    field(browser, "alt-2-hop-1-host", HOST)
    field(browser, "alt-2-hop-1-port", str(socks.port))
    assert apply(browser) == "applied"
    steps = check(browser, f"localhost:{origin.port}")
    assert browser.find_element(By.ID, "check-result").text == "reached", steps
    assert f"| socks5h://{HOST}:{socks.port}, timeout" in steps[0][1]
    assert next(t for c, t in steps if c == "note").startswith(
        f"note proxy alternative socks5h://{HOST}:{socks.port},http://me:${{TYPED_PASS}}@"
    )

    field(browser, "hop-2-port", "0")
    assert apply(browser) == "not applied"
    error = browser.find_element(By.ID, "err-hop-2").text
    assert error == (
        f"hop 2: hop 'http://me:${{TYPED_PASS}}@{HOST}:0' has no port: add one, "
        f"e.g. http://{HOST}:3128"
    )
    browser.refresh()
    ready(browser)
    assert browser.find_element(By.ID, "hop-2-port").get_attribute("value") == str(dead)
    assert browser.find_element(By.ID, "alt-2-hop-1-port").get_attribute("value") == str(socks.port)
    for output in (browser.page_source, mitm.text()):  # the typed password: nowhere
        assert SECRET not in output


def test_a_page_of_another_origin_cannot_change_the_setup(peer, setup, browser, tmp_path):
    """A foreign page's form post (text/plain: no preflight) and its fetch are refused: the
    options are unchanged."""
    mitm, _ = setup
    api = f"http://{HOST}:{mitm.web_port}/mitmrelay/api/apply"
    evil = tmp_path / "evil"
    evil.mkdir()
    body = '{"form": {"listeners": [{"mode": "regular", "port": "9"}], "hops": []}}'
    (evil / "index.html").write_text(
        f'<form id="f" method="post" enctype="text/plain" action="{api}">'
        f"<input name='{body[:-1]}' value='}}'></form>"
        "<script>document.getElementById('f').submit()</script>"
    )
    (evil / "fetch.html").write_text(
        f"<script>fetch('{api}', {{method: 'POST', mode: 'no-cors', credentials: 'include', "
        f"headers: {{'Content-Type': 'text/plain'}}, body: '{body}'}})"
        ".then(() => document.title = 'sent', () => document.title = 'refused')</script>"
    )
    site = peer.keep(FileServer(evil))
    browser.get(site.url("index.html"))
    WebDriverWait(browser, 10).until(lambda d: d.current_url.startswith(api))
    assert "403" in body_text(browser) or "415" in body_text(browser)
    browser.get(site.url("fetch.html"))
    WebDriverWait(browser, 10).until(lambda d: d.title in ("sent", "refused"))
    mitm.stop()
    assert "POST /mitmrelay/api/apply" in mitm.text()
    assert not re.search(r" 200 POST /mitmrelay/api/apply", mitm.text())
    assert "listening at 127.0.0.1:9" not in mitm.text()


def test_a_recipe_loads_into_the_form_and_hops_are_edited_by_keyboard(setup, browser):
    mitm, _ = setup
    Select(browser.find_element(By.ID, "recipe")).select_by_value("soap-over-socks5")
    browser.find_element(By.ID, "load").send_keys(Keys.ENTER)
    assert "not applied yet" in text_of(browser, "apply-status", until="loaded")
    value = lambda id_: browser.find_element(By.ID, id_).get_attribute("value")  # noqa: E731
    assert value("listen-1-server") == "https://api.partner.example:443"
    assert value("listen-1-port") == "5000"
    assert (value("hop-1-host"), value("hop-1-user"), value("hop-1-env")) == (
        "proxy.corp.example", "soapuser", "PROXY_PASS"
    )  # fmt: skip
    assert browser.find_element(By.ID, "insecure").is_selected()

    # Keyboard only: add a hop, fill it, move it first, remove the other.
    browser.find_element(By.ID, "add-hop").send_keys(Keys.ENTER)
    active = browser.switch_to.active_element
    assert active.get_attribute("id") == "hop-2-host"
    active.send_keys(HOST, Keys.TAB)
    active = browser.switch_to.active_element
    assert active.get_attribute("id") == "hop-2-port"
    active.send_keys(Keys.BACKSPACE * 6, "1081")
    move_up = browser.find_element(By.XPATH, "//li[@aria-label='hop 2 of 2']//button[.='Move up']")
    move_up.send_keys(Keys.SPACE)
    assert (value("hop-1-host"), value("hop-1-port")) == (HOST, "1081")
    assert browser.switch_to.active_element == move_up  # focus stays on the moved row
    remove = browser.find_element(By.XPATH, "//li[@aria-label='hop 2 of 2']//button[.='Remove']")
    remove.send_keys(Keys.ENTER)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#hops > li")) == 1
    assert browser.switch_to.active_element.get_attribute("id") == "add-hop"
    assert "listening at 127.0.0.1:5000" not in mitm.text()  # loaded, not applied


def test_saving_over_a_recipe_of_the_same_name_asks_first(setup, browser):
    _, config = setup
    mine = config / "mitmrelay" / "recipes" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("description: written by hand\noptions: {}\n")
    save = browser.find_element(By.ID, "save")
    field(browser, "recipe_name", "mine")
    save.click()
    assert "exists: Replace it" in text_of(browser, "err-recipe_name", until="exists")
    assert save.text == "Replace mine"
    assert mine.read_text() == "description: written by hand\noptions: {}\n"
    field(browser, "recipe_name", "other")  # another name: a plain save again
    assert save.text == "Save as recipe"
    field(browser, "recipe_name", "mine")
    save.click()
    WebDriverWait(browser, 15).until(lambda d: save.text == "Replace mine")
    save.click()
    assert str(mine) in text_of(browser, "saved", until="saved as")
    assert "written by hand" not in mine.read_text()
    assert save.text == "Save as recipe"
