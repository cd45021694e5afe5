"""The capacity search never reports a rate the deployment cannot sustain: a short run above the
saturated rate can meet the SLO before its queue builds up, so such rates are refused outright, and a
run whose queue keeps growing is not valid either."""

from __future__ import annotations

from dataclasses import replace

import pytest

from coscale.serve.capacity_search import UNSTABLE_GROWTH, evaluate, max_rate, queue_growth
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run, saturated_rate, with_rate

DEP = Deployment(model="llama-3.1-8b", max_num_seqs=16)
WL = WorkloadSpec(rate=1.0, input_len=1000, output_len=100, num_requests=120)
LOOSE = dict(ttft_p99=30.0, tpot_p99=1.0)


@pytest.fixture(scope="module")
def setup():
    built = build(DEP)
    return built, saturated_rate(built, WL, DEP.router)


def test_short_run_above_saturation_meets_the_slo_but_is_not_valid(setup):
    built, cap = setup
    fast = evaluate(DEP, WL, built, 1.3 * cap, **LOOSE)  # the old test: the SLO alone, a short run
    assert fast.ok  # what made the search report rates above saturation
    p = evaluate(DEP, WL, built, 1.3 * cap, **LOOSE, capacity_rps=cap)
    assert not p.ok and p.report is None and "saturated" in p.why


def test_search_stays_at_or_below_saturation(setup):
    built, cap = setup
    best, tried = max_rate(DEP, WL, built, **LOOSE, start_rps=cap / 4)
    assert best.ok and best.rate <= cap
    assert all(not p.ok for p in tried if p.rate > cap)


def test_queue_growth_tells_overload_from_a_stable_queue(setup):
    """Over ~80 s of arrivals at 1.25x the saturated rate the delay grows by ~1 - 1/1.25 of the elapsed
    time (less: the open loop completes a little more than the closed-loop probe); at 0.6x it does not.
    Over 10 s the growth hides in the noise: why runs need a minimum duration."""
    built, cap = setup
    long = replace(WL, num_requests=1000)
    over, _ = run(DEP, with_rate(long, 1.25 * cap), Slo(), built=built, overload=False)
    assert UNSTABLE_GROWTH < queue_growth(over) == pytest.approx(1 - 1 / 1.25, abs=0.08)
    stable, _ = run(DEP, with_rate(long, 0.6 * cap), Slo(), built=built)
    assert abs(queue_growth(stable)) < UNSTABLE_GROWTH


def test_min_duration_lengthens_the_run(setup):
    built, cap = setup
    p = evaluate(DEP, WL, built, 0.5 * cap, **LOOSE, capacity_rps=cap, min_duration_s=200.0)
    assert p.report is not None and p.report["completed"] >= 0.5 * cap * 200.0
