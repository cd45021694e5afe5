"""Activation quantization kernels of a serving engine (coscale.workload.quantize), by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cost.plan import build_plan
from coscale.cost.step import step_cost
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import STORAGE_FORMATS, get_precision
from coscale.workload.build import forward_ops
from coscale.workload.forward_pass import OUTPUT_BYTES, ForwardPass
from coscale.workload.shape import StepShape


def make_pass(act: str, seqs: float, new: float, *, casts: bool = True, tp: int = 1) -> ForwardPass:
    f = STORAGE_FORMATS
    cls = f[act].compute_class
    return ForwardPass.single("prefill", seqs, new, 0, tp=tp, weights=f[act], activations=f[act],
                              kv_cache=f["fp8"], gemm_class=cls, attention_class="bf16",
                              quantize_gemm_inputs=casts)


def casts(ops):
    return [o for o in ops if o.name.endswith(".quantize")]


@settings(max_examples=25, deadline=None)
@given(act=st.sampled_from(["fp8", "nvfp4", "mxfp8", "int8"]), seqs=st.integers(1, 64), new=st.integers(1, 2048),
       tp=st.sampled_from([1, 2, 4, 8]))
def test_each_quantized_dense_gemm_gets_one_cast_of_its_input_rows(act, seqs, new, tp):
    model = load_model("llama-3.1-70b")
    p = make_pass(act, seqs, new, tp=tp)
    ops = forward_ops(model, p)
    gemms = {o.name: o for o in ops if o.kind == "gemm" and o.name != "lm_head"}
    c = {o.name.removesuffix(".quantize"): o for o in casts(ops)}
    assert set(c) == set(gemms)  # every projection, never the BF16 LM head
    bpe = STORAGE_FORMATS[act].bytes_per_element
    for name, g in gemms.items():
        m, _, k = g.gemm_mnk
        # read the BF16 rows, write them in the activation format (block scales included)
        assert c[name].act_bytes == pytest.approx(m * k * (OUTPUT_BYTES + bpe))
        assert c[name].count == g.count and c[name].kind == "elementwise" and c[name].weight_bytes == 0
    # the pass without casts is the same list minus the casts
    plain = forward_ops(model, replace(p, quantize_gemm_inputs=False))
    assert [o.name for o in plain] == [o.name for o in ops if not o.name.endswith(".quantize")]


@pytest.mark.parametrize("act", ["bf16", "fp16"])
def test_no_cast_when_activations_stay_16_bit(act):
    assert casts(forward_ops(load_model("llama-3.1-8b"), make_pass(act, 4, 128))) == []


def test_weight_only_recipes_cast_nothing():
    f = STORAGE_FORMATS
    p = ForwardPass.single("decode", 8, 1, 512, weights=f["int4"], activations=f["bf16"], kv_cache=f["bf16"],
                           gemm_class="bf16", attention_class="bf16", quantize_gemm_inputs=True)
    assert casts(forward_ops(load_model("llama-3.1-8b"), p)) == []


def test_moe_casts_its_tokens_once_before_the_experts_and_keeps_the_router_bf16():
    model = load_model("qwen3-30b-a3b")
    t = 3 * 700.0
    ops = forward_ops(model, make_pass("nvfp4", 3, 700))
    names = {o.name for o in casts(ops)}
    assert "moe.experts_up.quantize" in names
    assert not {"moe.router.quantize", "moe.experts_down.quantize"} & names
    up = next(o for o in casts(ops) if o.name == "moe.experts_up.quantize")
    # the layer's tokens (not their top-8 copies), hidden wide
    assert up.act_bytes == pytest.approx(t * model.hidden_size * (OUTPUT_BYTES + 0.5 + 1 / 16))


def test_plans_price_casts_only_when_asked_and_they_cost_time():
    model, hw = load_model("llama-3.1-70b"), load_hardware("b200")
    args = (model, System(hardware=hw, num_gpus=1), Parallelism(gpus=1), get_precision("nvfp4", "fp8"))
    shape = StepShape.uniform(decode_seqs=256, decode_context=1024)
    off, on = build_plan(*args), build_plan(*args, gemm_input_casts=True)
    assert not off.gemm_input_casts and casts([c.op for c in step_cost(off, shape).cost.ops]) == []
    assert len(casts([c.op for c in step_cost(on, shape).cost.ops])) == 4  # per unique layer, count 80
    t_off, t_on = float(step_cost(off, shape).time_s), float(step_cost(on, shape).time_s)
    assert t_on > t_off
    # 4 casts per layer (qkv, o, gate-up, down inputs), each at least one kernel floor
    assert t_on - t_off >= 4 * 80 * hw.efficiency.min_kernel_s * (1 - 1e-9)
