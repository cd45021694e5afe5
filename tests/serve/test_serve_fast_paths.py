"""The simulator's fast paths give the values of the paths they replace, value for value (not
approximately): the step table's float path for a few prefill chunks and its array path for decode
runs, against the array path and the scalar path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.serve.scenario import Deployment, build


@pytest.fixture(scope="module")
def table():
    return build(Deployment(model="llama-3.1-8b", hardware="h100-sxm")).cost


chunk = st.tuples(st.integers(1, 3000), st.integers(0, 40000))


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(chunk, min_size=2, max_size=64))
def test_few_chunks_equal_the_array_path(table, chunks):
    t = table.table
    arr = np.asarray(chunks, dtype=np.float64)
    ref = t._chunks(np.ones(len(chunks)), arr[:, 0], arr[:, 1], t.plan.efficiency.min_kernel_s)
    assert t._few_chunks(chunks, 0, 0) == tuple(float(x) for x in ref)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=400))
def test_float_sum_is_numpys(values):
    from coscale.cost.table import _numpy_sum
    assert _numpy_sum(values, 0, len(values)) == float(np.sum(np.asarray(values, dtype=np.float64)))


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 1024), mean=st.integers(0, 60000), steps=st.integers(1, 300))
def test_decode_steps_equal_the_scalar_path(table, n, mean, steps):
    t = table.table
    sums = n * mean + n * np.arange(steps)
    tt, ee = t.decode_steps(n, sums.astype(np.float64))
    ref = [t.step(n, float(s)) for s in sums.tolist()]
    assert list(zip(tt.tolist(), ee.tolist(), strict=True)) == ref


def test_decode_run_past_the_table_uses_the_exact_cost(table):
    """Contexts crossing the table's window are costed exactly, step for step as one-step runs."""
    top = table.table.max_context
    ctx = np.array([top - 3, 100, 5000])
    t, e = table.decode_run(ctx, 6)
    one = [table.decode_run(ctx + j, 1) for j in range(6)]
    assert t.tolist() == [float(x[0][0]) for x in one] and e.tolist() == [float(x[1][0]) for x in one]
