"""MoE token permutation traffic: routed rows gathered, chunk-sorted with EP, and scattered back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.model import MoESpec
from coscale.train.backward import backward_ops
from coscale.train.layout import TrainOptions
from coscale.train.passes import ShardKey, layer_forward_ops, training_pass
from coscale.train.precision import get_training_precision
from coscale.workload.forward_pass import OUTPUT_BYTES


def _permutations(ep: int, micro_batch: int, model: str = "qwen3-30b-a3b") -> dict[str, object]:
    spec = load_model(model)
    key = ShardKey(tp=1, cp=1, ep=ep, micro_batch=micro_batch, seq_len=4096)
    prec = get_training_precision("bf16")
    p = training_pass(key, load_hardware("b200"), prec)
    layer = next(la for la in spec.layers if isinstance(la.ffn, MoESpec))
    ops = layer_forward_ops(spec, layer, p, key, prec, TrainOptions())
    return {op.name: op for op in ops if op.name.startswith("moe.") and "permute" in op.name}


@settings(max_examples=6, deadline=None)
@given(micro_batch=st.integers(1, 4), ep=st.sampled_from([1, 8, 64, 128]))
def test_permutation_bytes_follow_routed_rows_and_the_chunk_sort(micro_batch: int, ep: int) -> None:
    spec = load_model("qwen3-30b-a3b")
    moe = next(la.ffn for la in spec.layers if isinstance(la.ffn, MoESpec))
    ops = _permutations(ep, micro_batch)
    tokens = micro_batch * 4096
    row, tok = tokens * moe.top_k * spec.hidden_size * OUTPUT_BYTES, tokens * spec.hidden_size * OUTPUT_BYTES
    sort = 2.0 * row if 1 < ep < moe.num_experts else 0.0  # several local experts: received chunks re-sorted
    assert ops["moe.permute"].act_bytes == pytest.approx(tok + row + sort)
    assert ops["moe.unpermute"].act_bytes == pytest.approx(tok + row + sort)
    for op in ops.values():  # the backward is the inverse permutation: the same bytes
        (bwd,) = backward_ops(op)
        assert bwd.act_bytes == op.act_bytes


def test_a_dense_layer_has_no_permutation() -> None:
    spec = load_model("llama-3.1-8b")
    key = ShardKey(tp=1, cp=1, ep=1, micro_batch=1, seq_len=4096)
    prec = get_training_precision("bf16")
    p = training_pass(key, load_hardware("b200"), prec)
    ops = layer_forward_ops(spec, spec.layers[0], p, key, prec, TrainOptions())
    assert not [op for op in ops if "permute" in op.name]
