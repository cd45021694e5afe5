"""Fixtures shared across test folders."""

from __future__ import annotations

import pytest

from coscale.validation.runner import CaseResult, run_validation


@pytest.fixture(scope="session")
def validation_results() -> list[CaseResult]:
    """Every shipped validation case, as `build_report` and `coscale validate` compute them; run once per
    session (about a minute) for the report tests, which differ only in their scenarios."""
    return run_validation(serving=True)
