"""Max-load benchmark rows through the serving simulator (coscale.validation.maxload)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from coscale.models.registry import load_model
from coscale.specs.precision import get_precision
from coscale.validation.maxload import (
    HOST_S_PER_REQUEST_STEP,
    NUM_REQUESTS,
    HostBoundStepCost,
    host_bound_tok_s,
    num_requests,
    simulate_trtllm_bench,
    trtllm_bench_limits,
)
from coscale.validation.runner import load_cases, run_case

GiB = 2**30


def test_trtllm_bench_limits_worked_example_llama8b_fp8_h100():
    # by hand from tuning.py: 8.03e9 params x 1 B = 7.48 GiB of weights; (80 - 7.48) x 0.95 = 68.9 GiB of KV;
    # 2 x 32 layers x 8 KV heads x 128 x 1 B = 64 KiB per token -> 564 requests of 2000 tokens:
    # batch 128 * ceil(564 / 128) = 640, tokens 564 x (1 + 1000/1000) = 1128 -> the 2048 floor
    model, recipe = load_model("llama-3.1-8b"), get_precision("fp8", "fp8")
    lim = trtllm_bench_limits(model, recipe, 1, 1, 80 * GiB, 1000, 1000)
    assert lim.kv_requests == pytest.approx(564, abs=2)
    assert (lim.max_batch, lim.max_num_tokens) == (640, 2048)
    # prefill-heavy: 518 requests of 2176 tokens; tokens 518 x 17 = 8808 -> 1024 * 9
    lim = trtllm_bench_limits(model, recipe, 1, 1, 80 * GiB, 2048, 128)
    assert (lim.max_batch, lim.max_num_tokens) == (640, 9216)


@pytest.mark.parametrize(("isl", "osl"), sorted(NUM_REQUESTS))
def test_trtllm_bench_limits_follow_the_heuristic_rounding_and_caps(isl, osl):
    recipe = get_precision("nvfp4", "fp8")
    for name, mem in itertools.product(("llama-3.1-8b", "llama-3.1-70b"), (80, 141, 180)):
        model = load_model(name)
        lim = trtllm_bench_limits(model, recipe, 1, 1, mem * GiB, isl, osl)
        assert lim.max_batch >= 64 and lim.max_batch % 32 == 0
        assert 2048 <= lim.max_num_tokens <= 32768 and lim.max_num_tokens % 256 == 0
        assert lim.max_batch <= 4096 and lim.max_batch >= min(lim.kv_requests, 4096)  # rounded up, capped
        more = trtllm_bench_limits(model, recipe, 1, 1, (mem + 40) * GiB, isl, osl)
        assert more.max_batch >= lim.max_batch and more.kv_requests > lim.kv_requests


def test_num_requests_is_the_published_table_and_refuses_other_lengths():
    assert num_requests(1000, 1000) == 3000 and num_requests(20000, 2000) == 1000
    with pytest.raises(ValueError, match="ISL/OSL 1000/999"):
        num_requests(1000, 999)


class _Fixed:
    def __init__(self, t: float):
        self.t = t

    def step(self, decode_contexts, prefill_new, prefill_prefix, group_tokens=None):
        return self.t, 1.0

    def decode_run(self, decode_contexts, steps, group_tokens=None):
        return np.full(steps, self.t), np.ones(steps)


@pytest.mark.parametrize(("gpu_s", "requests"), itertools.product((1e-4, 1e-2, 1.0), (1, 64, 4096)))
def test_host_bound_iteration_is_the_slower_of_gpu_and_host(gpu_s, requests):
    cost = HostBoundStepCost(inner=_Fixed(gpu_s), host_s_per_request=HOST_S_PER_REQUEST_STEP)
    host = requests * HOST_S_PER_REQUEST_STEP
    ctx = np.full(requests, 100)
    t, e = cost.step(ctx, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert t == pytest.approx(max(gpu_s, host)) and e == 1.0
    t2, _ = cost.step(ctx[:-1], np.array([50]), np.array([0]))  # a prefill chunk counts as a request too
    assert t2 == pytest.approx(max(gpu_s, host))
    ts, _ = cost.decode_run(ctx, 3)
    assert np.allclose(ts, max(gpu_s, host))


def test_host_bound_scales_with_attention_dp_ranks():
    assert host_bound_tok_s(8) == pytest.approx(8 * host_bound_tok_s(1))
    assert 25_000 < host_bound_tok_s(1) < 32_000  # the two calibration rows it comes from: 27,911 and 28,312


def test_simulated_row_stays_under_the_host_bound_and_on_the_analytic_side_of_it():
    case = next(c for c in load_cases() if c["id"] == "I-TRT10-llama-31-405b-H100-2048-128")
    simulated, note = simulate_trtllm_bench(case["check"])
    assert 0 < simulated <= host_bound_tok_s(1)
    assert "3000 requests at once" in note and "max_num_tokens 8192" in note
    # the same row without the simulator: the runner's analytic path; the run with ramp-up and drain
    # cannot beat the steady state by more than the scheduling granularity
    analytic = run_case(case).predicted
    sim = run_case(case, simulate=True)
    assert sim.predicted == pytest.approx(simulated)
    assert sim.predicted <= 1.05 * analytic
    assert "simulated trtllm-bench run" in sim.note


def test_expert_parallel_rows_take_the_analytic_path_under_the_host_bound():
    case = next(c for c in load_cases() if c["id"] == "I-TRT10-qwen3-235b-a22b-H200-128-2048")
    r = run_case(case, simulate=True)
    assert r.predicted <= host_bound_tok_s(8)
    assert "not simulated yet" in r.note


def test_trtllm_bench_rows_price_the_pytorch_backend_casts_and_other_cases_do_not():
    from coscale.serve.scenario import Deployment, build
    from coscale.validation.runner import pytorch_backend

    cases = {c["id"]: c["check"] for c in load_cases()}
    bench = cases["I-TRT10-llama-31-70b-B200-2048-128"]
    assert pytorch_backend(bench) and not pytorch_backend(cases["I-MLI41-B200-70B"])
    assert not pytorch_backend(cases["I-TRT6-H100-7B-128"])  # a v0.6 TensorRT engine fuses the cast
    model, recipe = load_model(bench["model"]), get_precision(bench["precision"], bench["kv_precision"])
    lim = trtllm_bench_limits(model, recipe, 1, 1, 180 * GiB, 2048, 128)
    d = Deployment(model=bench["model"], hardware=bench["hardware"], precision=bench["precision"],
                   kv_precision=bench["kv_precision"], engine="trtllm", max_num_seqs=lim.max_batch,
                   max_batched_tokens=lim.max_num_tokens)
    with_casts, without = build(replace(d, gemm_input_casts=True)).cost, build(d).cost
    assert with_casts.plan.gemm_input_casts and not without.plan.gemm_input_casts
    assert with_casts.max_seqs == lim.max_batch + 1 and with_casts.max_tokens >= lim.max_num_tokens
    # the casts cost time: a prefill step of the benchmark's token budget is slower with them
    step = (np.zeros(0), np.array([lim.max_num_tokens]), np.array([0]))
    assert with_casts.step(*step)[0] > without.step(*step)[0]
