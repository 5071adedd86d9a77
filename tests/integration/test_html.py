"""reports/index.html renders offline in headless Chromium with every image present: the summary
pictures, each strategy's resampled rows and each cell's decision boundary."""

from __future__ import annotations

import base64
import html
import re
import shutil

import pytest
import yaml

from helpers import ROOT
from imbalance_lab.reporting.report import render_html, strategy_sections
from imbalance_lab.settings.paths import cell_file, strategy_file

INDEX = ROOT / "reports" / "index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
GRID = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["grid"]
STRATEGIES, CLASSIFIERS = tuple(GRID["strategies"]), tuple(GRID["classifiers"])
CELLS = {f"{s}-{c}": (s, c) for s in STRATEGIES for c in CLASSIFIERS}
SUMMARY_ALTS = {"Cross-validated scores per cell", "Decision boundaries of every cell",
                "Precision-recall and ROC curves", "Reliability diagrams of every cell",
                "Critical-difference diagram of f1 across data sets"}
DATA_URI = "data:image/png;base64,"
# The stages' pictures: (file, its name's kind, words its alt text must hold besides that name).
PICTURES = [(lambda name: strategy_file("resampled_png", name), STRATEGIES, "after resampling"),
            (lambda name: cell_file("boundary_png", name), tuple(CELLS), "decision boundary")]
STAGE_PICTURES = len(STRATEGIES) + len(CELLS)


def embedded_images(page: str) -> list[tuple[str, bytes]]:
    """(alt text, PNG bytes) of every <img> of a page, in order."""
    tags = re.findall(r"<img\b[^>]*>", page)
    found = [(re.search(r'\balt="([^"]*)"', tag), re.search(r'\bsrc="([^"]*)"', tag)) for tag in tags]
    assert all(alt and src and src[1].startswith(DATA_URI) for alt, src in found), tags
    return [(html.unescape(alt[1]), base64.b64decode(src[1][len(DATA_URI):], validate=True)) for alt, src in found]


def assert_every_strategy_pictured(images: list[tuple[str, bytes]], read) -> None:
    """Each strategy's resampled picture and each cell's boundary are embedded once (``read(path)``: their
    bytes), each with an alt text naming the strategy or cell and the kind of picture."""
    for path_of, names, words in PICTURES:
        for name in names:
            data = read(path_of(name))
            alts = [alt for alt, embedded in images if embedded == data]
            assert len(alts) == 1, (name, words, alts)
            assert name in alts[0] and words in alts[0].lower(), alts[0]


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


def test_strategy_sections_embed_each_strategys_and_cells_pictures():
    """The report's per-strategy sections, rendered as index.html renders them: one section per strategy,
    its resampled picture then its cells' boundaries, each embedded from its own file with its own alt text."""
    sections = strategy_sections(CELLS)
    assert [section.title for section in sections] == [f"Strategy `{name}`" for name in STRATEGIES]
    fake = {path: f"picture {path}".encode() for section in sections for path, _ in section.images}
    page = render_html(sections, fake)
    assert re.findall(r"<h2>(.*?)</h2>", page) == [f"Strategy <code>{name}</code>" for name in STRATEGIES]
    images = embedded_images(page)
    assert len(images) == STAGE_PICTURES
    assert_every_strategy_pictured(images, lambda path: fake[path.relative_to("reports").as_posix()])
    assert len({alt for alt, _ in images}) == len(images)


def test_index_embeds_every_strategys_pictures_as_committed():
    """reports/index.html holds each strategy's boundary and resampled pictures, byte for byte as the
    evaluate stages wrote them, besides the three summary pictures."""
    images = embedded_images(INDEX.read_text(encoding="utf-8"))
    assert {alt for alt, _ in images} >= SUMMARY_ALTS
    assert len(images) == len(SUMMARY_ALTS) + STAGE_PICTURES
    assert_every_strategy_pictured(images, lambda path: (ROOT / path).read_bytes())


def test_index_renders_with_every_image_and_no_outside_resource(browser):
    browser.get(INDEX.as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.src.slice(0, 22)])"
    )
    alts = [alt for alt, *_ in images]
    assert set(alts) >= SUMMARY_ALTS
    assert len(set(alts)) == len(alts) == len(SUMMARY_ALTS) + STAGE_PICTURES
    for name in CELLS:
        assert alts.count(f"Decision boundary of {name} over the training rows") == 1, name
    for alt, complete, width, source in images:
        assert complete and width > 0, alt
        assert source == DATA_URI, alt
    # Nothing was fetched: embedded data URIs make no resource entries.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    headings = browser.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert headings[:2] == ["Data", "Leaderboard"]
    rows = browser.execute_script("return document.querySelectorAll('table')[0].rows.length")
    assert rows > 3
