"""The default report, built once per session (the browser, numbers and page tests share it)."""

from __future__ import annotations

import pytest

from coscale.report.html.build import build_report
from coscale.report.html.page import render_page
from coscale.report.html.scenario import load_scenario


@pytest.fixture(scope="session")
def default_report(validation_results) -> dict:
    return build_report(load_scenario(), validation_results)


@pytest.fixture(scope="session")
def default_page(default_report, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_page(default_report), encoding="utf-8")
    return path
