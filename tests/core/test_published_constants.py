"""The calibrated efficiency constants of the measured family (nvidia-hopper) against the published
figures they were fitted on, recomputed here from those figures (not read back from the module): a
change to a constant that leaves its publication behind fails.

Sources (numbers copied, as in hardware/efficiency/nvidia-hopper.json):
- DeepGEMM README: FP8 GEMM 4096x7168x16384 at 1358 TFLOP/s on H800 (dense FP8 peak 1979).
- FlashAttention-3 (Shah et al. 2024), abstract: up to 740 TFLOP/s BF16 and close to 1.2 PFLOP/s FP8
  on H100 SXM (dense peaks 989.4 and 1979).
- H100 SXM device copy / STREAM triad: 3.02-3.09 of 3.35 TB/s.
- DeepEP README: intranode dispatch at 153 of ~200 GB/s per direction on H800 (NVLink).
- cuBLAS FP16 GEMM 8192x8192x65536: ~623-627 of 756 TFLOP/s on H100 PCIe.
"""

from __future__ import annotations

import pytest

from coscale.cost.roofline import op_cost
from coscale.hardware.catalog import load_hardware
from coscale.specs.hardware import System
from coscale.workload.ops import Op

HOPPER = load_hardware("h100-sxm").efficiency


@pytest.mark.parametrize(("field", "published", "tol"), [
    ("gemm_peak.fp8", 1358 / 1979, 0.02),
    ("attention_peak.bf16", 740 / 989.4, 0.01),
    ("attention_peak.fp8", 1200 / 1979, 0.01),
    ("memory_stream", 3.05 / 3.35, 0.02),
    ("all_to_all_peak", 153 / 200, 0.02),
])
def test_calibrated_fraction_matches_its_publication(field: str, published: float, tol: float) -> None:
    group, _, key = field.partition(".")
    value = getattr(HOPPER, group)[key] if key else getattr(HOPPER, group)
    assert value == pytest.approx(published, abs=tol)
    assert HOPPER.source(field).kind == "calibrated"


def test_cublas_fp16_case_is_reproduced_with_its_tile_and_wave_losses() -> None:
    """0.80 is below the published 0.83 on purpose: the curve's tile/wave losses bring the predicted
    rate of the published shape back to ~625 of 756 TFLOP/s."""
    m, n, k = 8192, 8192, 65536
    op = Op(name="g", kind="gemm", layer="x", count=1, flops=2.0 * m * n * k, weight_bytes=n * k * 2.0,
            act_bytes=m * k * 2.0 + m * n * 2, compute_class="fp16", gemm_mnk=(m, n, k))
    chip = load_hardware("h100-pcie")
    cost = op_cost(op, System(hardware=chip, num_gpus=1), chip.efficiency)
    assert op.flops / cost.time_s / 1e12 == pytest.approx(625, rel=0.06)
