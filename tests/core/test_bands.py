"""Error bands: Student-t quantiles, the fallback chain, leave-one-out coverage, rate/time symmetry, and the
shipped residuals equal what the current model predicts."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.validation.bands import (
    BandKey,
    ErrorBand,
    Residual,
    band_for,
    leave_one_out,
    load_residuals,
    student_t_quantile,
)
from coscale.validation.runner import residuals, run_all


@pytest.mark.parametrize(("df", "table"), [(3, 1.638), (4, 1.533), (5, 1.476), (10, 1.372), (30, 1.310)])
def test_t_quantile_matches_tables(df: int, table: float) -> None:
    assert student_t_quantile(0.9, df) == pytest.approx(table, abs=2e-3)


def _r(i: int, family: str, kind: str, x: float, phase: str = "inference") -> Residual:
    return Residual(id=f"c{i}", family=family, phase=phase, model_kind=kind, log_ratio=x)


def test_fallback_to_coarser_group_when_cell_is_small() -> None:
    rs = [_r(i, "a", "dense", 0.1 * i) for i in range(6)] + [_r(10 + i, "b", "moe", 1.0) for i in range(2)]
    band = band_for(BandKey(family="b", phase="inference", model_kind="moe"), rs)
    assert band is not None and band.group == "inference" and band.cases == 8
    fine = band_for(BandKey(family="a", phase="inference", model_kind="dense"), rs)
    assert fine is not None and fine.group == "a x inference x dense" and fine.cases == 6
    assert band_for(BandKey(family="a", phase="train", model_kind="dense"), rs) is None
    left = band_for(BandKey(family="a", phase="inference", model_kind="dense"), rs, exclude="c0")
    assert left is not None and left.cases == 5 and left.group == fine.group  # c0 left out, 5 still enough
    rs5 = [r for r in rs if r.id != "c5"]
    thin = band_for(BandKey(family="a", phase="inference", model_kind="dense"), rs5, exclude="c0")
    assert thin is not None and thin.cases == 6 and thin.group == "inference"  # 4 left: fall back to the phase


def test_leave_one_out_coverage_near_nominal_on_normal_residuals() -> None:
    rng = random.Random(7)
    rs = [_r(i, "a", "dense", rng.gauss(0.2, 0.1)) for i in range(400)]
    share = leave_one_out(rs)["share_inside"]
    assert 0.74 <= share <= 0.86


@given(lo=st.floats(-1, 1), width=st.floats(0, 1), value=st.floats(1e-3, 1e6))
def test_rate_and_time_bands_are_reciprocal(lo: float, width: float, value: float) -> None:
    band = ErrorBand(lo=lo, hi=lo + width, level=0.8, cases=9, group="g")
    r_lo, r_hi = band.interval(value, "rate")
    t_lo, t_hi = band.interval(1.0 / value, "time")
    assert r_lo <= r_hi and t_lo <= t_hi
    assert math.isclose(r_lo, 1.0 / t_hi, rel_tol=1e-9) and math.isclose(r_hi, 1.0 / t_lo, rel_tol=1e-9)


def test_over_prediction_puts_the_band_below_the_prediction() -> None:
    band = band_for(BandKey(family="a", phase="inference", model_kind="dense"),
                    [_r(i, "a", "dense", 0.5 + 0.01 * i) for i in range(6)])
    assert band is not None
    _, high = band.interval(100.0, "rate")
    assert high < 100.0


def test_shipped_residuals_match_the_current_model() -> None:
    fresh = {r.id: r for r in residuals(run_all())}
    shipped = {r.id: r for r in load_residuals()}
    assert fresh.keys() == shipped.keys(), "run `coscale validate --write-residuals`"
    for cid, r in fresh.items():
        s = shipped[cid]
        assert (s.family, s.phase, s.model_kind) == (r.family, r.phase, r.model_kind), cid
        assert s.log_ratio == pytest.approx(r.log_ratio, abs=1e-5), f"{cid}: run `coscale validate --write-residuals`"


def test_predict_json_carries_the_band() -> None:
    out = CliRunner().invoke(app, ["predict", "inference", "--model", "llama-3.1-8b", "--precision", "fp8", "--json"])
    assert out.exit_code == 0, out.output
    band = json.loads(out.output)["error_band_80"]
    for metric in ("ttft_s", "tpot_s", "throughput_tok_s"):
        assert 0 < band[metric]["low"] < band[metric]["high"]
    assert band["cases"] >= 5 and band["group"].startswith("nvidia-hopper")


def test_predict_train_json_carries_the_band() -> None:
    args = ["predict", "train", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "8",
            "--global-batch", "64", "--seq-len", "4096", "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    band = d["error_band_80"]
    for metric in ("step_time_s", "tokens_per_s_per_gpu", "mfu"):
        assert 0 < band[metric]["low"] < band[metric]["high"]
    # a time band and a rate band describe the same uncertainty: low step time <-> high throughput
    ratio = d["step_time_s"] / band["step_time_s"]["low"]
    assert band["tokens_per_s_per_gpu"]["high"] == pytest.approx(d["tokens_per_s_per_gpu"] * ratio, rel=1e-9)
