"""coscale.numerics: bit-exact low-precision formats, scaled quantizers and fake-quant training
blocks.  See README.md in this folder for the special-value policies and every disagreement between
ml_dtypes, torch and the OCP/NVIDIA specs.

The format and scheme definitions (`formats`, `schemes`, `policies`, `qlinear_config`) are plain
values and import without torch, so the cost model can derive bytes per element from them.  The
tensor operations (cast, quantize, fake_quant, QuantLinear, ...) need torch (the `lab` extra); the
names below are resolved on first use (PEP 562), so `import coscale.numerics.formats` never loads it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ElementFormat": "formats",
    "get_format": "formats",
    "list_formats": "formats",
    "QuantScheme": "schemes",
    "get_scheme": "schemes",
    "list_schemes": "schemes",
    "make_scheme": "schemes",
    "OperandQuant": "qlinear_config",
    "QuantLinearConfig": "qlinear_config",
    # torch from here on
    "cast": "cast",
    "decode": "cast",
    "encode": "cast",
    "fake_quant": "fake_quant",
    "hadamard_matrix": "hadamard",
    "random_hadamard_transform": "hadamard",
    "ErrorStats": "metrics",
    "quantization_error": "metrics",
    "QuantLinear": "qlinear",
    "QuantizedTensor": "quantize",
    "dequantize": "quantize",
    "quantize": "quantize",
}

__all__ = [
    "ElementFormat",
    "ErrorStats",
    "OperandQuant",
    "QuantLinear",
    "QuantLinearConfig",
    "QuantScheme",
    "QuantizedTensor",
    "cast",
    "decode",
    "dequantize",
    "encode",
    "fake_quant",
    "get_format",
    "get_scheme",
    "hadamard_matrix",
    "list_formats",
    "list_schemes",
    "make_scheme",
    "quantization_error",
    "quantize",
    "random_hadamard_transform",
]

if TYPE_CHECKING:
    from coscale.numerics.cast import cast, decode, encode
    from coscale.numerics.fake_quant import fake_quant
    from coscale.numerics.formats import ElementFormat, get_format, list_formats
    from coscale.numerics.hadamard import hadamard_matrix, random_hadamard_transform
    from coscale.numerics.metrics import ErrorStats, quantization_error
    from coscale.numerics.qlinear import QuantLinear
    from coscale.numerics.qlinear_config import OperandQuant, QuantLinearConfig
    from coscale.numerics.quantize import QuantizedTensor, dequantize, quantize
    from coscale.numerics.schemes import QuantScheme, get_scheme, list_schemes, make_scheme


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'coscale.numerics' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"coscale.numerics.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """`cast`, `fake_quant` and `quantize` are functions named like their modules. Importing such a
    module binds the module onto the package; keep the function there instead, as an eager
    `from .cast import cast` in this file used to."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
