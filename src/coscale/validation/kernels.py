"""Predictions for single-kernel and single-collective validation cases, through the same op cost model."""

from __future__ import annotations

from typing import Any

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import collective_time, op_cost
from coscale.hardware.catalog import load_hardware
from coscale.specs.hardware import System
from coscale.workload.ops import VECTOR, Collective, Op


def _system(check: dict[str, Any]) -> System:
    return System(hardware=load_hardware(check["hardware"]), num_gpus=check.get("gpus", 1))


def predict_gemm(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Achieved TFLOP/s of one GEMM: FP4 (NVFP4: half a byte + one E4M3 scale per 16 elements), FP8/INT8
    (1 byte) or BF16/FP16 (2 bytes) operands, BF16 output."""
    m, n, k = check["m"], check["n"], check["k"]
    operand = {"fp4": 0.5 + 1.0 / 16.0, "fp8": 1.0, "int8": 1.0}.get(check["compute_class"], 2.0)
    op = Op(name="gemm", kind="gemm", layer="kernel", count=1, flops=2.0 * m * n * k,
            weight_bytes=n * k * operand, act_bytes=m * k * operand + m * n * 2.0,
            compute_class=check["compute_class"], gemm_mnk=(m, n, k))
    cost = op_cost(op, _system(check), eff)
    return op.flops / cost.time_s / 1e12


def predict_attention(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Achieved TFLOP/s of a FlashAttention forward pass (FLOPs counted as 4*s*s*d per head)."""
    s, d, heads, batch = check["seq"], check["head_dim"], check["heads"], check["batch"]
    keys = s / 2.0 if check["causal"] else float(s)
    flops = 4.0 * batch * heads * s * keys * d
    io = batch * heads * s * d * 2.0 * 4  # q, k, v in, o out
    op = Op(name="attention", kind="attention", layer="kernel", count=1, flops=flops, act_bytes=io,
            compute_class=check["compute_class"], attn_len=keys)
    return flops / op_cost(op, _system(check), eff).time_s / 1e12


def predict_mla_decode(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """FlashMLA-style absorbed MLA decode over a 576-wide BF16 latent cache (512 values)."""
    b, h, ctx, q = check["batch"], check["heads"], check["context"], check["queries"]
    latent, v = 576, 512
    flops = 2.0 * b * q * h * ctx * (latent + v)
    cache = b * ctx * latent * 2.0
    op = Op(name="mla_decode", kind="attention", layer="kernel", count=1, flops=flops, cache_bytes=cache,
            act_bytes=b * q * h * (latent + v) * 2.0, compute_class="bf16", attn_len=float(ctx))
    t = op_cost(op, _system(check), eff).time_s
    return (op.total_bytes / t / 1e9) if check["metric"] == "bandwidth" else flops / t / 1e12


def predict_copy(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Device-to-device copy bandwidth as bandwidth tests count it: bytes read + bytes written per second."""
    size = check["bytes"]
    op = Op(name="copy", kind="elementwise", layer="kernel", count=1, act_bytes=2.0 * size, compute_class=VECTOR)
    return 2.0 * size / op_cost(op, _system(check), eff).time_s / 1e9


def predict_all_reduce_busbw(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """NCCL bus bandwidth: algbw * 2(n-1)/n."""
    n, size = check["gpus"], check["bytes"]
    t = collective_time(Collective(kind="all_reduce", bytes=size, group=n), _system(check).link_for(n), eff)
    return size / t * 2.0 * (n - 1) / n / 1e9


def _deepep_all_to_all_s(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Seconds of one all-to-all of `bytes` per rank over `gpus` ranks on DeepEP's kernels (the K-DEP cases)."""
    n, size = check["gpus"], check["bytes"]
    c = Collective(kind="all_to_all", bytes=size, group=n, backend="deepep")
    return float(collective_time(c, _system(check).link_for(n), eff))


def predict_all_to_all_bw(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Bytes each rank sends to other ranks per second (DeepEP's 'bottleneck bandwidth')."""
    n, size = check["gpus"], check["bytes"]
    return size * (n - 1) / n / _deepep_all_to_all_s(check, eff) / 1e9


def predict_all_to_all_us(check: dict[str, Any], eff: EfficiencyModel) -> float:
    """Microseconds of one all-to-all (DeepEP's low-latency tables)."""
    return _deepep_all_to_all_s(check, eff) * 1e6


KERNEL_PREDICTORS = {
    "gemm": predict_gemm,
    "attention": predict_attention,
    "mla_decode": predict_mla_decode,
    "copy": predict_copy,
    "all_reduce": predict_all_reduce_busbw,
    "all_to_all": predict_all_to_all_bw,
    "all_to_all_us": predict_all_to_all_us,
}
