"""The Pareto filter equals the O(n^2) definition, in every direction, with ties and NaN."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coscale.errors import CoscaleError
from coscale.explore.pareto import BLOCK, pareto_brute_force, pareto_mask
from coscale.explore.query import front_of, parse_objectives

small_values = st.one_of(st.integers(-3, 3).map(float), st.just(float("nan")),
                         st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), k=st.integers(1, 3))
def test_equals_brute_force(data, k):
    n = data.draw(st.integers(0, 60))
    values = data.draw(arrays(np.float64, (n, k), elements=small_values))
    maximize = data.draw(st.lists(st.booleans(), min_size=k, max_size=k))
    np.testing.assert_array_equal(pareto_mask(values, maximize), pareto_brute_force(values, maximize))


@pytest.mark.parametrize("k", [2, 3])
def test_equals_brute_force_across_blocks(k):
    """More points than one block, with many ties (integers), so the block screening is exercised."""
    rng = np.random.default_rng(k)
    values = rng.integers(0, 30, size=(3 * BLOCK + 17, k)).astype(float)
    maximize = [True, False, True][:k]
    np.testing.assert_array_equal(pareto_mask(values, maximize), pareto_brute_force(values, maximize))


def test_front_properties_on_a_large_set():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(20000, 3))
    mask = pareto_mask(values, [True, True, False])
    front, rest = values[mask], values[~mask]
    g = np.array([1, 1, -1])
    # nothing on the front is dominated by anything; everything off it is dominated by a front point
    for p in front[:50]:
        assert not (((values * g) >= p * g).all(axis=1) & ((values * g) > p * g).any(axis=1)).any()
    for p in rest[:200]:
        assert (((front * g) >= p * g).all(axis=1) & ((front * g) > p * g).any(axis=1)).any()


def test_front_of_a_table_keeps_the_configuration_and_sorts():
    t = pa.table({"model": ["a", "b", "c", "d"], "throughput_per_gpu": [10.0, 5.0, 1.0, 4.0],
                  "ttft_s": [3.0, 1.0, 0.5, 2.0]})
    f = front_of(t, ("throughput_per_gpu", "ttft_s"))
    assert f.column("model").to_pylist() == ["a", "b", "c"]  # d is dominated by b


def test_objective_errors():
    with pytest.raises(CoscaleError, match="two or three"):
        parse_objectives("throughput_per_gpu")
    with pytest.raises(CoscaleError, match="ttft_s"):
        parse_objectives("throughput_per_gpu,ttft")
    with pytest.raises(CoscaleError, match="not in this results file"):
        front_of(pa.table({"throughput_per_gpu": [1.0]}), ("throughput_per_gpu", "ttft_s"))
