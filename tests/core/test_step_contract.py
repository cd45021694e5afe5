"""The step contract: mixed steps, array evaluation equal to scalar, the table equal to exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cost.plan import build_plan
from coscale.cost.step import step_cost
from coscale.cost.table import StepCostTable
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.predict.sweep import REASONS, predict_inference_sweep
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.workload.shape import StepShape

# (model, tp, ep, hardware, precision): a dense GQA model, MoE, hybrid Mamba-MoE, MLA + EP, sliding window,
# and MLA + EP over two 8-GPU nodes on DeepEP (its kernels, and so its all-to-all, differ with and without
# prefill tokens in the step)
PLANS = [("llama-3.1-8b", 1, 1, "h100-sxm", "bf16"), ("qwen3-30b-a3b", 2, 1, "h200-sxm", "fp8"),
         ("nemotron-3-nano-30b-a3b", 1, 1, "b200", "nvfp4"), ("deepseek-v3", 8, 8, "h200-sxm", "fp8"),
         ("gpt-oss-20b", 1, 1, "h100-sxm", "mxfp4-weight-only"), ("deepseek-v3", 1, 16, "h100-sxm", "fp8")]
A2A = {5: "deepep"}
_plans: dict[int, object] = {}


def plan_of(i: int):
    if i not in _plans:
        m, tp, ep, hw, prec = PLANS[i]
        gpus = max(tp, ep)
        _plans[i] = build_plan(load_model(m), System(hardware=load_hardware(hw), num_gpus=gpus),
                               Parallelism(gpus=gpus, tp=tp, ep=ep), get_precision(prec), moe_a2a=A2A.get(i, "nccl"))
    return _plans[i]


def test_mixed_step_reads_weights_once():
    plan = plan_of(0)
    decode = step_cost(plan, StepShape.of(decode_contexts=[1000] * 16))
    prefill = step_cost(plan, StepShape.of(prefill_chunks=[(512, 0)]))
    mixed = step_cost(plan, StepShape.of(decode_contexts=[1000] * 16, prefill_chunks=[(512, 0)]))
    weights = sum(float(c.op.weight_bytes) * c.op.count for c in mixed.cost.ops)
    alone = sum(float(c.op.weight_bytes) * c.op.count for s in (decode, prefill) for c in s.cost.ops)
    assert weights < alone  # the decode-only step's weight read is saved
    assert mixed.time_s < decode.time_s + prefill.time_s
    assert mixed.time_s > max(decode.time_s, prefill.time_s)
    phases = {c.op.phase for c in mixed.cost.ops if c.op.kind == "attention"}
    assert phases == {"decode", "prefill"}  # attention costed per group


def test_heterogeneous_decode_sums_per_sequence_work():
    plan = plan_of(0)
    mixed = step_cost(plan, StepShape.of(decode_contexts=[100, 3000]))
    attn = next(c for c in mixed.cost.ops if c.op.name == "attn.core")
    # query-key pairs: (100 + 1) + (3000 + 1) per layer, 32 heads, 2*(128+128) FLOPs each
    assert float(attn.op.flops) == pytest.approx(2 * 32 * (101 + 3001) * 256)


def test_empty_step_costs_nothing_and_bad_shapes_are_refused():
    plan = plan_of(0)
    assert float(step_cost(plan, StepShape.of()).time_s) == 0.0
    with pytest.raises(CoscaleError):
        StepShape.of(decode_contexts=[-1])
    with pytest.raises(CoscaleError):
        StepShape.of(prefill_chunks=[(0, 5)])


def test_step_breakdown_names_efficiency_sources():
    rows = step_cost(plan_of(1), StepShape.of(decode_contexts=[500] * 8)).breakdown()
    assert rows and all(r["time_s"] > 0 for r in rows)
    gemm = next(r for r in rows if r["kind"] == "gemm")
    assert "DeepGEMM" in gemm["efficiency_source"] or "cuBLAS" in gemm["efficiency_source"]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(PLANS) - 1), st.lists(st.tuples(st.integers(0, 64), st.integers(0, 20000),
                                                           st.integers(0, 3), st.integers(1, 3000),
                                                           st.integers(0, 8000)), min_size=1, max_size=6))
def test_array_path_equals_scalar_path(i, rows):
    plan = plan_of(i)
    ds, dc, ps, pn, pp = (np.array(col, dtype=float) for col in zip(*rows, strict=True))
    batch = step_cost(plan, StepShape.uniform(decode_seqs=ds, decode_context=dc, prefill_seqs=ps, prefill_new=pn,
                                              prefill_prefix=pp))
    for j in range(len(rows)):
        one = step_cost(plan, StepShape.of(decode_contexts=[dc[j]] * int(ds[j]),
                                           prefill_chunks=[(pn[j], pp[j])] * int(ps[j])))
        assert batch.time_s[j] == pytest.approx(float(one.time_s), rel=1e-12, abs=1e-15)
        assert batch.energy_j[j] == pytest.approx(float(one.energy_j), rel=1e-12, abs=1e-15)


_tables: dict[int, StepCostTable] = {}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(PLANS) - 1), st.lists(st.integers(0, 16000), max_size=48),
       st.lists(st.tuples(st.integers(1, 4000), st.integers(0, 12000)), max_size=4))
def test_table_within_one_percent_of_exact(i, contexts, chunks):
    if i not in _tables:
        _tables[i] = StepCostTable.build(plan_of(i), max_tokens=16384, max_seqs=256, max_context=16384)
    if not contexts and not chunks:
        return
    if PLANS[i][0] == "gpt-oss-20b":  # sliding window: the table uses the mean decode context
        contexts = [int(np.mean(contexts))] * len(contexts) if contexts else []
    shape = StepShape.of(contexts, chunks)
    exact = step_cost(plan_of(i), shape)
    time, energy = _tables[i].lookup(shape)
    assert time == pytest.approx(float(exact.time_s), rel=0.01)
    assert energy == pytest.approx(float(exact.energy_j), rel=0.01)
    # the scalar fast path the serving simulator calls agrees too
    fast_time, fast_energy = _tables[i].step(len(contexts), float(sum(contexts)), chunks)
    assert fast_time == pytest.approx(float(exact.time_s), rel=0.01)
    assert fast_energy == pytest.approx(float(exact.energy_j), rel=0.01)


@pytest.mark.parametrize("max_tokens", [1, 2, 3])
def test_a_table_of_one_token_steps_is_exact(max_tokens):
    """A step budget of one token (`--max-batched-tokens 1`) still gives an interpolable chunk grid."""
    table = StepCostTable.build(plan_of(0), max_tokens=max_tokens, max_seqs=4, max_context=4096)
    for prefix in (0, 100, 3000):
        shape = StepShape.of(prefill_chunks=[(1, prefix)])
        exact = step_cost(plan_of(0), shape)
        fast_time, _ = table.step(0, 0.0, [(1, prefix)])
        assert fast_time == pytest.approx(float(exact.time_s), rel=0.01)


def test_table_refuses_steps_outside_its_domain():
    table = StepCostTable.build(plan_of(0), max_tokens=1024, max_seqs=64, max_context=4096)
    with pytest.raises(CoscaleError, match="larger limit"):
        table.time_s(StepShape.of(decode_contexts=[10] * 65))
    with pytest.raises(CoscaleError, match="larger limit"):
        table.time_s(StepShape.of(prefill_chunks=[(512, 4000)]))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, len(PLANS) - 1), st.integers(1, 6000), st.integers(1, 3000),
       st.one_of(st.none(), st.integers(1, 300)))
def test_sweep_equals_scalar_prediction(i, isl, osl, batch):
    plan = plan_of(i)
    sweep = predict_inference_sweep(plan, np.array([isl]), np.array([osl]),
                                    None if batch is None else np.array([batch]))
    scenario = InferenceScenario(model=plan.model, system=plan.system, parallel=plan.parallel,
                                 precision=plan.precision, request=InferenceRequest(input_len=isl, output_len=osl),
                                 batch=batch, moe_a2a=plan.moe_a2a)
    try:
        one = predict_inference(scenario)
    except CoscaleError:
        assert REASONS[int(sweep.reason[0])] != "ok"
        return
    assert REASONS[int(sweep.reason[0])] == "ok"
    assert sweep.batch[0] == one.batch
    for name in ("ttft_s", "ttft_single_s", "tpot_s", "throughput_tok_s", "energy_j_per_token"):
        assert getattr(sweep, name)[0] == pytest.approx(getattr(one, name), rel=1e-12)
    assert sweep.memory_per_gpu_bytes[0] == pytest.approx(one.memory.total, rel=1e-12)
    assert sweep.columns()["decode_bound"][0] == one.decode.cost.bound


def test_an_unknown_deepep_mode_is_refused():
    base = plan_of(5)
    with pytest.raises(CoscaleError, match="unknown DeepEP mode 'low-latency'"):
        build_plan(base.model, base.system, base.parallel, base.precision, moe_a2a="deepep", deepep_mode="low-latency")
