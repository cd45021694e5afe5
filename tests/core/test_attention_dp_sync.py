"""Attention-DP ranks wait for the most loaded one: prefill synchronisation (predict/phases.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.cost.inference_memory import PREFILL_CHUNK_TOKENS
from coscale.predict.phases import attention_dp_prefill_sync


@settings(max_examples=200, deadline=None)
@given(prompts=st.floats(0.01, 4096), input_len=st.integers(1, 200_000), steps=st.integers(0, 20_000),
       ranks=st.integers(1, 64))
def test_sync_lies_between_one_and_the_rank_count(prompts, input_len, steps, ranks):
    f = float(attention_dp_prefill_sync(prompts, input_len, steps, ranks))
    assert 1.0 - 1e-9 <= f <= ranks + 1e-9


@given(ranks=st.integers(2, 64))
def test_sync_is_one_for_one_rank_or_busy_ranks_and_ranks_for_rare_prefills(ranks):
    assert attention_dp_prefill_sync(3.0, 1000, 999, 1) == 1.0
    assert attention_dp_prefill_sync(500.0, 1000, 100, ranks) == 1.0  # every step prefills on every rank
    assert np.isclose(attention_dp_prefill_sync(1e-6, 1000, 1000, ranks), ranks, rtol=1e-3)


def test_sync_falls_as_prefills_get_more_frequent_and_counts_chunks_of_long_prompts():
    shares = [float(attention_dp_prefill_sync(p, 1000, 1000, 8)) for p in (1, 10, 100, 300, 1000)]
    assert shares == sorted(shares, reverse=True)
    short = attention_dp_prefill_sync(100.0, PREFILL_CHUNK_TOKENS, 1000, 8)
    long = attention_dp_prefill_sync(100.0, 4 * PREFILL_CHUNK_TOKENS, 1000, 8)  # 4 chunks: 4x the busy steps
    q = 100 * 4 / 1000
    assert np.isclose(long, (1 - (1 - q) ** 8) / q) and long < short


def test_sync_evaluates_arrays_elementwise():
    p = np.array([1.0, 50.0, 900.0])
    out = attention_dp_prefill_sync(p, 1000, 999, 8)
    assert out.shape == (3,)
    assert np.allclose(out, [float(attention_dp_prefill_sync(x, 1000, 999, 8)) for x in p])
