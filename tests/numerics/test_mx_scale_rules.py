"""The E8M0 block-scale rules, with expected codes computed here from the rules' published text, never
from coscale.numerics.scaling:

- OCP MX v1.0 (Sec. 6.3, "floor"): X = 2^(floor(log2 amax) - emax_elem), the E8M0 code clamped to
  0..254 (0xFF is NaN); emax_elem per the spec's element tables: E4M3 8, E5M2 15, E2M3 2, E3M2 4,
  E2M1 2.
- RCEIL (NVIDIA TE `float_to_e8m0`, PTX `cvt.rp.satfinite.ue8m0x2.f32`; torchao's
  ScaleCalculationMode.RCEIL): X = 2^ceil(log2 v) with v = fp32(amax x fp32(1 / elem_max)), rounded up
  and saturated to 0..254; elem_max per the spec: E4M3 448, E5M2 57344, E2M1 6.
An all-zero block has code 0, a block holding NaN or inf code 0xFF (both rules).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.numerics import quantize

FLOAT32_MAX = float(np.finfo(np.float32).max)
EMAX = {"mxfp8_e4m3": 8, "mxfp8_e5m2": 15, "mxfp6_e2m3": 2, "mxfp6_e3m2": 4, "mxfp4": 2}
ELEM_MAX = {"mxfp8_e4m3_rceil": 448.0, "mxfp8_e5m2_rceil": 57344.0, "mxfp4_rceil": 6.0}


def ocp_floor_code(amax: float, emax: int) -> int:
    if amax == 0:
        return 0
    _, exp = math.frexp(amax)  # amax = mant * 2^exp, mant in [0.5, 1): floor(log2 amax) = exp - 1, exactly
    return min(max(exp - 1 - emax + 127, 0), 254)


def rceil_code(amax: float, elem_max: float) -> int:
    if amax == 0:
        return 0
    v = float(np.float32(amax) * np.float32(1.0 / elem_max))  # IEEE float32 product, as the hardware forms it
    if v == 0:
        return 0
    mant, exp = math.frexp(v)
    ceil_log2 = exp - 1 if mant == 0.5 else exp  # exact powers of two are not rounded up
    return min(max(ceil_log2 + 127, 0), 254)


def codes(amaxes: list[float], scheme: str) -> list[int]:
    """The block code of each amax, each alone in its own 32-element block (with a smaller companion)."""
    x = torch.zeros(len(amaxes), 32, dtype=torch.float32)
    x[:, 0] = torch.tensor(amaxes, dtype=torch.float32)
    x[:, 1] = -x[:, 0] / 3  # a smaller value of the other sign: the amax is |x| over the block
    return quantize(x, scheme).scale_codes.reshape(len(amaxes)).tolist()


def _edges() -> list[float]:
    """Powers of two and their float32 neighbours across the whole float32 range, subnormals included."""
    out = [0.0, 150.0, 448.0, 449.0, 57344.0, 6.0, 7.5, 1.0]
    f32 = np.float32
    for k in range(-149, 128):
        p = f32(2.0) ** f32(k) if k > -127 else f32(2.0**k)
        for v in (p, np.nextafter(p, f32(np.inf)), np.nextafter(p, f32(0))):
            if 0 < v < np.finfo(f32).max:
                out.append(float(v))
    for m in (1.5, 1.75, 448 / 256, 3.0, 7.0):  # mantissas that make amax/elem_max land on or near a power of two
        for k in (-140, -130, -127, -126, -100, -10, 0, 10, 100, 120, 126):
            if m * 2.0**k < float(np.finfo(np.float32).max):
                out.append(float(np.float32(m * 2.0**k)))
    out.append(float(np.finfo(np.float32).max))
    return sorted({float(np.float32(v)) for v in out})


EDGES = _edges()


@pytest.mark.parametrize("scheme", sorted(EMAX))
def test_floor_rule_on_every_power_of_two_and_its_neighbours(scheme: str) -> None:
    assert codes(EDGES, scheme) == [ocp_floor_code(a, EMAX[scheme]) for a in EDGES]


@pytest.mark.parametrize("scheme", sorted(ELEM_MAX))
def test_rceil_rule_on_every_power_of_two_and_its_neighbours(scheme: str) -> None:
    assert codes(EDGES, scheme) == [rceil_code(a, ELEM_MAX[scheme]) for a in EDGES]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=FLOAT32_MAX, width=32, allow_subnormal=True), min_size=1,
                max_size=64))
def test_rceil_and_floor_rules_on_random_float32(amaxes: list[float]) -> None:
    for scheme, elem_max in ELEM_MAX.items():
        assert codes(amaxes, scheme) == [rceil_code(a, elem_max) for a in amaxes], scheme
    assert codes(amaxes, "mxfp8_e4m3") == [ocp_floor_code(a, 8) for a in amaxes]


def test_the_published_examples() -> None:
    """torchao #2035: amax 150 in E4M3 gives RCEIL code 126 (150/448 -> 2^-1); the OCP floor exponent is
    floor(log2 150) - emax = 7 - 8 = -1, code 126 too; an exact power of two is not bumped by RCEIL."""
    assert rceil_code(150.0, 448.0) == 126 and ocp_floor_code(150.0, 8) == 126
    assert codes([150.0], "mxfp8_e4m3_rceil") == [126]
    assert codes([448.0], "mxfp8_e4m3_rceil") == [127]  # 448 * fp32(1/448) rounds to exactly 1.0: no bump
    assert codes([12.0], "mxfp4_rceil") == [128]  # 12 / 6 = 2 exactly: scale 2, the block max maps to 6


def test_special_blocks() -> None:
    x = torch.zeros(3, 32)
    x[1, 4], x[2, 9] = float("nan"), float("-inf")
    for scheme in ("mxfp8_e4m3", "mxfp8_e4m3_rceil", "mxfp4_rceil"):
        assert quantize(x, scheme).scale_codes.reshape(3).tolist() == [0, 0xFF, 0xFF]
