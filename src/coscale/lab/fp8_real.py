"""Real FP8 GEMMs on tensor cores: `torch._scaled_mm` on float8 operands, for per-tensor FP8 recipes.

The emulated path (`coscale.numerics.QuantLinear`) rounds each GEMM operand onto the FP8 grid and
multiplies the dequantized FP32 values. This path casts the same operands to `torch.float8_e4m3fn`
/ `torch.float8_e5m2` with the same per-tensor FP32 scale (amax / format max, current or delayed
from the layer's own amax history) and lets `torch._scaled_mm` multiply the 1-byte codes with FP32
accumulation, so the products are the emulated ones up to accumulation order: Fprop x·W^T with E4M3
operands, Dgrad dy·W and Wgrad dy^T·x with the recipe's gradient format (E5M2 in `fp8-tensor`).

`RealBf16Linear` is its BF16 counterpart (real bfloat16 GEMMs with FP32 accumulation instead of
rounding FP32 operands), so the real-FP8 speed-up is measured against real BF16 tensor-core GEMMs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from coscale.lab.layers import Bf16Linear
from coscale.numerics import QuantLinear
from coscale.numerics.formats import get_format
from coscale.numerics.qlinear_config import GEMM_OPERANDS, QuantLinearConfig
from coscale.numerics.scaling import absmax_scale
from coscale.numerics.schemes import get_scheme

BACKENDS = ("emulated", "real")
FP8_DTYPES = {"fp8_e4m3_tensor": torch.float8_e4m3fn, "fp8_e5m2_tensor": torch.float8_e5m2}
# Hopper (sm_90) and Ada (sm_89) are the first NVIDIA architectures with FP8 tensor cores
# (NVIDIA H100 whitepaper; CUDA programming guide, compute capabilities table).
MIN_FP8_CAPABILITY = (8, 9)
ALIGN = 16  # cuBLASLt FP8 GEMMs need K and N multiples of 16 (torch._scaled_mm checks it)


@dataclass(frozen=True, kw_only=True, slots=True)
class GemmBackend:
    """What the lab's linears actually run: `requested` by the user, `effective` on this device."""

    requested: str
    effective: str
    reason: str | None = None  # one line when the request could not be honoured


def real_fp8_supported(config: QuantLinearConfig | None) -> bool:
    """True when every GEMM operand is a per-tensor FP8 scheme, rounded to nearest, unrotated."""
    if config is None:
        return False
    ops = [config.operand(n) for pair in GEMM_OPERANDS.values() for n in pair]
    return all(
        op is not None and op.scheme in FP8_DTYPES and op.rounding == "nearest_even" and not op.hadamard for op in ops
    )


def resolve_backend(requested: str, device: torch.device) -> GemmBackend:
    """`real` runs only where FP8 tensor cores exist (CUDA compute capability >= 8.9)."""
    from coscale.errors import CoscaleError

    if requested not in BACKENDS:
        raise CoscaleError(f"unknown --fp8-backend {requested!r}; use one of {', '.join(BACKENDS)}")
    if requested == "emulated":
        return GemmBackend(requested=requested, effective="emulated")
    if device.type != "cuda":
        return GemmBackend(
            requested=requested,
            effective="emulated",
            reason=f"no FP8 tensor cores on {device.type}: --fp8-backend real falls back to the emulated FP8 GEMMs",
        )
    cap = torch.cuda.get_device_capability(device)
    if cap < MIN_FP8_CAPABILITY:
        return GemmBackend(
            requested=requested,
            effective="emulated",
            reason=f"{torch.cuda.get_device_name(device)} (sm_{cap[0]}{cap[1]}) has no FP8 tensor cores "
            "(needs sm_89+): --fp8-backend real falls back to the emulated FP8 GEMMs",
        )
    return GemmBackend(requested=requested, effective="real")


def to_fp8(t: torch.Tensor, scale: torch.Tensor, scheme: str) -> torch.Tensor:
    """t / scale rounded to nearest-even on the FP8 grid, saturating at the format's max (as the
    emulated quantizer does; a plain cast would give NaN/Inf past it under a delayed scale)."""
    fmax = get_format(get_scheme(scheme).element).max
    return (t.float() / scale).clamp_(-fmax, fmax).to(FP8_DTYPES[scheme])


def scaled_mm(
    a: torch.Tensor, b: torch.Tensor, scale_a: torch.Tensor, scale_b: torch.Tensor, *, align: int | None = None
) -> torch.Tensor:
    """(a·scale_a) @ (b·scale_b)^T in FP32 for FP8 a [M, K] and b [N, K].

    torch._scaled_mm wants a row-major and b^T column-major, K and N multiples of 16 on CUDA:
    both are zero-padded along K (zeros add nothing) and N is padded then sliced off."""
    k, n = a.shape[1], b.shape[0]
    align = (ALIGN if a.is_cuda else 1) if align is None else align
    pad_k, pad_n = -k % align, -n % align
    if pad_k or pad_n:
        a = F.pad(a.view(torch.uint8), (0, pad_k)).view(a.dtype)
        b = F.pad(b.view(torch.uint8), (0, pad_k, 0, pad_n)).view(b.dtype)
    out = torch._scaled_mm(
        a.contiguous(), b.contiguous().t(), scale_a=scale_a, scale_b=scale_b, out_dtype=torch.float32
    )
    return out[:, :n] if pad_n else out


class RealFp8Linear(QuantLinear):
    """A `QuantLinear` whose three GEMMs run as real FP8 GEMMs (same parameters, buffers, scales)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = int(self.step)
        update = self.training and torch.is_grad_enabled()
        if update:
            self.step += 1
        return _RealFp8Fn.apply(x, self.weight, self.bias, self, step, update)

    def operand_fp8(self, t: torch.Tensor, name: str, update: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(FP8 codes, FP32 per-tensor scale) of one operand: current or delayed scaling as configured."""
        op = self.config.operand(name)
        if op.amax_history:
            scale = self._delayed_scale(t, name, op, update)
        else:
            fmt = get_format(get_scheme(op.scheme).element)
            scale = absmax_scale(t.detach().abs().amax().float(), fmt)
        return to_fp8(t, scale, op.scheme), scale.reshape(()).float()


def _gemm(layer: RealFp8Linear, gemm: str, a: torch.Tensor, b: torch.Tensor, update: bool) -> torch.Tensor:
    """a @ b^T, both [*, K], each operand quantized to FP8 along K with its own per-tensor scale."""
    name_a, name_b = GEMM_OPERANDS[gemm]
    qa, sa = layer.operand_fp8(a, name_a, update)
    qb, sb = layer.operand_fp8(b, name_b, update)
    return scaled_mm(qa, qb, sa, sb)


class _RealFp8Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: Any, layer: RealFp8Linear, step: int,
                update: bool) -> Any:
        x2 = x.reshape(-1, x.shape[-1]).float()
        w = weight.float()
        y = _gemm(layer, "fprop", x2, w, update)
        if bias is not None:
            y = y + bias.float()
        ctx.save_for_backward(x2, w)
        ctx.layer, ctx.update, ctx.x_shape, ctx.x_dtype = layer, update, x.shape, x.dtype
        ctx.has_bias = bias is not None
        return y.reshape(*x.shape[:-1], weight.shape[0]).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        x2, w = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1]).float()
        layer, update = ctx.layer, ctx.update
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _gemm(layer, "dgrad", g2, w.t(), update).reshape(ctx.x_shape).to(ctx.x_dtype)
        if ctx.needs_input_grad[1]:
            gw = _gemm(layer, "wgrad", g2.t(), x2.t(), update).to(layer.weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g2.sum(0).to(layer.bias.dtype)
        return gx, gw, gb, None, None, None


class RealBf16Linear(Bf16Linear):
    """BF16 operands on BF16 tensor cores (FP32 accumulation, BF16 output), the real twin of Bf16Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias.bfloat16()
        return F.linear(x.bfloat16(), self.weight.bfloat16(), bias).float()
