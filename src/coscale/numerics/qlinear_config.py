"""What each of a linear layer's three GEMMs quantizes: `OperandQuant` and `QuantLinearConfig`.

Six operands, one optional `OperandQuant` each (None = that operand stays high precision):
forward y = x W^T (fprop_input, fprop_weight), grad_x = g W (dgrad_grad_output, dgrad_weight),
grad_W = g^T x (wgrad_grad_output, wgrad_input; reduction over tokens).  Every operand is
quantized along its GEMM's reduction dim, each copy from high precision (row- and column-wise
block quantizations are not transposes of each other; reference/numerics.md pitfall 9).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from coscale.errors import CoscaleError
from coscale.numerics.policies import ROUNDINGS
from coscale.numerics.schemes import get_scheme

GEMM_OPERANDS: dict[str, tuple[str, str]] = {
    "fprop": ("fprop_input", "fprop_weight"),
    "dgrad": ("dgrad_grad_output", "dgrad_weight"),
    "wgrad": ("wgrad_grad_output", "wgrad_input"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class OperandQuant:
    """scheme: registry name; rounding: 'nearest_even' | 'stochastic'; hadamard: RHT block size
    along the reduction dim (applied to both operands of the GEMM); amax_history: 0 = current
    scaling, N > 0 = delayed scaling from the max of the previous N steps' amax (per-tensor only)."""

    scheme: str
    rounding: str = "nearest_even"
    hadamard: int | None = None
    amax_history: int = 0

    def __post_init__(self) -> None:
        sch = get_scheme(self.scheme)
        if self.rounding not in ROUNDINGS:
            raise CoscaleError(f"unknown rounding {self.rounding!r}; use one of {', '.join(ROUNDINGS)}")
        h = self.hadamard
        if h is not None and (h < 1 or h & (h - 1)):
            raise CoscaleError(f"hadamard must be a power of two such as 16, got {h}")
        if self.amax_history < 0:
            raise CoscaleError(f"amax_history must be >= 0, got {self.amax_history}")
        if self.amax_history and sch.granularity != "tensor":
            raise CoscaleError(
                f"amax_history (delayed scaling) needs a per-tensor scheme such as fp8_e4m3_tensor; "
                f"{self.scheme} is {sch.granularity}-scaled, so set amax_history=0"
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class QuantLinearConfig:
    """One optional OperandQuant per GEMM operand; None keeps the operand in high precision."""

    fprop_input: OperandQuant | None = None
    fprop_weight: OperandQuant | None = None
    dgrad_grad_output: OperandQuant | None = None
    dgrad_weight: OperandQuant | None = None
    wgrad_grad_output: OperandQuant | None = None
    wgrad_input: OperandQuant | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if v is not None and not isinstance(v, OperandQuant):
                raise CoscaleError(f"{f.name} must be an OperandQuant or None, got {type(v).__name__}")
        for gemm in GEMM_OPERANDS:
            self.hadamard_of(gemm)

    def operand(self, name: str) -> OperandQuant | None:
        return getattr(self, name)

    def hadamard_of(self, gemm: str) -> int | None:
        """The RHT size of a GEMM: both operands must agree (or only one names it)."""
        a, b = (self.operand(n) for n in GEMM_OPERANDS[gemm])
        ha = a.hadamard if a else None
        hb = b.hadamard if b else None
        if ha and hb and ha != hb:
            raise CoscaleError(
                f"{gemm} operands ask for different Hadamard sizes ({ha} vs {hb}); the rotation must "
                f"be the same on both operands to cancel, so set both to one size"
            )
        return ha or hb

    @staticmethod
    def uniform(op: OperandQuant | None) -> QuantLinearConfig:
        """Same treatment for all six operands."""
        return QuantLinearConfig(**{f: op for pair in GEMM_OPERANDS.values() for f in pair})

    @staticmethod
    def nvfp4_recipe() -> QuantLinearConfig:
        """NVFP4 pretraining recipe (arXiv 2509.25149 / TE NVFP4BlockScaling): 16x16 weight tiles,
        1x16 activations and gradients, stochastic rounding on gradients, 16-point RHT on Wgrad."""
        act, w = OperandQuant(scheme="nvfp4"), OperandQuant(scheme="nvfp4_2d")
        grad = OperandQuant(scheme="nvfp4", rounding="stochastic")
        return QuantLinearConfig(
            fprop_input=act,
            fprop_weight=w,
            dgrad_grad_output=grad,
            dgrad_weight=w,
            wgrad_grad_output=OperandQuant(scheme="nvfp4", rounding="stochastic", hadamard=16),
            wgrad_input=OperandQuant(scheme="nvfp4", hadamard=16),
        )
