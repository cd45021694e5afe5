"""Discrete what-ifs: each is a real design change, judged through the same evaluation."""

from __future__ import annotations

from tests.feedback.conftest import DECODE_HEAVY, LONG_PROMPT

from coscale.explore.feedback.whatif import run_whatifs, with_fp4
from coscale.explore.feedback.workload import parse_workload
from coscale.hardware.catalog import load_hardware


def _whatifs(hw, spec, prefill=None):
    w = parse_workload(spec)
    return {x.name: x for x in run_whatifs(hw, w.entries, "throughput_per_gpu", None, prefill)}


def test_fp4_doubles_fp8_when_absent(h100):
    chip = with_fp4(h100)
    assert chip.compute.fp4 == 2 * h100.compute.fp8
    assert "nvfp4" in chip.compute.block_scaled_formats
    b200 = load_hardware("b200")
    assert with_fp4(b200).compute.fp4 == b200.compute.fp4  # a chip with FP4 units keeps its own rate


def test_fp4_helps_compute_bound_prefill_most(h100):
    prefill = _whatifs(h100, LONG_PROMPT)["fp4_tensor_cores"]
    decode = _whatifs(h100, DECODE_HEAVY)["fp4_tensor_cores"]
    assert prefill.gain > decode.gain > 0
    assert prefill.gain <= 1.0 + 1e-9  # twice the rate at most doubles throughput


def test_capacity_pays_only_through_a_larger_batch(h100):
    fixed = _whatifs(h100, DECODE_HEAVY)["hbm_capacity_1.5x"]
    assert fixed.gain == 0.0
    auto = _whatifs(h100, dict(model="llama-3.1-70b", precision="fp8", input_len=2048, output_len=512, tp=2))
    assert auto["hbm_capacity_1.5x"].gain > 0.1  # the batch grows, so does throughput


def test_nvlink_domain_pays_when_tp_spans_domains(h100):
    spans = _whatifs(h100, dict(model="llama-3.1-70b", precision="fp8", input_len=1024, output_len=256, tp=16,
                                batch=32))
    assert spans["nvlink_domain_72"].gain > 0.5
    assert spans["nvlink_domain_72"].bound_before == "network"
    inside = _whatifs(h100, DECODE_HEAVY)
    assert inside["nvlink_domain_72"].gain == 0.0


def test_compute_dense_prefill_pool(h100, dense_chip_file):
    dense = load_hardware(str(dense_chip_file))
    long_prompt = _whatifs(h100, LONG_PROMPT, dense)["prefill_pool"]
    decode = _whatifs(h100, DECODE_HEAVY, dense)["prefill_pool"]
    assert long_prompt.gain > 0.3  # prefill dominates and runs on 2x the tensor rate
    assert 0 <= decode.gain < long_prompt.gain
