"""The batched front of a results file equals the in-memory front of the whole table, whatever the batch size."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from coscale.explore.query import front_of, front_of_file
from coscale.explore.space import load_space
from coscale.explore.sweep import run_sweep


@pytest.fixture(scope="module")
def results(small_space_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("front") / "r.parquet"
    run_sweep(load_space(str(small_space_file)), out)
    return out


@pytest.mark.parametrize("objectives", [("throughput_per_gpu", "tokens_per_s_per_user"),
                                        ("throughput_per_gpu", "tokens_per_s_per_user", "cost_per_mtok")])
@pytest.mark.parametrize("batch_rows", [7, 100, 10**6])
def test_batched_front_equals_the_whole_table_front(results, objectives, batch_rows) -> None:
    whole = front_of(pq.read_table(results), objectives)
    batched = front_of_file(results, objectives, batch_rows=batch_rows)
    assert whole.num_rows > 1
    assert batched.to_pylist() == whole.to_pylist()
