"""Chunked prefill per engine: TensorRT-LLM (as trtllm-serve) runs a context whole in one iteration, so
a prompt that does not fit a step's free budget waits for the next step; `--chunked-prefill` starts
it in the leftover budget instead. `--no-chunked-prefill` turns any engine's chunking off."""

from __future__ import annotations

import json

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.serve.metrics import Slo, request_arrays
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run

from .cli_run import run_cli as cli

# three 5,000-token prompts at once: the first starts alone on the idle engine; in the next step the
# budget (8,192 tokens) holds the second whole and 3,192 tokens of the third
THREE = WorkloadSpec(concurrency=3, num_requests=3, input_len=5000, output_len=4)


def _scheduled_and_first(d: Deployment) -> tuple[np.ndarray, np.ndarray]:
    res, _ = run(d, THREE, Slo(), overload=False)
    r = request_arrays(res)
    return r.scheduled_s, r.first_token_s


def test_trtllm_runs_a_context_whole_and_chunking_starts_it_in_the_leftover_budget():
    base = Deployment(model="llama-3.1-8b", engine="trtllm")
    assert build(base).sched.chunked_prefill is False
    start, first = _scheduled_and_first(base)
    assert start[1] == first[0] and start[2] == first[1]  # whole: the third waits for a step of its own
    start_c, first_c = _scheduled_and_first(Deployment(model="llama-3.1-8b", engine="trtllm", chunked_prefill=True))
    assert start_c[1] == start_c[2] == first_c[0]  # chunked: the third starts in the second's step
    assert first_c[1] > first[1]  # ... which, 8,192 tokens long, ends later


def test_a_prompt_over_the_step_budget_needs_chunking():
    w = WorkloadSpec(concurrency=1, num_requests=1, input_len=10_000, output_len=4)
    with pytest.raises(CoscaleError, match="--chunked-prefill"):
        run(Deployment(engine="trtllm"), w, Slo(), overload=False)
    _, rep = run(Deployment(engine="trtllm", chunked_prefill=True), w, Slo(), overload=False)
    assert rep["completed"] == 1
    with pytest.raises(CoscaleError, match="--chunked-prefill"):  # vLLM chunks by default; off on request
        run(Deployment(engine="vllm", chunked_prefill=False), w, Slo(), overload=False)


def test_reserving_every_block_needs_only_the_prompt_in_one_step():
    # TensorRT-LLM reserves a request's whole KV at admission, so nothing is preempted and recomputed:
    # a prompt of 8,000 tokens with 1,000 to generate fits an 8,192-token step
    w = WorkloadSpec(concurrency=1, num_requests=1, input_len=8000, output_len=1000)
    _, rep = run(Deployment(engine="trtllm"), w, Slo(), overload=False)
    assert rep["completed"] == 1
    # vLLM may preempt it and then recomputes prompt + output in one step
    with pytest.raises(CoscaleError, match="cannot be prefilled in one step"):
        run(Deployment(engine="vllm", chunked_prefill=False), w, Slo(), overload=False)


def test_compiled_engine_agrees_without_chunking():
    d = Deployment(model="llama-3.1-8b", engine="trtllm", gpus=2)
    w = WorkloadSpec(rate=3.0, num_requests=80, input_len=3000, output_len=64, length_dist="lognormal",
                     input_max=8000, seed=3)
    py, _ = run(d, w, Slo(), engine="python")
    cc, _ = run(d, w, Slo(), engine="compiled")
    assert cc.engine == "compiled"
    a, b = request_arrays(py), request_arrays(cc)
    np.testing.assert_array_equal(a.first_token_s, b.first_token_s)
    np.testing.assert_array_equal(a.finish_s, b.finish_s)


def test_cli_flag_and_scenario_key(monkeypatch, capsys, tmp_path):
    base = ("serve", "simulate", "--engine", "trtllm", "--concurrency", "2", "--num-requests", "2",
            "--input-len", "5000", "--output-len", "4", "--json")
    code, out, err = cli(monkeypatch, capsys, *base)
    assert code == 0, err
    assert json.loads(out)["chunked_prefill"] is False
    code, out, err = cli(monkeypatch, capsys, *base, "--chunked-prefill")
    assert code == 0, err
    assert json.loads(out)["chunked_prefill"] is True
    long = ("serve", "simulate", "--concurrency", "1", "--num-requests", "1", "--input-len", "10000",
            "--output-len", "4", "--no-chunked-prefill")
    code, _, err = cli(monkeypatch, capsys, *long)
    assert code == 2 and err.count("\n") == 1 and "--chunked-prefill" in err
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"engine": "trtllm", "chunked_prefill": "yes"}))
    code, _, err = cli(monkeypatch, capsys, "serve", "simulate", "--scenario", str(f), "--concurrency", "1",
                       "--num-requests", "1")
    assert code == 2 and "must be true or false" in err


def test_compare_pools_and_disaggregated_scenarios_carry_the_choice(monkeypatch, capsys, tmp_path):
    from coscale.serve.compare import CompareSpec, _pool

    spec = CompareSpec(engine="trtllm", gpus=8, chunked_prefill=True)
    assert build(_pool(spec, "h100-sxm", 1, (1, 1))).sched.chunked_prefill is True
    assert build(_pool(CompareSpec(engine="trtllm", gpus=8), "h100-sxm", 1, (1, 1))).sched.chunked_prefill is False
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"mode": "disaggregated", "engine": "trtllm", "chunked_prefill": True,
                             "prefill": {"gpus": 1}, "decode": {"gpus": 1}, "kv_link": "nvlink"}))
    code, out, err = cli(monkeypatch, capsys, "serve", "simulate", "--scenario", str(f), "--rate", "1",
                         "--num-requests", "4", "--input-len", "9000", "--output-len", "4", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["prefill"]["chunked_prefill"] is True and rep["decode"]["chunked_prefill"] is True
    f.write_text(json.dumps({"mode": "disaggregated", "engine": "trtllm",
                             "prefill": {"gpus": 1}, "decode": {"gpus": 1}, "kv_link": "nvlink"}))
    code, _, err = cli(monkeypatch, capsys, "serve", "simulate", "--scenario", str(f), "--rate", "1",
                       "--num-requests", "4", "--input-len", "9000", "--output-len", "4", "--json")
    assert code == 2 and err.count("\n") == 1 and "--chunked-prefill" in err
