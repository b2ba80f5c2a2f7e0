"""A real browser for tests: Debian's Chromium, headless, driven by Selenium through Debian's chromedriver.

    with open_browser(tmp_path / "chromium") as browser:
        browser.get(server.url + "/console")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        save_screenshot(browser, tmp_path, "pending")

Selenium is told where chromedriver is (``Service(executable_path=...)``), so Selenium Manager never
downloads a driver or a browser. Each browser gets a fresh ``--user-data-dir`` (no cookies or cache
from another test) and flags that keep Chromium from calling home (sync, component updates,
background networking) on a machine without a display. ``open_browser`` skips the test when Chromium
or chromedriver is missing, naming the Debian packages (``scripts/bootstrap.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1200,900",
)


def browser_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@contextlib.contextmanager
def open_browser(profile_dir: Path, *, page_timeout: float = 30.0) -> Iterator[object]:
    """A headless Chromium (a ``selenium.webdriver.Chrome``) with a fresh profile in ``profile_dir``;
    quit (and the profile removed) on exit. Skips the test when Chromium or chromedriver is missing."""
    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (scripts/bootstrap.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(page_timeout)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


def save_screenshot(driver: object, folder: Path, name: str) -> Path:
    """The whole visible page as ``folder/screenshots/NAME.png``; returns the path."""
    target = folder / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(target)):  # type: ignore[attr-defined]
        raise RuntimeError(f"chromium could not save a screenshot to {target}")
    return target


def console_errors(driver: object) -> list[str]:
    """Severe entries of the page's console log (CSP violations show up here), as text."""
    try:
        entries = driver.get_log("browser")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a driver without log support: nothing to report
        return []
    return [e.get("message", "") for e in entries if e.get("level") == "SEVERE"]
