"""mitmweb in headless Chromium: the project's options in the Options editor, a proxy_chain change
applied to new connections, the SOAP view and flow labels in the flow view; saves a screenshot
(docs/mitmweb.png with MITMRELAY_UPDATE_SCREENSHOT=1)."""

from __future__ import annotations

import os

import pytest
from browser_helpers import body_text, click_text, start_chromium
from mitmrelay.testing import HOST, free_port, wait_for
from peers import REPO, soap_call
from recipe_helpers import SERVER, recipe_copy, run_recipe
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

CHANGE_OPTION = """
const done = arguments[arguments.length - 1];
const xsrf = (document.cookie.match(/xsrf=([^;]+)/) || [])[1];
fetch("options" + location.search, {method: "PUT", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-XSRFToken": xsrf},
    body: JSON.stringify(arguments[0])}).then(r => done(r.status));
"""


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path)
    yield driver
    driver.quit()


def test_mitmweb_options_runtime_chain_change_and_soap_view(peer, tmp_path, browser):
    origin, first, second = peer.https_origin(), peer.microsocks("alice", "pw-w"), peer.microsocks()
    port = free_port()
    recipe = recipe_copy(
        "soap-over-socks5.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "soapuser": "alice",
            "proxy.corp.example:4033": f"{HOST}:{first.port}",
        },
    )
    web = run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-w"}, tool="mitmweb")
    url = web.web_url
    assert soap_call(port)[0] == 200
    first.wait_log(rf"connected to localhost:{origin.port}")

    # The project's options, with their help text, in the Options editor.
    browser.get(url)
    click_text(browser, "Options")
    click_text(browser, "Edit Options")
    wait_for(lambda: "proxy_chain" in body_text(browser), 10, "proxy_chain in the Options editor")
    text = body_text(browser)
    for option in ("proxy_chain", "proxy_routes", "proxy_bypass", "recipe", "socat_dump"):
        assert option in text
    assert "Proxies that server connections go through" in text

    # Change proxy_chain at runtime: the next connection goes through the second proxy.
    new_chain = f"socks5h://{HOST}:{second.port}"
    assert browser.execute_async_script(CHANGE_OPTION, {"proxy_chain": new_chain}) == 200
    web.wait_log(r"proxy_chain")
    assert soap_call(port)[0] == 200
    second.wait_log(rf"connected to localhost:{origin.port}")

    # The flow view: SOAP label in the list, the SOAP view of the request.
    browser.get(url)
    wait_for(lambda: "Echo" in body_text(browser), 10, "the SOAP operation in the flow list")
    rows = [
        row
        for row in browser.find_elements(By.CSS_SELECTOR, ".flow-table tbody tr")
        if row.is_displayed()
    ]
    ActionChains(browser).move_to_element(rows[-1]).click().perform()
    wait_for(lambda: "SOAP" in body_text(browser), 10, "the SOAP view in the flow view")
    # The README's picture is refreshed on request only: a test run leaves the checkout clean.
    shot = (
        REPO / "docs" / "mitmweb.png"
        if os.environ.get("MITMRELAY_UPDATE_SCREENSHOT")
        else tmp_path / "mitmweb.png"
    )
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
