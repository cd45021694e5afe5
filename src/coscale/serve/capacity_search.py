"""The highest arrival rate whose run meets p99 TTFT and TPOT limits (MLPerf Server semantics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coscale.errors import CoscaleError, DoesNotFitError
from coscale.serve.engine import Overloaded
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Built, Deployment, WorkloadSpec, run, with_rate


@dataclass(frozen=True, kw_only=True, slots=True)
class RatePoint:
    rate: float
    ok: bool
    report: dict | None  # None when the run was overloaded
    capacity_rps: float | None = None


def evaluate(d: Deployment, w: WorkloadSpec, built: Built, rate: float, ttft_p99: float, tpot_p99: float) -> RatePoint:
    try:
        _, rep = run(d, with_rate(w, rate), Slo(ttft_s=ttft_p99, tpot_s=tpot_p99), built=built)
    except Overloaded as e:
        return RatePoint(rate=rate, ok=False, report=None, capacity_rps=e.capacity_rps)
    ok = rep["ttft_s"]["p99"] <= ttft_p99 and rep["tpot_s"]["p99"] <= tpot_p99  # type: ignore[index]
    return RatePoint(rate=rate, ok=bool(ok), report=rep)


def max_rate(d: Deployment, w: WorkloadSpec, built: Built, ttft_p99: float, tpot_p99: float,
             start_rps: float = 1.0, rel_tol: float = 0.02, max_runs: int = 24) -> tuple[RatePoint, list[RatePoint]]:
    """Double from `start_rps` until a run fails, then bisect to `rel_tol`."""
    return search_rate(lambda rate: evaluate(d, w, built, rate, ttft_p99, tpot_p99), ttft_p99, tpot_p99,
                       start_rps, rel_tol, max_runs)


def search_rate(probe: Callable[[float], RatePoint], ttft_p99: float, tpot_p99: float, start_rps: float = 1.0,
                rel_tol: float = 0.02, max_runs: int = 24) -> tuple[RatePoint, list[RatePoint]]:
    """The highest rate `probe` calls ok: double from `start_rps` until a run fails, then bisect to `rel_tol`."""
    if not (ttft_p99 > 0 and tpot_p99 > 0):
        raise CoscaleError("--slo-ttft-p99 and --slo-tpot-p99 must be > 0 s.")
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
