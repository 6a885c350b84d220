"""`mitmrelay.check` typed into mitmweb's command bar in headless Chromium, as a user runs it: the
command bar answers, and the check's hop-by-hop steps appear in mitmweb's event log."""

from __future__ import annotations

from pathlib import Path

import mitmrelay
import pytest
from browser_helpers import click_text, start_chromium
from mitmrelay.testing import HOST
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

# mitmweb imports the package this test imported (the checkout's), not the one pip installed.
PACKAGE_ROOT = {"PYTHONPATH": str(Path(mitmrelay.__file__).resolve().parents[1])}
# The event log pane lists only the rows in view (mitmweb 12's pane is short): scroll to its end.
LAST_EVENTS = """
const log = document.querySelector(".eventlog");
for (const e of log.querySelectorAll("*")) e.scrollTop = e.scrollHeight;
return log.innerText;
"""
# The full event log as mitmweb's front end loads it (the page lists only the rows in view).
EVENTS = """
const done = arguments[arguments.length - 1];
fetch("events" + location.search, {credentials: "same-origin"})
    .then(r => r.json()).then(events => done(events.map(e => e.message).join("\\n")));
"""


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path)
    yield driver
    driver.quit()


def show(driver, entry: str) -> None:
    """Tick one of the Options menu's display toggles ("Display Command Bar", "... Event Log")."""
    click_text(driver, "Options")
    box = WebDriverWait(driver, 10).until(
        shown.presence_of_element_located(
            (By.XPATH, f"//label[contains(., '{entry}')]/input[@type='checkbox']")
        )
    )
    if not box.is_selected():
        driver.execute_script("arguments[0].click()", box)
    WebDriverWait(driver, 10).until(lambda d: box.is_selected())


def test_check_typed_into_mitmwebs_command_bar_logs_each_hop(peer, tmp_path, browser):
    socks, origin = peer.microsocks(), peer.http_origin()
    chain = f"socks5h://{HOST}:{socks.port}"
    web = peer.mitmdump("--set", f"proxy_chain={chain}", tool="mitmweb", env=PACKAGE_ROOT)
    target = f"{HOST}:{origin.port}"

    browser.get(web.web_url)
    show(browser, "Display Command Bar")
    field = WebDriverWait(browser, 10).until(
        shown.visibility_of_element_located((By.CSS_SELECTOR, ".command-input input"))
    )
    field.send_keys(f"mitmrelay.check {target}", Keys.ENTER)
    WebDriverWait(browser, 10).until(
        shown.text_to_be_present_in_element(
            (By.CSS_SELECTOR, ".command-result"),
            f"checking {target}: each step follows in the event log",
        )
    )

    show(browser, "Display Event Log")
    WebDriverWait(browser, 15).until(lambda d: f"reached {target}" in d.execute_script(LAST_EVENTS))
    log = browser.execute_async_script(EVENTS)
    assert f"check {target} as the relay would: via {chain}" in log
    assert f"hop 1/1 {chain}: address {HOST}:{socks.port} reached" in log
    assert f"hop 1/1 {chain}: SOCKS5 handshake done, no authentication asked" in log
    assert f"destination {target} reached" in log
    # The proxy, not mitmweb, made the connection to the destination.
    socks.wait_log(rf"connected to {HOST}:{origin.port}\b")
    shot = tmp_path / "mitmweb-command-bar.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
