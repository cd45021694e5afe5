"""Sweeps to Parquet: one file, resumable without recomputing finished chunks, the same on every backend."""

from __future__ import annotations

import math
import tomllib

import pyarrow.parquet as pq
import pytest
from tests.explore.conftest import SMALL_SPACE

from coscale.errors import CoscaleError
from coscale.explore import backends
from coscale.explore.space import load_space, parse_space
from coscale.explore.store import ResultStore
from coscale.explore.sweep import run_sweep


def _sorted(table):
    """Rows in design order (stable), NaN written as a string so that equal rows compare equal."""
    rows = table.sort_by([("design", "ascending")]).to_pylist()
    return [{k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def test_sweep_writes_one_file_and_counts_reasons(small_space_file, tmp_path):
    space = load_space(small_space_file)
    seen = []
    out = tmp_path / "r.parquet"
    s = run_sweep(space, out, progress=lambda done, total: seen.append((done, total)))
    t = pq.read_table(out)
    assert t.num_rows == s.points == space.size
    assert not ResultStore(out=out, space=space).parts.exists()
    assert sum(n for _, n in s.reasons) == space.size and dict(s.reasons)["ok"] == s.feasible
    assert seen[0] == (0, space.size) and seen[-1] == (space.size, space.size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_killed_sweep_resumes_without_recomputing(small_space_file, tmp_path, monkeypatch):
    space = load_space(small_space_file)
    out = tmp_path / "r.parquet"
    partial = run_sweep(space, out, stop_after=3)
    assert partial.chunks_computed == 3 and not out.exists()
    store = ResultStore(out=out, space=space)
    assert store.done_chunks() == {0, 1, 2}
    computed = []
    real = backends.run_chunks

    def spy(space_, chunks, **kw):
        computed.extend(chunks)
        return real(space_, chunks, **kw)

    monkeypatch.setattr("coscale.explore.sweep.run_chunks", spy)
    s = run_sweep(space, out)
    assert sorted(computed) == list(range(3, space.num_chunks))
    assert s.chunks_reused == 3 and s.chunks_computed == space.num_chunks - 3
    fresh = tmp_path / "fresh.parquet"
    run_sweep(space, fresh)
    assert _sorted(pq.read_table(out)) == _sorted(pq.read_table(fresh))
    assert set(pq.read_table(out).column("chunk").to_pylist()) == set(range(space.num_chunks))
    computed.clear()
    again = run_sweep(space, out)  # a finished file is not recomputed either
    assert computed == [] and again.chunks_reused == space.num_chunks


def test_partial_output_of_another_space_is_refused(small_space_file, tmp_path):
    out = tmp_path / "r.parquet"
    run_sweep(load_space(small_space_file), out, stop_after=1)
    other = parse_space(tomllib.loads(SMALL_SPACE.replace("max_batch = 128", "max_batch = 64")))
    with pytest.raises(CoscaleError, match="different space"):
        run_sweep(other, out)


def test_finished_results_of_another_space_or_another_file_are_not_overwritten(small_space_file, tmp_path):
    out = tmp_path / "r.parquet"
    run_sweep(load_space(small_space_file), out)
    before = out.read_bytes()
    other = parse_space(tomllib.loads(SMALL_SPACE.replace("max_batch = 128", "max_batch = 64")))
    with pytest.raises(CoscaleError, match="results of a different space"):
        run_sweep(other, out)
    assert out.read_bytes() == before
    junk = tmp_path / "junk.parquet"
    junk.write_text("not a sweep")
    with pytest.raises(CoscaleError, match="something other than a sweep's results"):
        run_sweep(other, junk)
    assert junk.read_text() == "not a sweep"


def test_process_pool_equals_in_process(small_space_file, tmp_path):
    space = load_space(small_space_file)
    run_sweep(space, tmp_path / "a.parquet", workers=1)
    run_sweep(space, tmp_path / "b.parquet", workers=2)
    assert _sorted(pq.read_table(tmp_path / "a.parquet")) == _sorted(pq.read_table(tmp_path / "b.parquet"))


def test_all_infeasible_space_says_why_grouped_by_reason(tmp_path):
    doc = tomllib.loads('[axes]\nmodel = ["llama-3.1-70b"]\nhardware = ["l4"]\n"parallel.tp" = [1, 3]\n')
    with pytest.raises(CoscaleError) as info:
        run_sweep(parse_space(doc), tmp_path / "r.parquet")
    msg = str(info.value)
    assert "every point of the space is infeasible" in msg
    assert "model_does_not_fit 1" in msg and "tp_heads 1" in msg and "\n" not in msg


def test_unknown_backend_and_workers():
    with pytest.raises(CoscaleError, match="unknown backend"):
        backends.run_chunks(None, [], backend="spark")
    with pytest.raises(CoscaleError, match="workers"):
        backends.run_chunks(None, [], workers=0)


def test_all_infeasible_by_slo_says_to_relax_the_limits():
    from collections import Counter

    from coscale.explore.sweep import infeasible_message

    assert "relax the [slo] limits" in infeasible_message(Counter({"slo_ttft": 5, "tp_heads": 1}))
    assert "relax" not in infeasible_message(Counter({"model_does_not_fit": 3}))
