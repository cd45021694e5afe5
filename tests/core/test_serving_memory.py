"""The per-plan serving memory model against the per-layer cache count it replaces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cost.inference_memory import ServingMemoryModel, kv_share_per_gpu
from coscale.models.cache import kv_cache_bytes_per_sequence
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.precision import get_precision

# dense GQA, sliding window (alternating), hybrid Mamba (uneven stages), MLA
CASES = [("llama-3.1-8b", 2, 2), ("gpt-oss-20b", 2, 3), ("nemotron-h-8b", 1, 4), ("deepseek-v3", 8, 2)]


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(CASES), st.lists(st.integers(0, 200_000), min_size=1, max_size=8),
       st.sampled_from(["bf16", "fp8"]))
def test_kv_bytes_equal_the_per_layer_count_on_the_fullest_stage(case, contexts, kv):
    name, tp, pp = case
    model = load_model(name)
    par = Parallelism(gpus=tp * pp, tp=tp, pp=pp)
    recipe = get_precision("bf16", kv)
    mem = ServingMemoryModel.of(model, par, recipe, 80 * 2**30)
    size = -(-model.num_layers // pp)
    stages = [model.layers[i:i + size] for i in range(0, model.num_layers, size)]
    bpe = recipe.kv_cache.bytes_per_element
    for ctx in contexts:
        expected = kv_share_per_gpu(model, tp) * max(
            kv_cache_bytes_per_sequence(replace(model, layers=stage), ctx, bpe) for stage in stages)
        assert mem.kv_bytes_per_sequence(np.float64(ctx)) == pytest.approx(expected, rel=1e-12)
    batch = np.arange(1, 9.0)
    grown = mem.memory(batch, 4096, 1024).total
    assert np.all(np.diff(grown) > 0)  # memory grows with the batch (bisection relies on it)
