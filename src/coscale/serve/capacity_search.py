"""The highest arrival rate whose run meets p99 TTFT and TPOT limits (MLPerf Server semantics).

A rate is valid only when its run (1) is not above the deployment's saturated completion rate
(`scenario.saturated_rate`, measured once per search with every batch slot busy), (2) lasts at least
`min_duration_s` of arrivals (`serve capacity`: MLPerf Inference's minimum run duration, 600 s), (3) has a
stable queue: the queueing delay of the last quarter of the requests (by arrival) exceeds that of the
second quarter by less than `UNSTABLE_GROWTH` of the time between them (a rate x above the
completion rate grows every request's delay by 1 - 1/x of the elapsed time), and (4) meets both p99
limits. A short run above saturation can meet the limits before its queue builds up; (1)-(3) are
what stop such a rate from being reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from coscale.errors import CoscaleError, DoesNotFitError
from coscale.serve.engine import Overloaded, SimResult
from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Built, Deployment, WorkloadSpec, run, saturated_rate, with_rate

# MLPerf Inference: a performance run lasts at least 10 minutes (LoadGen TestSettings
# `min_duration_ms = 600000`, as set by the MLCommons reference harnesses, github.com/mlcommons/inference)
MLPERF_MIN_DURATION_S = 600.0
# assumption: a queueing delay growing by more than 5 % of the elapsed time means arrivals outpace
# completions by more than ~5 %; fluctuation of a stable queue stays well below that over a long run
UNSTABLE_GROWTH = 0.05


@dataclass(frozen=True, kw_only=True, slots=True)
class RatePoint:
    rate: float
    ok: bool
    report: dict | None  # None when the rate was refused without a complete run
    capacity_rps: float | None = None
    why: str = ""  # why the rate is not valid ("" when it is)


def queue_growth(result: SimResult) -> float:
    """Growth of the queueing delay between the second and the last quarter of the requests (by
    arrival) per second elapsed between them: ~0 for a stable queue, 1 - capacity/rate when overloaded."""
    r = request_arrays(result)
    order = np.argsort(r.arrival_s, kind="stable")
    arrival, queue = r.arrival_s[order], r.queue[order]
    n = len(order)
    if n < 8:
        return 0.0
    q2, q4 = slice(n // 4, n // 2), slice(3 * n // 4, n)
    elapsed = float(arrival[q4].mean() - arrival[q2].mean())
    return float(queue[q4].mean() - queue[q2].mean()) / elapsed if elapsed > 0 else 0.0


MAX_MIN_DURATION_S = 86_400.0  # one simulated day of arrivals per trial run (MLPerf's minimum is 600 s)


def evaluate(d: Deployment, w: WorkloadSpec, built: Built, rate: float, ttft_p99: float, tpot_p99: float,
             capacity_rps: float | None = None, min_duration_s: float = 0.0) -> RatePoint:
    if capacity_rps is not None and rate > capacity_rps:
        return RatePoint(rate=rate, ok=False, report=None, capacity_rps=capacity_rps,
                         why=f"above the saturated completion rate {capacity_rps:.4g} requests/s")
    spec = with_rate(w, rate)
    implied = spec.num_requests or (math.ceil(rate * spec.duration_s) if spec.duration_s else 0)
    needed = math.ceil(rate * min_duration_s)
    if needed > implied:
        spec = replace(spec, num_requests=needed, duration_s=None)
    try:
        res, rep = run(d, spec, Slo(ttft_s=ttft_p99, tpot_s=tpot_p99), built=built)
    except Overloaded as e:
        return RatePoint(rate=rate, ok=False, report=None, capacity_rps=e.capacity_rps, why=str(e))
    growth = queue_growth(res)
    rep["queue_growth"] = growth
    why = ""
    if growth > UNSTABLE_GROWTH:
        why = f"the queue grows (queueing delay +{growth:.1%} of the elapsed time)"
    elif not (rep["ttft_s"]["p99"] <= ttft_p99 and rep["tpot_s"]["p99"] <= tpot_p99):  # type: ignore[index]
        why = "a p99 limit is missed"
    return RatePoint(rate=rate, ok=not why, report=rep, capacity_rps=capacity_rps, why=why)


def max_rate(d: Deployment, w: WorkloadSpec, built: Built, ttft_p99: float, tpot_p99: float,
             start_rps: float = 1.0, rel_tol: float = 0.02, max_runs: int = 24,
             min_duration_s: float = 0.0) -> tuple[RatePoint, list[RatePoint]]:
    """Double from `start_rps` until a run fails, then bisect to `rel_tol`. Rates above the saturated
    completion rate fail without a run; each run lasts at least `min_duration_s` of arrivals (`serve
    capacity` passes MLPerf's 600 s; 0 keeps the workload's own request count)."""
    if not 0 <= min_duration_s <= MAX_MIN_DURATION_S:
        raise CoscaleError(f"--min-duration must be in 0..{MAX_MIN_DURATION_S:,.0f} s (MLPerf asks 600), got "
                           f"{min_duration_s}.")
    capacity = saturated_rate(built, w, d.router)
    return search_rate(lambda rate: evaluate(d, w, built, rate, ttft_p99, tpot_p99, capacity, min_duration_s),
                       ttft_p99, tpot_p99, start_rps, rel_tol, max_runs)


def search_rate(probe: Callable[[float], RatePoint], ttft_p99: float, tpot_p99: float, start_rps: float = 1.0,
                rel_tol: float = 0.02, max_runs: int = 24) -> tuple[RatePoint, list[RatePoint]]:
    """The highest rate `probe` calls ok: double from `start_rps` until a run fails, then bisect to `rel_tol`."""
    for flag, limit in (("--slo-ttft-p99", ttft_p99), ("--slo-tpot-p99", tpot_p99)):
        if not limit > 0:  # NaN too; inf leaves that limit off
            raise CoscaleError(f"{flag} must be a number of seconds > 0, got {limit}.")
    tried: list[RatePoint] = []
    lo: RatePoint | None = None
    hi: RatePoint | None = None
    rate = start_rps
    while len(tried) < max_runs:
        p = probe(rate)
        tried.append(p)
        if p.ok:
            lo = p
            if hi is None:
                rate *= 2
                continue
        else:
            hi = p
            if lo is None:
                rate /= 2
                if rate < 1e-3:
                    break
                continue
        if lo is not None and hi is not None:
            if hi.rate - lo.rate <= rel_tol * lo.rate:
                break
            rate = (lo.rate + hi.rate) / 2
    if hi is None and lo is not None:  # every rate passed up to the last doubling: the runs never queued
        raise CoscaleError(f"every arrival rate up to {lo.rate:.3g} requests/s met the SLO: the runs hold too few "
                           f"requests to load this deployment; raise --num-requests.")
    if lo is None:  # valid request, answer "infeasible": exit 3
        raise DoesNotFitError(f"no arrival rate down to {tried[-1].rate:.3g} requests/s meets TTFT p99 <= {ttft_p99} s "
                              f"and TPOT p99 <= {tpot_p99} s on this deployment; relax the SLO or add GPUs.")
    return lo, tried
