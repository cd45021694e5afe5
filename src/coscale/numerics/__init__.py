"""coscale.numerics: bit-exact low-precision formats, scaled quantizers and fake-quant training
blocks.  Depends on numpy, torch and ml_dtypes only.  See README.md in this folder for the
special-value policies and every disagreement between ml_dtypes, torch and the OCP/NVIDIA specs."""

from coscale.numerics.cast import cast, decode, encode
from coscale.numerics.fake_quant import fake_quant
from coscale.numerics.formats import ElementFormat, get_format, list_formats
from coscale.numerics.hadamard import hadamard_matrix, random_hadamard_transform
from coscale.numerics.metrics import ErrorStats, quantization_error
from coscale.numerics.qlinear import QuantLinear
from coscale.numerics.qlinear_config import OperandQuant, QuantLinearConfig
from coscale.numerics.quantize import QuantizedTensor, dequantize, quantize
from coscale.numerics.schemes import QuantScheme, get_scheme, list_schemes, make_scheme

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
