"""Headless Debian Chromium driven by selenium, for the tests that use mitmweb as a user does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mitmrelay.testing import wait_for
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By


def start_chromium(tmp_path: Path) -> WebDriver:
    """Chromium with the flags that render mitmweb headless here (see DESIGN.md), its profile in
    `tmp_path`; the caller quits it."""
    if not shutil.which("chromedriver"):
        pytest.fail("chromium-driver is not installed: run scripts/test, which installs it")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-quic",
        f"--user-data-dir={tmp_path / 'chromium'}",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def body_text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def click_text(driver: WebDriver, text: str) -> None:
    """Click the innermost visible element whose text holds `text`."""
    found = wait_for(
        lambda: [
            e
            for e in driver.find_elements(
                By.XPATH, f"//*[contains(., '{text}')][not(*[contains(., '{text}')])]"
            )
            if e.is_displayed()
        ],
        10,
        f"{text!r} on the page: {body_text(driver)[:300]!r}",
    )
    driver.execute_script("arguments[0].click()", found[0])
