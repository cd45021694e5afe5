"""The compiled engine gives the Python engine's results value for value: every per-request record,
step-log row and inter-token gap equal as floats, the same events and simulated time, on generated
scenarios (rates, lengths, batch limits, KV pools small enough to preempt, 1-8 replicas, both routers,
decode-first with either victim order / prefill-first / reserve-full admission) and on the golden runs
(`test_serve_golden.py` runs two of them on it); and it steps aside (to Python, saying why) for what it
does not cover. Prefill-first runs get a pool that never runs short: with a short one, prefill-first
can preempt and re-admit forever (both engines alike, so no comparison ends)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.serve.compiled.eligibility import compiled_ineligible
from coscale.serve.core_cost import CoreStepCost
from coscale.serve.dispatch import simulate_auto
from coscale.serve.engine import Overloaded
from coscale.serve.kv import BlockPool
from coscale.serve.metrics import Slo, report, request_arrays
from coscale.serve.replica import Replica
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run
from coscale.serve.workload import ClosedLoop, OpenLoop, arrival_times

MAX_TOKENS, MAX_SEQS = 1024, 64


@pytest.fixture(scope="module")
def built():
    """One table for every generated scenario (their batch limits stay within it)."""
    return {engine: build(Deployment(model="llama-3.1-8b", engine=engine, max_num_seqs=MAX_SEQS,
                                     max_batched_tokens=MAX_TOKENS)) for engine in ("vllm", "sglang", "trtllm")}


def _replicas(b, n, num_blocks, block_size, **sched):
    cfg = dataclasses.replace(b.sched, **sched)
    return [Replica(index=i, cfg=cfg, pool=BlockPool(num_blocks=num_blocks, block_size=block_size,
                                                     caching=cfg.prefix_caching), cost=b.cost) for i in range(n)]


def _workload(seed, n, rate, input_mean, output_mean, arrival="poisson"):
    rng = np.random.default_rng(seed)
    times = arrival_times(arrival, rate, n, rng, 2.0)
    isl = np.maximum(np.rint(rng.exponential(input_mean, n)), 1).astype(np.int64)
    osl = np.maximum(np.rint(rng.exponential(output_mean, n)), 1).astype(np.int64)
    return OpenLoop(requests=tuple(Request(rid=i, arrival_s=float(t), input_tokens=int(a), output_tokens=int(o))
                                   for i, (t, a, o) in enumerate(zip(times, isl, osl, strict=True))))


def assert_same(a, b):
    """Two SimResults agree on every figure the reports are made of."""
    assert (a.simulated_s, a.events) == (b.simulated_s, b.events)
    ra, rb = request_arrays(a), request_arrays(b)
    for f in dataclasses.fields(ra):
        x, y = getattr(ra, f.name), getattr(rb, f.name)
        assert x.dtype == y.dtype and np.array_equal(x, y), f.name
    assert len(a.replicas) == len(b.replicas)
    for p, q in zip(a.replicas, b.replicas, strict=True):
        la, lb = p.log.arrays(), q.log.arrays()
        assert list(la) == list(lb)
        for k in la:
            assert la[k].dtype == lb[k].dtype and np.array_equal(la[k], lb[k]), k
        assert np.array_equal(np.asarray(p.itl_values, dtype=float), np.asarray(q.itl_values, dtype=float))
        assert np.array_equal(np.asarray(p.itl_weights, dtype=float), np.asarray(q.itl_weights, dtype=float))
        assert (p.preemptions, p.samples) == (q.preemptions, q.samples)
    sa = dataclasses.replace(a, wall_s=1.0)
    sb = dataclasses.replace(b, wall_s=1.0)
    slo = Slo(ttft_s=0.5, tpot_s=0.03)
    assert report(sa, slo) == report(sb, slo) or _nan_equal(report(sa, slo), report(sb, slo))


def _nan_equal(x, y):
    return repr(x) == repr(y)


@settings(max_examples=60, deadline=None)
@given(engine=st.sampled_from(("vllm", "sglang", "trtllm")), replicas=st.integers(1, 8),
       router=st.sampled_from(("round_robin", "least_loaded")), seed=st.integers(0, 10**6),
       n=st.integers(1, 120), rate=st.floats(0.5, 200.0), input_mean=st.integers(1, 1500),
       output_mean=st.integers(1, 300), max_num_seqs=st.integers(1, MAX_SEQS),
       max_batched_tokens=st.integers(64, MAX_TOKENS), block_size=st.sampled_from((1, 4, 12, 16, 32)),
       pool_share=st.floats(0.0, 1.0), caching=st.booleans(), overhead=st.sampled_from((0.0, 0.004)),
       arrival=st.sampled_from(("poisson", "gamma", "constant")), victim=st.sampled_from(("newest", "fewest_output")),
       chunked=st.booleans())
def test_compiled_engine_equals_python(built, engine, replicas, router, seed, n, rate, input_mean, output_mean,
                                       max_num_seqs, max_batched_tokens, block_size, pool_share, caching, overhead,
                                       arrival, victim, chunked):
    b = built[engine]
    wl = _workload(seed, n, rate, input_mean, output_mean, arrival)
    longest = max(-(-(q.input_tokens + q.output_tokens) // block_size) for q in wl.requests)
    num_blocks = 2 * longest + int(pool_share * 6 * longest)  # from two of the longest requests to plenty
    if engine == "sglang":  # prefill-first can thrash forever (in either engine) when KV runs short: no preemption
        num_blocks = sum(-(-(q.input_tokens + q.output_tokens) // block_size) for q in wl.requests)
    if not chunked:  # every prompt and output clipped to half a step: a preempted request's recompute fits one
        half = max_batched_tokens // 2
        wl = OpenLoop(requests=tuple(dataclasses.replace(q, input_tokens=min(q.input_tokens, half),
                                                         output_tokens=min(q.output_tokens, half))
                                     for q in wl.requests))
    sched = dict(max_num_seqs=max_num_seqs, max_batched_tokens=max_batched_tokens, prefix_caching=caching,
                 host_overhead_s=overhead, chunked_prefill=chunked)
    if engine == "vllm":
        sched["victim"] = victim
    rc = RouterConfig(policy=router)
    py = simulate_auto(_replicas(b, replicas, num_blocks, block_size, **sched), wl, rc, engine="python")
    co = simulate_auto(_replicas(b, replicas, num_blocks, block_size, **sched), wl, rc, engine="compiled")
    assert (py.engine, co.engine) == ("python", "compiled")
    assert_same(py, co)


def test_generated_scenarios_preempt_and_recompute(built):
    """The equality above covers preemption (and re-admission hitting a preempted request's own cached blocks)."""
    wl = _workload(3, 150, 50.0, 600, 200)
    pool = 2 * max(-(-(q.input_tokens + q.output_tokens) // 16) for q in wl.requests)
    reps = _replicas(built["vllm"], 2, pool, 16, max_num_seqs=MAX_SEQS, max_batched_tokens=512)
    res = simulate_auto(reps, wl, RouterConfig(policy="least_loaded"), engine="compiled")
    r = request_arrays(res)
    assert r.preemptions.sum() > 0 and r.recomputed.sum() > 0
    assert res.sequences.rehit.sum() > 0  # re-admissions took their own keyed blocks back out of the free queue
    py = simulate_auto(_replicas(built["vllm"], 2, pool, 16, max_num_seqs=MAX_SEQS, max_batched_tokens=512), wl,
                       RouterConfig(policy="least_loaded"), engine="python")
    assert_same(py, res)


def test_run_report_is_identical_and_says_which_engine_ran():
    d = Deployment(model="llama-3.1-70b", gpus=8, tp=8)
    w = WorkloadSpec(rate=20.0, duration_s=10.0, length_dist="azure-conv", seed=4)
    b = build(d)
    res_p, rep_p = run(d, w, Slo(ttft_s=1.0), built=b, overload=False, engine="python")
    res_c, rep_c = run(d, w, Slo(ttft_s=1.0), built=b, overload=False)
    assert (res_p.engine, res_c.engine) == ("python", "compiled")
    for k in ("wall_s", "speedup_vs_real_time"):
        rep_p.pop(k), rep_c.pop(k)
    assert rep_p == rep_c


def test_overload_is_reported_alike():
    d = Deployment(model="llama-3.1-8b", max_num_seqs=8, max_batched_tokens=2048)
    w = WorkloadSpec(rate=200.0, num_requests=4000, length_dist="azure-conv", seed=0)
    b = build(d)
    errors = []
    for engine in ("python", "compiled"):
        with pytest.raises(Overloaded) as e:
            run(d, w, Slo(), built=b, engine=engine)
        errors.append((str(e.value), e.value.capacity_rps))
    assert errors[0] == errors[1]


def test_a_step_outside_the_table_falls_back_to_python(built):
    """A table too small for a step: Python costs it exactly; the kernel must not guess, so `auto`
    runs Python and `compiled` refuses."""
    b = built["vllm"]
    small = CoreStepCost(plan=b.cost.plan, max_tokens=MAX_TOKENS, max_seqs=MAX_SEQS,
                         table=dataclasses.replace(b.cost.table, max_context=600))
    small_b = dataclasses.replace(b, cost=small)
    wl = _workload(1, 20, 5.0, 500, 200)
    reps = lambda: _replicas(small_b, 1, 4000, 16)  # noqa: E731
    auto = simulate_auto(reps(), wl, RouterConfig(), engine="auto")
    assert auto.engine == "python"
    assert_same(simulate_auto(reps(), wl, RouterConfig(), engine="python"), auto)
    with pytest.raises(CoscaleError, match="compiled engine cannot run"):
        simulate_auto(reps(), wl, RouterConfig(), engine="compiled")


def test_eligibility_names_what_stays_on_python(built):
    b = built["vllm"]
    reps = _replicas(b, 2, 4000, 16)
    wl = _workload(0, 5, 1.0, 100, 10)
    assert compiled_ineligible(reps, wl, RouterConfig(), None, None) is None
    assert "router kv_aware" in compiled_ineligible(reps, wl, RouterConfig(policy="kv_aware"), None, None)
    closed = ClosedLoop(concurrency=2, isl=np.array([10, 20]), osl=np.array([3, 4]))
    assert "ClosedLoop" in compiled_ineligible(reps, closed, RouterConfig(), None, None)
    hashed = OpenLoop(requests=(Request(rid=0, arrival_s=0.0, input_tokens=64, output_tokens=2, prefix_hashes=(7,)),))
    assert "prefix hashes" in compiled_ineligible(reps, hashed, RouterConfig(), None, None)
    static = _replicas(b, 1, 4000, 16, policy="static")
    assert "static" in compiled_ineligible(static, wl, RouterConfig(), None, None)
    assert "capacity probe" in compiled_ineligible(reps, wl, RouterConfig(), 600.0, None)
    with pytest.raises(CoscaleError, match="unknown simulation engine"):
        simulate_auto(reps, wl, engine="fast")
