"""The explorer's numbers are `predict inference`'s numbers; infeasible points carry their reason."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coscale.explore.evaluate import Evaluator, result_schema
from coscale.explore.objectives import objective_values
from coscale.explore.space import load_space
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.predict.sweep import METRICS
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision


@pytest.fixture(scope="module")
def table(small_space_file):
    space = load_space(small_space_file)
    ev = Evaluator(space=space)
    import pyarrow as pa

    return space, pa.concat_tables([ev.evaluate_chunk(c) for c in range(space.num_chunks)])


def test_schema_and_size(table):
    space, t = table
    assert t.num_rows == space.size
    assert t.schema.equals(result_schema(space), check_metadata=True)
    assert sorted(set(t.column("design").to_pylist())) == list(range(space.num_designs))


def test_reasons_cover_layout_memory_and_context(table):
    _, t = table
    rows = t.to_pylist()
    reasons = {r["reason"] for r in rows}
    assert {"ok", "tp_heads", "context_too_long"} <= reasons
    for r in rows:
        assert r["feasible"] == (r["reason"] == "ok")
        if r["tp"] == 3:  # 3 divides neither model's 32 query heads
            assert r["reason"] == "tp_heads"
        if r["input_len"] + r["output_len"] > 131072 and r["tp"] != 3:
            assert r["reason"] == "context_too_long"
        if not r["feasible"]:
            assert all(math.isnan(r[m]) for m in (*METRICS, "throughput_per_gpu"))


def test_points_equal_scalar_prediction(table):
    """A sample of feasible points, each recomputed through the scalar `predict inference` path."""
    space, t = table
    rows = [r for r in t.to_pylist() if r["feasible"]]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(rows), size=12, replace=False):
        r = rows[int(i)]
        hw = load_hardware(r["hardware"])
        hw = hw.with_value("memory.hbm.bandwidth_Bps", hw.get("memory.hbm.bandwidth_Bps")
                           * r["scale_memory_hbm_bandwidth_Bps"])
        assert r["memory_hbm_bandwidth_Bps"] == hw.get("memory.hbm.bandwidth_Bps")
        p = predict_inference(InferenceScenario(
            model=load_model(r["model"]), system=System(hardware=hw, num_gpus=r["gpus"]),
            parallel=Parallelism(gpus=r["gpus"], tp=r["tp"], pp=r["pp"], ep=r["ep"]),
            precision=get_precision(r["precision"]),
            request=InferenceRequest(input_len=r["input_len"], output_len=r["output_len"]),
            batch=r["batch"], max_batch=space.max_batch))
        assert r["ttft_s"] == pytest.approx(p.ttft_s, rel=1e-9)
        assert r["tpot_s"] == pytest.approx(p.tpot_s, rel=1e-9)
        assert r["throughput_tok_s"] == pytest.approx(p.throughput_tok_s, rel=1e-9)
        assert r["memory_per_gpu_bytes"] == pytest.approx(p.memory.total, rel=1e-9)
        assert r["throughput_per_gpu"] == pytest.approx(p.throughput_tok_s / r["gpus"], rel=1e-9)
        assert r["cost_per_mtok"] == pytest.approx(2.0 * r["gpus"] / 3600 / p.throughput_tok_s * 1e6, rel=1e-9)


def test_objectives_come_from_the_one_objectives_module(small_space_file):
    space = load_space(small_space_file)
    ev = Evaluator(space=space)
    isl, osl, batch = space.workload_grid()
    res = ev.evaluate_design(space.design(0), isl, osl, batch)
    t = ev.evaluate_chunk(0)
    got = t.filter(t.column("design").to_numpy() == 0).column("tokens_per_s_per_user").to_numpy()
    np.testing.assert_array_equal(got, objective_values(res.sweep, "tokens_per_s_per_user"))


def test_auto_batch_is_the_largest_that_fits(tmp_path):
    path = tmp_path / "auto.toml"
    path.write_text('max_batch = 512\n[axes]\nmodel = "llama-3.1-8b"\nhardware = "h100-sxm"\n'
                    '"workload.input_len" = [2048]\n"workload.output_len" = [512]\n', encoding="utf-8")
    space = load_space(path)
    row = Evaluator(space=space).evaluate_chunk(0).to_pylist()[0]
    p = predict_inference(InferenceScenario(
        model=load_model("llama-3.1-8b"), system=System(hardware=load_hardware("h100-sxm"), num_gpus=1),
        parallel=Parallelism(), precision=get_precision("bf16"),
        request=InferenceRequest(input_len=2048, output_len=512), batch=None, max_batch=512))
    assert row["batch"] == p.batch and row["throughput_tok_s"] == pytest.approx(p.throughput_tok_s, rel=1e-9)


def test_slo_violations_are_kept_and_marked(table):
    import tomllib

    import pyarrow as pa
    from tests.explore.conftest import SMALL_SPACE

    from coscale.explore.query import front_of
    from coscale.explore.space import parse_space

    _, plain = table
    ok = np.asarray(plain.column("feasible"))
    ttft = np.asarray(plain.column("ttft_s"))
    tpot = np.asarray(plain.column("tpot_s"))
    ttft_limit, tpot_limit = float(np.median(ttft[ok])), float(np.median(tpot[ok]))
    slo_space = parse_space(tomllib.loads(SMALL_SPACE + f"\n[slo]\nttft_s = {ttft_limit!r}\ntpot_s = {tpot_limit!r}\n"))
    ev = Evaluator(space=slo_space)
    t = pa.concat_tables([ev.evaluate_chunk(c) for c in range(slo_space.num_chunks)])
    assert t.num_rows == plain.num_rows
    reason = np.asarray(t.column("reason").to_pylist())
    feasible = np.asarray(t.column("feasible"))
    old_reason = np.asarray(plain.column("reason").to_pylist())
    # other reasons are untouched; SLO reasons only replace "ok", TTFT first
    assert np.array_equal(reason[~ok], old_reason[~ok])
    assert np.array_equal(feasible, reason == "ok")
    assert np.array_equal(reason[ok] == "slo_ttft", ttft[ok] > ttft_limit)
    assert np.array_equal(reason[ok] == "slo_tpot", (ttft[ok] <= ttft_limit) & (tpot[ok] > tpot_limit))
    assert (reason == "slo_ttft").any() and (reason == "slo_tpot").any() and feasible.any()
    # violators keep their metrics but lose their objectives, so no front holds them
    slo = np.isin(reason, ("slo_ttft", "slo_tpot"))
    for m in METRICS:
        assert np.array_equal(np.asarray(t.column(m)), np.asarray(plain.column(m)), equal_nan=True)
    for o in slo_space.objectives:
        values = np.asarray(t.column(o))
        assert np.isnan(values[slo]).all() and np.array_equal(values[feasible], np.asarray(plain.column(o))[feasible])
    front = front_of(t, ("throughput_per_gpu", "tokens_per_s_per_user"))
    assert front.num_rows and set(front.column("reason").to_pylist()) == {"ok"}


def test_design_table_applies_the_slo_like_the_sweep(table):
    """The gymnasium environment's lookup marks SLO violators exactly as the Parquet sweep does."""
    import tomllib

    import pyarrow as pa
    from tests.explore.conftest import SMALL_SPACE

    from coscale.explore.design_table import DesignTable
    from coscale.explore.space import parse_space

    _, plain = table
    ok = np.asarray(plain.column("feasible"))
    limit = float(np.median(np.asarray(plain.column("tpot_s"))[ok]))
    space = parse_space(tomllib.loads(SMALL_SPACE + f"\n[slo]\ntpot_s = {limit!r}\n"))
    swept = pa.concat_tables([Evaluator(space=space).evaluate_chunk(c) for c in range(space.num_chunks)])
    lookup = DesignTable(space=space, objective=space.objectives[0])
    rows = [lookup.row(d) for d in range(space.num_designs)]
    from_table = np.concatenate([r.feasible for r in rows])
    reasons = [reason for r in rows for reason in r.reason]
    assert np.array_equal(np.sort(from_table), np.sort(np.asarray(swept.column("feasible"))))
    assert sorted(reasons) == sorted(swept.column("reason").to_pylist())
    assert "slo_tpot" in reasons
    assert all(np.isnan(r.objective[~r.feasible]).all() for r in rows)
