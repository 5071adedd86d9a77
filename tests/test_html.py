"""reports/index.html renders offline in headless Chromium with every image present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "reports" / "index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_index_renders_with_every_image_and_no_outside_resource(browser):
    browser.get(INDEX.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.src.slice(0, 22)])"
    )
    assert {alt for alt, *_ in images} == {
        "Cross-validated scores per strategy", "Decision boundaries of every strategy", "Precision-recall and ROC curves"
    }
    for alt, complete, width, source in images:
        assert complete and width > 0, alt
        assert source == "data:image/png;base64,", alt
    # Nothing was fetched: embedded data URIs make no resource entries.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    headings = browser.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert headings[:2] == ["Data", "Leaderboard"]
    rows = browser.execute_script("return document.querySelectorAll('table')[0].rows.length")
    assert rows > 3
