"""Physics invariants over random valid configurations of every predictor (see invariants.py).

Default tier: ~260 examples in all (120 inference, 60 sweep, 80 training, 3 planner searches);
`-m slow` runs 1,000 of each (100 planner searches; benchmarks/physics_invariants.py prints the counts). A configuration
the predictor rejects (CoscaleError: invalid for the model, or does not fit) is skipped, the rest
must hold every invariant. The issue-14 reproducers are pinned in test_regressions.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.train.planner import plan_training

from .configs import inference_scenarios, plan_cases, training_cases
from .invariants import check_inference, check_inference_sweep, check_plan_entry, check_training

_FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _run(check, *args) -> list[str]:
    try:
        return check(*args)
    except CoscaleError:
        assume(False)
        raise AssertionError("unreachable") from None


def _inference(s) -> None:
    assert _run(check_inference, s) == []


def _sweep(s, isl, osl, batch) -> None:
    a = np.asarray(isl)[:, None]
    assert _run(check_inference_sweep, s, a, np.asarray(osl)[None, :], np.asarray(batch)) == []


def _training(case) -> None:
    assert _run(check_training, *case) == []


def _plan(case) -> None:
    ctx, seq, batch = case
    try:
        plan = plan_training(ctx, seq, batch, top=3)
    except CoscaleError:
        assume(False)
        return
    for p in plan.ranked:
        assert check_plan_entry(ctx, p) == []
    times = [p.step_time_s for p in plan.ranked]
    assert times == sorted(times)


_LENS = st.lists(st.integers(1, 4096), min_size=1, max_size=4)


@settings(_FAST, max_examples=120)
@given(inference_scenarios())
def test_inference_invariants(s) -> None:
    _inference(s)


@settings(_FAST, max_examples=60)
@given(inference_scenarios(), _LENS, _LENS, st.integers(1, 64))
def test_inference_sweep_invariants(s, isl, osl, batch) -> None:
    _sweep(s, isl, osl, batch)


@settings(_FAST, max_examples=80)
@given(training_cases())
def test_training_invariants(case) -> None:
    _training(case)


@settings(_FAST, max_examples=3)
@given(plan_cases())
def test_planner_invariants(case) -> None:
    _plan(case)


@pytest.mark.slow
@settings(_FAST, max_examples=1000)
@given(inference_scenarios())
def test_inference_invariants_slow(s) -> None:
    _inference(s)


@pytest.mark.slow
@settings(_FAST, max_examples=1000)
@given(inference_scenarios(), _LENS, _LENS, st.integers(1, 64))
def test_inference_sweep_invariants_slow(s, isl, osl, batch) -> None:
    _sweep(s, isl, osl, batch)


@pytest.mark.slow
@settings(_FAST, max_examples=1000)
@given(training_cases())
def test_training_invariants_slow(case) -> None:
    _training(case)


@pytest.mark.slow
@settings(_FAST, max_examples=100)  # one search is ~3 s on 2 cores: 1,000 would take CI ~50 minutes
@given(plan_cases())
def test_planner_invariants_slow(case) -> None:
    _plan(case)
