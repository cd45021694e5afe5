"""Small contracts of the numerics API the other tests leave implicit: integer format limits (two's
complement), the dtypes codes come back in, seeded stochastic rounding, and exact inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coscale.numerics import cast, encode, fake_quant, formats, get_format, quantization_error, quantize
from coscale.numerics.reference import reference_cast


@pytest.mark.parametrize(("name", "bits"), [("int8", 8), ("int4", 4)])
@pytest.mark.parametrize("fresh", [False, True])
def test_integer_formats_are_twos_complement(name: str, bits: int, fresh: bool) -> None:
    # fresh: the registry's cached table rebuilt (its entries are built once per process)
    f = formats._build.__wrapped__()[name] if fresh else get_format(name)
    assert f.kind == "int" and f.bits == bits
    assert f.max == 2 ** (bits - 1) - 1 and f.min == -(2 ** (bits - 1))  # int8: 127 / -128, int4: 7 / -8
    assert f.min_normal == 1.0 and f.min_subnormal == 1.0 and not f.has_inf and not f.has_nan
    assert f.mantissa_bits == bits - 1 and f.exponent_bits == 0


def test_codes_come_back_as_uint8_in_the_callers_array_type() -> None:
    x = torch.tensor([0.5, -1.0, 448.0, 3.0])
    t = encode(x, "float8_e4m3fn")
    assert isinstance(t, torch.Tensor) and t.dtype == torch.uint8
    assert t.tolist() == [0x30, 0xB8, 0x7E, 0x44]  # OCP OFP8 E4M3 bit patterns of 0.5, -1, 448, 3
    n = encode(x.numpy(), "float8_e4m3fn")
    assert isinstance(n, np.ndarray) and n.dtype == np.uint8 and n.tolist() == t.tolist()
    assert quantize(torch.ones(16), "nvfp4").scale_codes.dtype == torch.uint8


def test_stochastic_rounding_is_seeded_and_not_nearest() -> None:
    x = torch.linspace(0.01, 3.0, 4096)
    a = fake_quant(x, "mxfp4", rounding="stochastic", seed=7)
    b = fake_quant(x, "mxfp4", rounding="stochastic", seed=7)
    near = fake_quant(x, "mxfp4")
    assert torch.equal(a, b)  # the seed fixes the draw
    assert not torch.equal(a, near)  # and it is not round-to-nearest
    assert not torch.equal(a, fake_quant(x, "mxfp4", rounding="stochastic", seed=8))
    xn = x.numpy()  # the numpy path draws its own generator
    an = fake_quant(xn, "mxfp4", rounding="stochastic", seed=7)
    assert isinstance(an, np.ndarray) and np.array_equal(an, fake_quant(xn, "mxfp4", rounding="stochastic", seed=7))
    assert not np.array_equal(an, fake_quant(xn, "mxfp4"))
    e1 = cast(torch.tensor([3.0] * 256), "float8_e8m0fnu", rounding="stochastic", seed=1)
    e2 = cast(torch.tensor([3.0] * 256), "float8_e8m0fnu", rounding="stochastic", seed=1)
    assert torch.equal(e1, e2) and set(e1.tolist()) == {2.0, 4.0}  # 3 rounds to 2 or 4, the same both times


def test_exactly_representable_input_has_infinite_qsnr() -> None:
    stats = quantization_error(torch.tensor([1.0, -2.0, 0.5, 4.0] * 8), "mxfp8_e4m3")
    assert stats.qsnr_db == math.inf and stats.rel_rmse == 0.0 and stats.saturated_frac == 0.0
    assert stats.dist == "custom" and stats.seed == -1 and stats.n == 32


def test_reference_cast_works_in_float64() -> None:
    x = np.array([0.1, 1.0 / 3.0], dtype=np.float32)
    out = reference_cast(x, get_format("bfloat16"))
    assert out.dtype == np.float64
    assert out.tolist() == [0.10009765625, 0.333984375]  # nearest bfloat16 values


def test_nvfp4_recipe_is_the_published_one() -> None:
    """NVIDIA's NVFP4 pretraining recipe (arXiv 2509.25149; TE NVFP4BlockScaling): 16x16 weight tiles,
    1x16 activations and gradients, stochastic rounding on both gradient operands, a 16-point random
    Hadamard transform on both Wgrad operands only."""
    from coscale.numerics import QuantLinearConfig

    c = QuantLinearConfig.nvfp4_recipe()
    assert c.fprop_input.scheme == "nvfp4" and c.fprop_input.rounding != "stochastic"
    assert c.fprop_weight.scheme == "nvfp4_2d" and c.dgrad_weight.scheme == "nvfp4_2d"
    assert c.dgrad_grad_output.scheme == "nvfp4" and c.dgrad_grad_output.rounding == "stochastic"
    assert c.wgrad_grad_output.scheme == "nvfp4" and c.wgrad_grad_output.rounding == "stochastic"
    assert c.wgrad_grad_output.hadamard == 16 and c.wgrad_input.hadamard == 16
    assert not c.fprop_input.hadamard and not c.dgrad_grad_output.hadamard


def test_every_registered_scheme_is_found_by_its_own_name() -> None:
    from coscale.numerics import get_scheme, list_schemes

    schemes = list_schemes()
    assert len(schemes) > 20
    for s in schemes:
        assert isinstance(s.name, str) and get_scheme(s.name) is s
    from coscale.numerics import schemes as registry

    fresh = registry._registry.__wrapped__()  # rebuilt, not the cached table
    assert all(name == sch.name for name, sch in fresh.items()) and set(fresh) == {s.name for s in schemes}
