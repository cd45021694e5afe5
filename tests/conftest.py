"""Fixtures shared across test folders."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

from coscale.validation.runner import CaseResult, default_workers, run_validation

# CI draws the same examples on every run (a failure there is a regression, not a new draw); local
# runs keep drawing fresh ones, which is how new counterexamples are found
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def validation_results() -> list[CaseResult]:
    """Every shipped validation case, as `build_report` and `coscale validate` compute them (in two
    processes on a 2-core machine); run once per session (about 45 s) for the report tests, which differ
    only in their scenarios."""
    return run_validation(serving=True, workers=default_workers())
