"""soap.new and soap.diff typed into mitmweb's command bar in headless Chromium, as a user runs
them: the new request appears in the flow list, and the diff of two GetQuote calls that differ
in one value names that path."""

from __future__ import annotations

import urllib.request

import pytest
import soap_service
from browser_helpers import body_text, click_text, start_chromium
from mitmrelay.testing import HOST, start_mitmdump
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait
from web_helpers import Web

NS = soap_service.NS


@pytest.fixture
def browser(tmp_path):
    driver = start_chromium(tmp_path)
    yield driver
    driver.quit()


def quote(port: int, symbol: str) -> None:
    body = (
        f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<q:GetQuote xmlns:q="{NS}"><q:symbol>{symbol}</q:symbol></q:GetQuote></s:Body>'
        "</s:Envelope>"
    ).encode()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}/GetQuote"'}
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"http://{HOST}:{port}/q", body, headers)
    assert direct.open(request, timeout=10).status == 200


def run_command(driver, text: str, expected: str) -> str:
    field = WebDriverWait(driver, 10).until(
        shown.visibility_of_element_located((By.CSS_SELECTOR, ".command-input input"))
    )
    field.send_keys(text, Keys.ENTER)
    WebDriverWait(driver, 10).until(
        shown.text_to_be_present_in_element((By.CSS_SELECTOR, ".command-result"), expected)
    )
    return driver.find_element(By.CSS_SELECTOR, ".command-result").text


def test_soap_new_and_soap_diff_from_the_command_bar(tmp_path, browser):
    service = soap_service.SoapService()
    service.start()
    wsdl = tmp_path / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL.replace("127.0.0.1:9/", f"{HOST}:{service.port}/q"))
    try:
        relay = start_mitmdump(
            tmp_path,
            "--mode",
            f"reverse:http://{HOST}:{service.port}@{{port}}",
            "--set",
            f"soap_wsdl={wsdl}",
            tool="mitmweb",
        )
        try:
            quote(relay.port, "ACME")
            quote(relay.port, "MSFT")
            web = Web(relay.web_port, relay.web_token)
            first, second = (f["id"] for f in web.get("/flows"))

            browser.get(relay.web_url)
            click_text(browser, "Options")
            box = WebDriverWait(browser, 10).until(
                shown.presence_of_element_located(
                    (
                        By.XPATH,
                        "//label[contains(., 'Display Command Bar')]/input[@type='checkbox']",
                    )
                )
            )
            if not box.is_selected():
                browser.execute_script("arguments[0].click()", box)

            result = run_command(browser, "soap.new GetQuote Quotes11", "soap.new: flow ")
            assert f"POST http://{HOST}:{service.port}/q GetQuote (port Quotes11" in result
            (made,) = [f for f in web.get("/flows") if f["id"] not in (first, second)]
            assert made["request"]["path"] == "/q" and "response" not in made
            WebDriverWait(browser, 10).until(lambda d: body_text(d).count("/q") >= 3)

            result = run_command(browser, f"soap.diff {first} {second[:8]}", "changed")
            # mitmweb shows the lines as a JSON list, spaces collapsed by HTML.
            assert "changed Body/GetQuote/symbol: 'ACME' -> 'MSFT'" in " ".join(result.split())
            shot = tmp_path / "mitmweb-soap-diff.png"
            browser.save_screenshot(str(shot))
            assert shot.stat().st_size > 10_000
        finally:
            relay.stop()
    finally:
        service.stop()
