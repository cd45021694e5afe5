"""The verifier passes what the explorer finds feasible and fails what breaks a rule, a bound or a claim."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

from coscale.cost.plan import build_plan
from coscale.explore.evaluate import Evaluator
from coscale.explore.query import front_of
from coscale.explore.space import Design, load_space
from coscale.explore.verify import roofline_violations, verify_design
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.workload.shape import StepShape

CLAIMED = ("ttft_s", "tpot_s", "throughput_tok_s", "memory_per_gpu_bytes")


def _design(row: dict, space) -> Design:
    return Design(model=row["model"], hardware=row["hardware"],
                  scales=tuple((p, row[f"scale_{p.replace('.', '_')}"]) for p, _ in space.scalings),
                  precision=row["precision"], kv_precision=None if row["kv_precision"] == "default"
                  else row["kv_precision"], tp=row["tp"], pp=row["pp"], ep=row["ep"], gpus=row["gpus"])


@pytest.fixture(scope="module")
def front(small_space_file):
    space = load_space(small_space_file)
    ev = Evaluator(space=space)
    table = pa.concat_tables([ev.evaluate_chunk(c) for c in range(space.num_chunks)])
    return space, ev, front_of(table, ("throughput_per_gpu", "tokens_per_s_per_user")).to_pylist()


def test_front_designs_pass_with_their_claims(front):
    space, ev, rows = front
    assert rows
    for r in rows:
        v = verify_design(_design(r, space), input_len=r["input_len"], output_len=r["output_len"], batch=r["batch"],
                          claimed={k: r[k] for k in CLAIMED}, evaluator=ev)
        assert v.passed, v.reasons
        assert {c.name for c in v.checks} == {"layout", "memory_fit", "weights_lower_bound", "kv_conservation",
                                              "roofline", "flop_conservation", "claims"}


def test_wrong_claim_fails(front):
    space, ev, rows = front
    r = rows[0]
    claims = {k: r[k] for k in CLAIMED} | {"throughput_tok_s": r["throughput_tok_s"] * 1.5}
    v = verify_design(_design(r, space), input_len=r["input_len"], output_len=r["output_len"], batch=r["batch"],
                      claimed=claims, evaluator=ev)
    assert not v.passed and v.reasons[0].startswith("claims: throughput_tok_s claimed")


@pytest.mark.parametrize(("design", "batch", "check"), [
    (dict(model="llama-3.1-8b", tp=3), 1, "layout"),  # 3 does not divide 32 heads
    (dict(model="llama-3.1-70b", tp=1), 1, "memory_fit"),  # 141 GB of BF16 weights on one 80 GB H100
    (dict(model="llama-3.1-8b", tp=1), 4096, "memory_fit"),  # the KV cache of 4096 sequences does not fit
])
def test_broken_designs_fail(design, batch, check):
    d = Design(hardware="h100-sxm", scales=(), precision="bf16", kv_precision=None, pp=1, ep=1, gpus=None, **design)
    v = verify_design(d, input_len=2048, output_len=256, batch=batch)
    assert not v.passed and any(reason.startswith(check) for reason in v.reasons)


@pytest.mark.parametrize("model", ["llama-3.1-8b", "qwen3-30b-a3b", "nemotron-h-8b", "deepseek-v3", "gpt-oss-20b"])
def test_conservation_across_architectures(model):
    d = Design(model=model, hardware="b200", scales=(), precision="fp8", kv_precision="fp8", tp=8, pp=1, ep=1,
               gpus=None)
    v = verify_design(d, input_len=4096, output_len=512, batch=4)
    checks = {c.name: c for c in v.checks}
    for name in ("kv_conservation", "flop_conservation", "roofline", "weights_lower_bound"):
        assert checks[name].passed, checks[name].detail


def test_roofline_catches_a_kernel_faster_than_bandwidth():
    """An efficiency above 1 makes GEMMs stream weights faster than HBM allows: the check must say so."""
    hw = load_hardware("h100-sxm")
    plan = build_plan(load_model("llama-3.1-8b"), System(hardware=hw, num_gpus=1), Parallelism(),
                      get_precision("bf16"), efficiency=replace(hw.efficiency, memory_gemm=3.0))
    shape = StepShape.uniform(decode_seqs=1, decode_context=1000)
    assert any("qkv_proj" in v for v in roofline_violations(plan, shape, "decode"))
    honest = build_plan(load_model("llama-3.1-8b"), System(hardware=hw, num_gpus=1), Parallelism(),
                        get_precision("bf16"))
    assert roofline_violations(honest, shape, "decode") == []


def _small(**kw) -> Design:
    base = dict(model="llama-3.1-8b", hardware="h100-sxm", scales=(), precision="bf16", kv_precision=None,
                tp=1, pp=1, ep=1, gpus=None)
    return Design(**(base | kw))


def test_replay_agrees_with_the_analytic_prediction():
    d = _small()
    v = verify_design(d, input_len=512, output_len=128, batch=16, replay=True)
    assert v.passed, v.reasons
    replay = v.checks[-1]
    assert replay.name == "replay"
    assert "simulated" in replay.detail and "analytic" in replay.detail and "300 requests" in replay.detail
    assert "replay" not in {c.name for c in verify_design(d, input_len=512, output_len=128, batch=16).checks}


def test_replay_of_a_scaled_chip_uses_the_scaled_chip():
    # 2x HBM bandwidth: a decode-bound design gets faster in both the prediction and the simulation
    d = _small(scales=(("memory.hbm.bandwidth_Bps", 2.0),))
    fast = verify_design(d, input_len=1024, output_len=256, batch=64, replay=True).checks[-1]
    slow = verify_design(_small(), input_len=1024, output_len=256, batch=64, replay=True).checks[-1]
    assert fast.passed and slow.passed, (fast.detail, slow.detail)

    def simulated(detail: str) -> float:
        return float(detail.split()[1])

    assert simulated(fast.detail) > 1.2 * simulated(slow.detail)


def test_replay_fails_when_prediction_and_simulation_disagree(monkeypatch):
    # an analytic throughput 1.5x too high must be caught by the replay
    import coscale.explore.verify as verify

    real = verify.predict_inference_sweep

    def inflated(*args, **kwargs):
        s = real(*args, **kwargs)
        return replace(s, throughput_tok_s=s.throughput_tok_s * 1.5)

    monkeypatch.setattr(verify, "predict_inference_sweep", inflated)
    check = verify.replay_check(_small(), Evaluator().plan(_small()), input_len=512, output_len=128, batch=16)
    assert not check.passed and "throughput" in check.detail


def test_replay_skips_what_the_simulator_does_not_model():
    d = _small(model="qwen3-30b-a3b", tp=1, ep=2)
    check = verify_design(d, input_len=512, output_len=128, batch=8, replay=True).checks[-1]
    assert check.name == "replay" and check.passed and check.detail.startswith("not replayed")


@pytest.mark.slow
def test_front_designs_pass_the_replay(front):
    # the explorer's winners hold up in the request-level simulator (~3 s: slow)
    space, ev, rows = front
    for r in rows:
        v = verify_design(_design(r, space), input_len=r["input_len"], output_len=r["output_len"], batch=r["batch"],
                          evaluator=ev, replay=True)
        assert v.passed, v.reasons
