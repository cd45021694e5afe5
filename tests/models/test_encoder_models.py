"""Encoder-only (BERT / XLM-R) and Whisper encoder-decoder models through the loader and the core
step contract: real HF config.json files load from a path, an encoder pass is a bidirectional
prefill (no causal mask), cross-attention reads its encoder memory every step, and the step-cost
table agrees with the exact step cost for these models too."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from coscale.cost.plan import build_plan
from coscale.cost.step import step_cost
from coscale.cost.table import StepCostTable
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models import count_params, load_model
from coscale.models.cache import cross_kv_bytes_per_sequence
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.workload.shape import StepShape

PRESETS = ("bge-large-en-v1.5", "bge-reranker-large", "whisper-large-v3")


def _plan(model, tp: int = 1):  # type: ignore[no-untyped-def]
    hw = load_hardware("h100-sxm")
    return build_plan(model, System(hardware=hw, num_gpus=tp), Parallelism(gpus=tp, tp=tp), get_precision("bf16"))


@pytest.mark.parametrize("pid", PRESETS)
def test_hf_config_file_loads_like_the_preset(pid: str, tmp_path: Path) -> None:
    text = (resources.files("coscale.models") / "presets" / f"{pid}.json").read_text(encoding="utf-8")
    (tmp_path / "config.json").write_text(text, encoding="utf-8")
    from_path, preset = load_model(str(tmp_path)), load_model(pid)
    assert count_params(from_path).total == count_params(preset).total
    assert from_path.layers == preset.layers and from_path.head_outputs == preset.head_outputs
    assert (from_path.encoder is None) == (preset.encoder is None)
    if preset.encoder is not None:
        assert from_path.encoder.layers == preset.encoder.layers


def test_encoder_heads_replace_the_lm_head() -> None:
    bge, rerank = load_model("bge-large-en-v1.5"), load_model("bge-reranker-large")
    assert bge.head_outputs == 1024 and rerank.head_outputs == 1024 + 1  # pooler; dense + 1-label out_proj
    c = count_params(bge)
    assert c.lm_head == 1024 * 1024 + 1024  # the pooler, not a 30522-wide LM head


def test_bidirectional_attention_sees_every_key() -> None:
    """Same layers, causal vs bidirectional: attention FLOPs of a T-token pass are T^2 against
    T(T+1)/2 query-key pairs; everything else is identical."""
    from dataclasses import replace
    bge = load_model("bge-large-en-v1.5")
    causal = replace(bge, layers=tuple(replace(layer, mixer=replace(layer.mixer, causal=True)) for layer in bge.layers))
    t = 512.0

    def attn_flops(model):  # type: ignore[no-untyped-def]
        cost = step_cost(_plan(model), StepShape.of(prefill_chunks=[(t, 0)]))
        return sum(float(c.op.flops) * c.op.count for c in cost.cost.ops if c.op.name == "attn.core")

    assert attn_flops(bge) / attn_flops(causal) == pytest.approx(t * t / (t * (t + 1) / 2))


def test_whisper_cross_attention_reads_its_memory_each_decode_step() -> None:
    """Each decoding sequence reads all 1500 encoder positions' K/V in every cross-attention layer."""
    w = load_model("whisper-large-v3")
    assert w.encoder is not None and w.encoder.max_position_embeddings == 1500
    per_seq = cross_kv_bytes_per_sequence(w, 2)
    assert per_seq == 32 * 1500 * 2 * 1280 * 2
    plan = _plan(w)
    for n in (1, 8, 32):
        cost = step_cost(plan, StepShape.of(decode_contexts=[50] * n))
        cross = sum(float(c.op.cache_bytes) * c.op.count for c in cost.cost.ops if c.op.name == "xattn.core")
        assert cross == pytest.approx(n * per_seq)
    # the memory's K/V projection runs once per request: in its first chunk only
    first = step_cost(plan, StepShape.of(prefill_chunks=[(4, 0)]))
    later = step_cost(plan, StepShape.of(prefill_chunks=[(4, 4)]))
    proj = [sum(float(c.op.flops) * c.op.count for c in s.cost.ops if c.op.name == "xattn.kv_proj")
            for s in (first, later)]
    assert proj[0] == pytest.approx(32 * 2 * 1500 * 2560 * 1280) and proj[1] == 0.0


@pytest.mark.parametrize("pid", ("bge-reranker-large", "whisper-large-v3"))
def test_step_table_matches_exact_for_encoder_families(pid: str) -> None:
    model = load_model(pid)
    plan = _plan(model)
    table = StepCostTable.build(plan, max_tokens=2048, max_seqs=32)
    rng = np.random.default_rng(0)
    top = min(model.max_position_embeddings or 512, 400)
    for _ in range(20):
        chunks = [(int(rng.integers(1, 200)), int(rng.integers(0, 2)) * int(rng.integers(1, 100))) for _ in
                  range(int(rng.integers(1, 5)))]
        decode = rng.integers(1, top - 200, int(rng.integers(0, 8))).tolist()
        shape = StepShape.of(decode_contexts=decode, prefill_chunks=chunks)
        exact = float(step_cost(plan, shape).time_s)
        assert float(table.lookup(shape)[0]) == pytest.approx(exact, rel=0.01)
        got = table.step(len(decode), float(sum(decode)), chunks)[0]
        assert got == pytest.approx(exact, rel=0.01)


def test_whisper_memory_reserves_cross_kv_per_sequence() -> None:
    from coscale.cost.inference_memory import ServingMemoryModel, weight_bytes_per_gpu
    w = load_model("whisper-large-v3")
    par, recipe = Parallelism(gpus=1), get_precision("bf16")
    mm = ServingMemoryModel.of(w, par, recipe, 80e9)
    assert mm.ssm_per_seq == cross_kv_bytes_per_sequence(w, 2)
    assert mm.kv_stages[0][0] == 32 * 2 * 1280 * 2  # per-token KV: self-attention only
    assert weight_bytes_per_gpu(w, par, recipe) == pytest.approx(2 * count_params(w).total, rel=0.01)


def test_bad_encoder_configs_are_one_line(tmp_path: Path) -> None:
    cfg = json.loads((resources.files("coscale.models") / "presets" / "bge-large-en-v1.5.json").read_text())
    cfg["hidden_act"] = "relu"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CoscaleError, match="hidden_act='relu' is not supported"):
        load_model(str(tmp_path))
    w = json.loads((resources.files("coscale.models") / "presets" / "whisper-large-v3.json").read_text())
    del w["max_source_positions"]
    (tmp_path / "config.json").write_text(json.dumps(w))
    with pytest.raises(CoscaleError, match="max_source_positions"):
        load_model(str(tmp_path))
