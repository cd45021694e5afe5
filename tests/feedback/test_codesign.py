"""The `codesign` validation category: published co-design ratios against ratios of two predictions."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from coscale.cost.plan import build_plan
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.phases import inference_phases
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.validation.codesign import load_codesign, max_context, run_codesign, side_hardware
from coscale.validation.runner import run_validation, summarize

PUBLIC_CASES = 60  # ../shared/reference/codesign/cases_public.json


@pytest.fixture(scope="module")
def results():
    return run_codesign()


def test_every_public_case_is_used_or_explained():
    data = load_codesign()
    used = {c["public_id"] for c in data["cases"]}
    skipped = [i for ids in data["not_reproduced"].values() for i in ids]
    assert len(skipped) == len(set(skipped))
    assert not used & set(skipped)
    assert len(used | set(skipped)) == PUBLIC_CASES
    for c in data["cases"]:
        assert c["source"] and c["trust"] and c["published"] > 0


def test_median_error_within_target(results):
    assert len(results) >= 10
    assert statistics.median(abs(r.error) for r in results) <= 0.15


def test_formula_cases_are_exact(results):
    exact = {r.id: r for r in results if r.id in ("A-GQA-01", "A-MLA-02-kv", "A-NH-03-8b", "A-NH-03-56b")}
    assert len(exact) == 4
    assert all(abs(r.error) < 0.005 for r in exact.values())


def test_validate_lists_the_category():
    summary = summarize(run_validation())
    assert summary["median_abs_error_by_category"]["codesign"] <= 0.15


def test_half_compute_design_halves_the_rates():
    side = {"hardware": "a100-sxm-80gb", "hardware_scale": {"compute.*": 0.5}}
    hw, base = side_hardware(side), load_hardware("a100-sxm-80gb")
    assert hw.compute.fp16 == base.compute.fp16 / 2 and hw.compute.compute_units == base.compute.compute_units // 2
    assert hw.memory.hbm.bandwidth_Bps == base.memory.hbm.bandwidth_Bps


def test_nano_v2_fits_128k_on_one_a10g():
    """A-NN2-02 is an inequality (the model was sized so 128k tokens fit a 22 GiB A10G in BF16)."""
    assert max_context({"model": "nemotron-nano-9b-v2", "hardware": "a10g", "precision": "bf16"}) >= 131072


def test_bandwidth_moves_decode_not_prefill():
    """W-LLMC-03 (qualitative): GPT-3 175B, TP4, batch 8, 2048/1024 on 400..3200 GB/s: decode falls, prefill flat."""
    base = load_hardware("a100-sxm-80gb")
    model, par = load_model("gpt3-175b"), Parallelism(gpus=4, tp=4)
    ttft, tpot = [], []
    for bw in (400e9, 800e9, 1600e9, 3200e9):
        plan = build_plan(model, System(hardware=base.with_value("memory.hbm.bandwidth_Bps", bw), num_gpus=4), par,
                          get_precision("fp16"))
        ph = inference_phases(plan, 8.0, 2048, 1024)
        ttft.append(float(ph.ttft_s))
        tpot.append(float(ph.tpot_s))
    assert np.all(np.diff(tpot) < 0) and tpot[0] / tpot[-1] > 4
    assert ttft[0] / ttft[-1] < 1.5
