"""Headless Chromium for the console's browser tests: Debian's chromium through its own chromedriver.

Selenium Manager is kept offline (no driver or browser downloads); the tests need the packages
`chromium` and `chromium-driver`, which `make test` installs with apt.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = os.environ.get("HOTLINE_SCREENSHOTS", "")
"""A directory to save screenshots of the main pages into (`make screenshots`: docs/screenshots)."""


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium session, 1400×1000, audio allowed to play without a click."""
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--lang=vi-VN"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.implicitly_wait(0)
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, name: str, fallback: Path) -> Path:
    """Save the page as NAME.png in HOTLINE_SCREENSHOTS (when set) or the fallback directory."""
    directory = Path(SCREENSHOTS) if SCREENSHOTS else fallback
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
