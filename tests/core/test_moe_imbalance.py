"""MoE expert-parallel load imbalance: the most loaded EP rank under uniform top-k routing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coscale.workload.ffn import ep_load_imbalance, expected_max_normal


@pytest.mark.parametrize(("n", "exact"), [(2, 0.5642), (4, 1.0294), (8, 1.4236), (32, 2.0697)])
def test_expected_max_normal_matches_order_statistics(n: int, exact: float) -> None:
    assert expected_max_normal(n) == pytest.approx(exact, rel=0.05 if n < 8 else 0.01)


@pytest.mark.parametrize(("experts", "top_k", "ep", "tokens"), [(128, 8, 8, 256), (64, 6, 8, 64), (256, 8, 32, 128)])
def test_matches_a_simulated_router(experts: int, top_k: int, ep: int, tokens: int) -> None:
    rng = np.random.default_rng(0)
    trials = 150
    picks = np.argsort(rng.random((trials, tokens, experts)), axis=-1)[..., :top_k]  # k distinct experts per token
    rank = picks // (experts // ep)
    loads = np.stack([(rank == r).sum(axis=(1, 2)) for r in range(ep)], axis=1)
    simulated = loads.max(axis=1).mean() / (tokens * top_k / ep)
    # loads are slightly negatively correlated (they sum to T*k), so the independent-normal max runs a little high
    assert ep_load_imbalance(experts, top_k, ep, tokens) == pytest.approx(simulated, rel=0.03)


@given(tokens=st.floats(1, 1e7), ep=st.sampled_from([1, 2, 4, 8, 16, 64]))
def test_at_least_balanced_and_vanishing_with_many_tokens(tokens: float, ep: int) -> None:
    f = float(ep_load_imbalance(128, 8, ep, tokens))
    assert f >= 1.0
    assert float(ep_load_imbalance(128, 8, ep, tokens * 4)) <= f + 1e-12
    if ep == 1:
        assert f == 1.0


def test_array_and_scalar_agree() -> None:
    t = np.array([1.0, 10.0, 1000.0])
    arr = ep_load_imbalance(128, 8, 8, t)
    assert np.allclose(arr, [ep_load_imbalance(128, 8, 8, float(x)) for x in t])
