"""Which tensor-core class each part of a step runs in, and the notes a plan carries: FP8 attention
only with FP8 activations and an FP8 KV cache (FlashAttention-3 / TRT-LLM FP8 FMHA), weight-only
recipes noted, block-scaled formats without native support noted."""

from __future__ import annotations

import pytest

from coscale.cost.plan import build_plan
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision

MODEL = load_model("llama-3.1-8b")


def plan(hw: str, precision: str, kv: str | None = None):
    return build_plan(MODEL, System(hardware=load_hardware(hw), num_gpus=1), Parallelism(gpus=1),
                      get_precision(precision, kv))


@pytest.mark.parametrize(("hw", "precision", "kv", "gemm", "attention"), [
    ("h100-sxm", "bf16", None, "bf16", "bf16"),
    ("h100-sxm", "fp8", None, "fp8", "bf16"),      # FP8 GEMMs, BF16 KV: attention stays BF16
    ("h100-sxm", "fp8", "fp8", "fp8", "fp8"),      # FP8 activations and KV: FP8 attention
    ("h100-sxm", "bf16", "fp8", "bf16", "bf16"),   # an FP8 cache alone does not make attention FP8
    ("b200", "nvfp4", "fp8", "fp4", "fp8"),        # FP4 GEMMs with an FP8 cache: FP8 attention
    ("a100-sxm-80gb", "fp8", "fp8", "bf16", "bf16"),  # no FP8 units: both fall back to BF16
])
def test_compute_classes(hw: str, precision: str, kv: str | None, gemm: str, attention: str) -> None:
    p = plan(hw, precision, kv)
    assert (p.gemm_class, p.attention_class, p.head_class) == (gemm, attention, "bf16")


def test_notes_name_weight_only_and_emulated_block_scaling() -> None:
    wo = plan("h100-sxm", "int4-weight-only").notes
    assert len(wo) == 1 and wo[0].startswith("weight-only INT4") and "only weight bytes shrink" in wo[0]
    assert plan("h100-sxm", "bf16").notes == ()
    emulated = plan("h100-sxm", "mxfp8").notes
    assert any("no native MXFP8 block scaling" in n and n.startswith(load_hardware("h100-sxm").name)
               for n in emulated)
    assert not any("block scaling" in n for n in plan("b200", "mxfp8").notes)
    assert any("no FP4 tensor cores" in n for n in plan("h100-sxm", "nvfp4").notes)
