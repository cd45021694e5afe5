"""The default report in a real headless Chromium: no console error, every chart drawn, no request leaves
the page, and a screenshot saved (to $COSCALE_SCREENSHOT_DIR when set). Skips without Chromium or
Playwright, except under CI (CI=true), where it fails."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHARTS = "document.querySelectorAll('.plotly-graph-div')"


def _need(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        _need("no Chromium executable (apt-get install -y chromium, or set CHROMIUM=/path)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _need("playwright is not installed (pip install playwright; no `playwright install` needed)")
    return exe


def test_report_renders_offline_in_chromium(default_page: Path, tmp_path: Path):
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    page_url = default_page.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):
                if r.request.url != page_url:
                    outside.append(r.request.url)
                    r.abort()
                else:
                    r.continue_()

            page.route("**/*", route)
            page.goto(page_url, wait_until="load")
            n = page.evaluate(f"{CHARTS}.length")
            assert n >= 10
            page.wait_for_function(f"Array.from({CHARTS}).every(d => d.querySelector('svg.main-svg'))",
                                   timeout=30_000)
            drawn = page.evaluate(
                f"Array.from({CHARTS}).map(d => [d.id, d.querySelectorAll('g.trace, g.point, path.js-line, "
                f"g.bars path, .scatterlayer path').length])")
            empty = [cid for cid, marks in drawn if marks == 0]
            assert not empty, f"charts with no marks: {empty}"
            csv_links = page.evaluate("document.querySelectorAll('a.csv[href^=\"data:text/csv\"]').length")
            assert csv_links >= n
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            if os.environ.get("COSCALE_SCREENSHOT_DIR"):
                shutil.copy(shot, Path(os.environ["COSCALE_SCREENSHOT_DIR"]) / "report.png")
                page.screenshot(path=str(Path(os.environ["COSCALE_SCREENSHOT_DIR"]) / "report_full.png"),
                                full_page=True)
        finally:
            browser.close()
    assert not errors, f"console errors: {errors[:5]}"
    assert not outside, f"requests left the page: {outside[:5]}"
