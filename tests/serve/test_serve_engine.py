"""Engine properties: fast-forward equals stepping, token conservation, Little's law, determinism,
scheduler limits."""

from __future__ import annotations

import numpy as np
import pytest

from coscale.serve.engine import simulate
from coscale.serve.metrics import Slo, report, request_arrays
from coscale.serve.router import RouterConfig
from coscale.serve.workload import ClosedLoop, Lengths, OpenLoop, arrival_times, synthetic_requests

from .conftest import assert_identical_runs, run_records


def _open(seed: int, n: int, rate: float, dist: str = "lognormal", inp: int = 600, out: int = 200,
          arrival: str = "poisson") -> OpenLoop:
    rng = np.random.default_rng(seed)
    isl, osl = Lengths(dist=dist, input_len=inp, output_len=out).sample(rng, n)
    isl, osl = np.minimum(isl, 2000), np.minimum(osl, 1000)  # every request fits the smallest pool here
    return OpenLoop(requests=synthetic_requests(arrival_times(arrival, rate, n, rng, cv=2.0), isl, osl))


SCENARIOS = [
    dict(policy="decode_first", num_blocks=4096, max_num_seqs=64, max_batched_tokens=2048),
    dict(policy="decode_first", num_blocks=300, max_num_seqs=64, max_batched_tokens=1024),  # preempts
    dict(policy="prefill_first", num_blocks=300, max_num_seqs=32, victim="fewest_output"),
    dict(policy="static", num_blocks=4096, max_num_seqs=16),
    dict(policy="decode_first", num_blocks=2000, reserve_full=True, max_num_seqs=48),
]


def _run(cost, factory, workload_fn, ff: bool, replicas: int = 1, router: str = "least_loaded", **sc):
    reps = factory(cost, n=replicas, fast_forward=ff, **sc)
    return simulate(reps, workload_fn(), RouterConfig(policy=router))




@pytest.mark.parametrize("sc", SCENARIOS)
def test_fast_forward_identical_to_stepping(cost, replicas_factory, sc):
    wl = lambda: _open(3, 150, rate=6.0)  # noqa: E731
    assert_identical_runs(_run(cost, replicas_factory, wl, ff=True, **sc),
                          _run(cost, replicas_factory, wl, ff=False, **sc))


def test_fast_forward_identical_closed_loop_replicas(cost, replicas_factory):
    def wl():
        rng = np.random.default_rng(5)
        isl, osl = Lengths(dist="exponential", input_len=400, output_len=300).sample(rng, 200)
        return ClosedLoop(concurrency=40, isl=isl, osl=osl)
    for router in ("least_loaded", "round_robin"):
        a = _run(cost, replicas_factory, wl, ff=True, replicas=3, router=router, num_blocks=500)
        b = _run(cost, replicas_factory, wl, ff=False, replicas=3, router=router, num_blocks=500)
        assert run_records(a) == run_records(b)
        assert a.events < b.events


@pytest.mark.parametrize("router", ["round_robin", "least_loaded"])
def test_fast_forward_identical_open_loop_replicas(cost, replicas_factory, router):
    """Several replicas under open-loop arrivals: runs cut at the next arrival where the router's
    choice is known (round-robin), truncated by arrivals where it is not (least-loaded)."""
    wl = lambda: _open(9, 300, rate=25.0, dist="exponential")  # noqa: E731
    a = _run(cost, replicas_factory, wl, ff=True, replicas=3, router=router, num_blocks=800)
    b = _run(cost, replicas_factory, wl, ff=False, replicas=3, router=router, num_blocks=800)
    assert run_records(a) == run_records(b) and a.events < b.events
    for ra, rb in zip(a.replicas, b.replicas, strict=True):
        assert ra.itl_values == rb.itl_values and ra.itl_weights == rb.itl_weights
        la, lb = ra.log.arrays(), rb.log.arrays()
        assert all(np.array_equal(la[k], lb[k]) for k in la)


@pytest.mark.parametrize("sc", SCENARIOS)
def test_token_conservation(cost, replicas_factory, sc):
    res = _run(cost, replicas_factory, lambda: _open(7, 200, rate=8.0), ff=True, **sc)
    assert len(res.sequences) == 200
    for s in res.sequences:
        # every token of input + output (but the last, never fed back) is computed once, plus what
        # preemption discarded, minus what the prefix cache supplied
        assert s.prefilled + s.decoded + s.hit_tokens + s.rehit_tokens == \
            s.req.input_tokens + s.req.output_tokens - 1 + s.discarded
        assert s.generated == s.req.output_tokens
        assert s.first_token_s <= s.finish_s and s.req.arrival_s <= s.scheduled_s <= s.first_token_s
    r = request_arrays(res)
    logged = sum(int(rep.log.arrays()["batch_tokens"].sum()) for rep in res.replicas)
    assert logged == int(r.prefilled.sum() + r.decoded.sum())
    if sc["num_blocks"] == 300 and sc["policy"] == "decode_first":
        assert r.preemptions.sum() > 0 and r.recomputed.sum() > 0


@pytest.mark.parametrize("sc", SCENARIOS)
def test_scheduler_limits(cost, replicas_factory, sc):
    res = _run(cost, replicas_factory, lambda: _open(11, 200, rate=20.0), ff=True, **sc)
    lg = res.replicas[0].log.arrays()
    assert lg["batch_seqs"].max() <= sc.get("max_num_seqs", 256)
    assert lg["kv_blocks"].max() <= sc["num_blocks"]
    if sc["policy"] != "static":
        prefill_steps = lg["prefill_tokens"] > 0
        budget = sc.get("max_batched_tokens", 8192)
        assert (lg["batch_tokens"][prefill_steps] <= budget).all()
    if sc.get("reserve_full") or sc["policy"] == "static":
        assert sum(s.preemptions for s in res.sequences) == 0


def test_littles_law(cost, replicas_factory):
    res = _run(cost, replicas_factory, lambda: _open(13, 3000, rate=10.0, dist="exponential"), ff=True,
               num_blocks=3000, replicas=2)
    r = request_arrays(res)
    # time-average number in system from a sweep over arrivals and completions
    t = np.concatenate([r.arrival_s, r.finish_s])
    d = np.concatenate([np.ones_like(r.arrival_s), -np.ones_like(r.finish_s)])
    o = np.argsort(t, kind="stable")
    t, n = t[o], np.cumsum(d[o])
    window = t[-1] - t[0]
    mean_in_system = float(np.sum(n[:-1] * np.diff(t)) / window)
    assert mean_in_system == pytest.approx(len(r.arrival_s) / window * r.e2e.mean(), rel=1e-9)
    # and the queue: steady throughput equals the arrival rate below saturation
    assert len(r.arrival_s) / window == pytest.approx(10.0, rel=0.08)


def test_deterministic_for_a_seed(cost, replicas_factory):
    import json
    outs = []
    for _ in range(2):
        res = _run(cost, replicas_factory, lambda: _open(21, 300, rate=12.0), ff=True, num_blocks=800, replicas=2)
        d = report(res, Slo(ttft_s=0.5, tpot_s=0.05))
        d.pop("wall_s"), d.pop("speedup_vs_real_time")
        outs.append(json.dumps(d, sort_keys=True))
    assert outs[0] == outs[1]


def test_light_load_latency_is_the_bare_step_cost(cost, replicas_factory):
    """One request alone: TTFT is one prefill step, TPOT the decode steps' mean."""
    from coscale.serve.request import Request
    req = Request(rid=0, arrival_s=1.0, input_tokens=1000, output_tokens=11)
    res = simulate(replicas_factory(cost, num_blocks=1000, max_batched_tokens=8192), OpenLoop(requests=(req,)))
    s = res.sequences[0]
    t_pre, _ = cost.step(np.zeros(0, np.int64), np.array([1000]), np.array([0]))
    assert s.first_token_s - 1.0 == pytest.approx(t_pre)
    dec, _ = cost.decode_run(np.array([1000]), 10)
    assert s.finish_s - s.first_token_s == pytest.approx(dec.sum())


def test_fast_forward_identical_with_the_core_step_cost():
    """The adapter honours the decode-run contract, so the real cost path fast-forwards exactly too."""
    from coscale.serve.router import RouterConfig as Router
    from coscale.serve.scenario import Deployment, WorkloadSpec, build, make_replicas, make_workload

    built = build(Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=2, num_gpu_blocks=3000))
    spec = WorkloadSpec(rate=15.0, num_requests=150, input_len=700, output_len=200, length_dist="exponential",
                        input_max=3000, output_max=1500, seed=4)
    a = simulate(make_replicas(built, fast_forward=True), make_workload(spec), Router())
    b = simulate(make_replicas(built, fast_forward=False), make_workload(spec), Router())
    assert run_records(a) == run_records(b) and a.events < b.events
    t, _ = built.cost.decode_run(np.array([100, 2000, 37]), 40)
    one = [built.cost.decode_run(np.array([100, 2000, 37]) + j, 1)[0][0] for j in range(40)]
    assert t.tolist() == one
