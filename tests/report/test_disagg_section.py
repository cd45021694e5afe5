"""The disaggregated prefill/decode section: every chip pair is screened, a matched pair's rate per GPU is
the harmonic combination of its two pool rates, a same-chip pair never beats aggregated under the
static screen, the rates are the ones `serve compare` screens with, and a chip that cannot hold the
model is skipped with the reason (no traceback)."""

from __future__ import annotations

import re
import shlex
from itertools import product
from pathlib import Path

import pytest
import typer

from coscale.cli.app import app
from coscale.cli.serve_options import check_workload_mode
from coscale.report.html.disagg import MAX_GPUS, disagg_section
from coscale.report.html.page import _disagg_body
from coscale.report.html.readings import disagg_reading
from coscale.serve.compare import CompareSpec, screen_disaggregated
from coscale.serve.workload import LENGTH_PRESETS


def _pairs(s: dict) -> list[dict]:
    return [r for r in s["rows"] if r["mode"] == "disaggregated" and r["skipped"] is None]


def test_every_chip_pair_and_every_aggregated_chip_is_a_row(default_report):
    s = default_report["disaggregated"]
    chips = default_report["scenario"]["hardware"]
    pairs = {(r["prefill_hardware"], r["decode_hardware"]) for r in s["rows"] if r["mode"] == "disaggregated"}
    assert pairs == set(product(chips, chips)) and len(pairs) == len(chips) ** 2
    assert sorted(r["prefill_hardware"] for r in s["rows"] if r["mode"] == "aggregated") == sorted(chips)
    assert len(s["rows"]) == len(chips) ** 2 + len(chips)
    ranked = [r for r in s["rows"] if r["skipped"] is None]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert [r["rps_per_gpu"] for r in ranked] == sorted((r["rps_per_gpu"] for r in ranked), reverse=True)


def test_matched_pair_rate_is_the_harmonic_combination(default_report):
    s = default_report["disaggregated"]
    pools = {p["hardware"]: p for p in s["pools"]}
    price, mean_out = s["usd_per_gpu_hour"], s["mean_output_tokens"]
    assert _pairs(s)
    for r in _pairs(s):
        rp, rd = pools[r["prefill_hardware"]]["prefill_rps_per_gpu"], pools[r["decode_hardware"]]["decode_rps_per_gpu"]
        assert (r["prefill_rps_per_gpu"], r["decode_rps_per_gpu"]) == (rp, rd)
        harmonic = 1 / (1 / rp + 1 / rd)
        assert r["rps_per_gpu_ideal"] == pytest.approx(harmonic, rel=1e-12)
        n_p, n_d = r["prefill_gpus"], r["decode_gpus"]
        assert n_p + n_d <= MAX_GPUS and r["p_to_d"] == f"{n_p}:{n_d}"
        # the integer split: the smaller pool's rate over all its GPUs, within rounding of the exact ratio
        assert r["rps_per_gpu"] == pytest.approx(min(n_p * rp, n_d * rd) / (n_p + n_d), rel=1e-12)
        best = max(min(a * rp, b * rd) / (a + b) for a in range(1, MAX_GPUS) for b in range(1, MAX_GPUS + 1 - a))
        assert r["rps_per_gpu"] == pytest.approx(best, rel=1e-12) and r["rps_per_gpu"] <= harmonic * (1 + 1e-12)
        assert n_p / n_d == pytest.approx(rd / rp, rel=0.35) and r["ideal_p_per_d"] == pytest.approx(rd / rp)
        assert r["binds"] == ("prefill" if n_p * rp < n_d * rd else "decode" if n_d * rd < n_p * rp
                              else "neither (matched)")
        assert r["usd_per_million_output_tokens"] == pytest.approx(price / 3600 / (r["rps_per_gpu"] * mean_out) * 1e6)


def test_same_chip_pair_never_beats_aggregated_under_the_screen(default_report):
    s = default_report["disaggregated"]
    rows = {(r["mode"], r["prefill_hardware"], r["decode_hardware"]): r for r in s["rows"]}
    for chip in default_report["scenario"]["hardware"]:
        agg, same = rows[("aggregated", chip, chip)], rows[("disaggregated", chip, chip)]
        assert agg["rps_per_gpu"] == pytest.approx(same["rps_per_gpu_ideal"], rel=1e-12)  # equal at the exact ratio
        assert same["rps_per_gpu"] <= agg["rps_per_gpu"] * (1 + 1e-12)
        assert agg["rank"] < same["rank"]
    best = s["best_aggregated"]
    assert best["rps_per_gpu"] == max(r["rps_per_gpu"] for r in s["rows"] if r["mode"] == "aggregated")
    for r in _pairs(s):
        assert r["vs_best_aggregated"] == pytest.approx(r["rps_per_gpu"] / best["rps_per_gpu"] - 1)


def test_pool_rates_are_the_ones_serve_compare_screens(default_report):
    s = default_report["disaggregated"]
    top = s["best_pair"]
    dep = s["deployment"]
    spec = CompareSpec(model=dep["model"], hardware=top["prefill_hardware"], prefill_hardware=top["prefill_hardware"],
                       decode_hardware=top["decode_hardware"], gpus=2, tps=(1,), precision=dep["precision"],
                       kv_precision=dep["kv_precision"], slo_tpot_p99_s=s["tpot_s"])
    one_one = screen_disaggregated(spec, s["mean_input_tokens"], s["mean_output_tokens"])[0]
    assert (one_one["prefill_instances"], one_one["decode_instances"]) == (1, 1)
    assert one_one["prefill_rps"] == top["prefill_rps_per_gpu"] and one_one["decode_rps"] == top["decode_rps_per_gpu"]


def test_compare_command_is_a_valid_serve_compare_line(default_report):
    s = default_report["disaggregated"]
    top, sc = s["best_pair"], default_report["scenario"]
    args = shlex.split(s["compare_command"])
    assert args[:3] == ["coscale", "serve", "compare"]
    group = typer.main.get_command(app)
    ctx = group.commands["serve"].commands["compare"].make_context("compare", args[3:])  # parses, does not run
    p = ctx.params
    rec = default_report["recommended"]
    assert (p["model"], p["precision"], p["kv_precision"]) == (rec["model"], rec["precision"], sc["kv_precision"])
    assert (p["prefill_hardware"], p["decode_hardware"]) == (top["prefill_hardware"], top["decode_hardware"])
    assert p["gpus"] == top["prefill_gpus"] + top["decode_gpus"]
    assert p["hardware"] == s["best_aggregated"]["prefill_hardware"]
    assert p["length_dist"] == sc["length_dist"]
    # a length preset brings its own means: the line gives none beside it (serve compare refuses them)
    lengths = (None, None) if sc["length_dist"] in LENGTH_PRESETS else (sc["input_len"], sc["output_len"])
    assert (p["input_len"], p["output_len"]) == lengths
    check_workload_mode({"rate": 1.0, "input_len": p["input_len"], "output_len": p["output_len"],
                         "length_dist": p["length_dist"]})
    assert (p["slo_ttft_p99"], p["slo_tpot_p99"]) == (sc["slo"]["ttft_s"], sc["slo"]["tpot_s"])


def test_page_section_quotes_the_table_and_the_command(default_report, default_page: Path):
    text = default_page.read_text(encoding="utf-8")
    m = re.search(r'<section id="disaggregated">(.*?)</section>', text, re.S)
    assert m
    body = m.group(1)
    s = default_report["disaggregated"]
    assert "rate-matching screen" in body and "no KV-transfer time" in body
    assert body.count("<tr>") == len(s["rows"]) + 1
    assert s["compare_command"].replace("coscale ", "", 1) in body
    assert "disaggregated serving is not modelled" not in text and "aggregated replicas only" not in text


def test_chip_that_cannot_hold_the_model_is_skipped_with_the_reason():
    rec = {"model": "qwen3-30b-a3b", "hardware": "h100-sxm", "precision": "bf16"}
    s = disagg_section(rec, ["h100-sxm", "l4"], None, 1024, 128, 2.0, 0.1, "fixed", None)
    pools = {p["hardware"]: p for p in s["pools"]}
    assert pools["l4"]["prefill_rps_per_gpu"] is None and "24 GiB" in pools["l4"]["skipped"]
    assert pools["h100-sxm"]["skipped"] is None
    skipped = [r for r in s["rows"] if r["skipped"] is not None]
    assert len(skipped) == 4 and all("l4" in (r["prefill_hardware"], r["decode_hardware"]) for r in skipped)
    assert all("24 GiB" in r["skipped"] for r in skipped)
    assert [(r["mode"], r["prefill_hardware"], r["decode_hardware"]) for r in s["rows"] if r["skipped"] is None] == [
        ("aggregated", "h100-sxm", "h100-sxm"), ("disaggregated", "h100-sxm", "h100-sxm")]
    assert s["rows"][0]["usd_per_million_output_tokens"] is None  # no price in the scenario
    reading = disagg_reading(s)
    assert "skipped (does not fit): l4" in reading and "no split beats aggregated on h100-sxm" in reading
    assert "skipped because" in _disagg_body(s) and "$ per M" not in _disagg_body(s)


def test_no_decode_batch_meets_the_tpot_limit():
    rec = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "precision": "bf16"}
    s = disagg_section(rec, ["h100-sxm"], None, 1024, 128, 2.0, 1e-5, "fixed", 3.0)
    assert s["pools"][0]["prefill_rps_per_gpu"] > 0 and s["pools"][0]["decode_rps_per_gpu"] is None
    assert "TPOT" in s["pools"][0]["skipped"]
    assert s["best_pair"] is None and s["compare_command"] is None
    assert all(r["skipped"] for r in s["rows"])
    assert "no chip of the scenario can serve it" in disagg_reading(s)
    _disagg_body(s)
