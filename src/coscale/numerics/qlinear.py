"""`QuantLinear`: a drop-in `nn.Linear` whose three GEMMs run on fake-quantized operands.

The weight and bias stay FP32 master parameters (same init as nn.Linear); each GEMM quantizes
its own operands from those high-precision tensors in a custom autograd Function.  Stochastic
rounding draws from generators seeded by (seed, step, operand) so runs are reproducible; the
delayed-scaling amax histories are registered buffers, so they checkpoint with the model.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coscale.numerics.fake_quant import fake_quant_tensor
from coscale.numerics.formats import get_format
from coscale.numerics.hadamard import hadamard_matrix
from coscale.numerics.qlinear_config import GEMM_OPERANDS, OperandQuant, QuantLinearConfig
from coscale.numerics.rounding import make_generator
from coscale.numerics.schemes import get_scheme

_OPERAND_INDEX = {name: i for i, name in enumerate(n for p in GEMM_OPERANDS.values() for n in p)}


class QuantLinear(nn.Linear):
    """nn.Linear with per-operand quantization of the fprop, dgrad and wgrad GEMMs."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        config: QuantLinearConfig,
        seed: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.config = config
        self.seed = int(seed)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64, device=device))
        for name in _OPERAND_INDEX:
            op = config.operand(name)
            if op is not None and op.amax_history:
                self.register_buffer(f"amax_history_{name}", torch.zeros(op.amax_history, device=device))

    @classmethod
    def from_linear(cls, linear: nn.Linear, config: QuantLinearConfig, *, seed: int = 0) -> QuantLinear:
        q = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            config=config,
            seed=seed,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        with torch.no_grad():
            q.weight.copy_(linear.weight)
            if linear.bias is not None:
                q.bias.copy_(linear.bias)
        return q

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, seed={self.seed}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = int(self.step)
        # a training step advances the stochastic-rounding stream and rolls the amax histories; an
        # eval or no_grad pass (e.g. calibration) does neither
        update = self.training and torch.is_grad_enabled()
        if update:
            self.step += 1
        return _QuantLinearFn.apply(x, self.weight, self.bias, self, step, update)

    def quantize_operand(self, t: torch.Tensor, name: str, step: int, update: bool = False) -> torch.Tensor:
        """Fake-quantize one GEMM operand (already rotated) along its last dim."""
        op: OperandQuant | None = self.config.operand(name)
        if op is None:
            return t
        scheme = get_scheme(op.scheme)
        gen = None
        if op.rounding == "stochastic":
            gen = make_generator(self.seed * 1_000_003 + step * 8 + _OPERAND_INDEX[name])
        scale = self._delayed_scale(t, name, op, update) if op.amax_history else None
        return fake_quant_tensor(t, scheme, rounding=op.rounding, gen=gen, scale=scale)

    def _delayed_scale(self, t: torch.Tensor, name: str, op: OperandQuant, update: bool) -> torch.Tensor:
        """Scale from the max of the previous steps' amax (current amax on the very first step);
        the history rolls only in a training step (TE #825)."""
        hist: torch.Tensor = getattr(self, f"amax_history_{name}")
        amax = t.detach().abs().amax().to(torch.float32)
        past = hist.max()
        ref = torch.where(past > 0, past, amax)
        fmax = get_format(get_scheme(op.scheme).element).max
        scale = torch.where(ref > 0, ref / fmax, torch.ones_like(ref))
        if update:
            with torch.no_grad():
                hist.copy_(torch.roll(hist, 1))
                hist[0] = amax
        return scale


def _rotate_pair(a: torch.Tensor, b: torch.Tensor, size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the same RHT to both operands along the reduction (last) dim, zero-padding it to a
    multiple of `size` first: zeros add nothing to the product, so the GEMM result is unchanged."""
    if not size:
        return a, b
    k = a.shape[-1]
    pad = -k % size
    if pad:
        a, b = F.pad(a, (0, pad)), F.pad(b, (0, pad))
    # one fixed sign vector for the whole run, as TE does: TE's own for the 16-point transform
    m = hadamard_matrix(size, seed="te" if size == 16 else 0).to(device=a.device, dtype=a.dtype)

    def rot(t: torch.Tensor) -> torch.Tensor:
        return (t.reshape(*t.shape[:-1], -1, size) @ m).reshape(t.shape)

    return rot(a), rot(b)


def _qgemm(layer: QuantLinear, gemm: str, a: torch.Tensor, b: torch.Tensor, step: int, update: bool) -> torch.Tensor:
    """a @ b.T with both operands [*, K] quantized along K per the config."""
    name_a, name_b = GEMM_OPERANDS[gemm]
    a, b = _rotate_pair(a, b, layer.config.hadamard_of(gemm))
    return layer.quantize_operand(a, name_a, step, update) @ layer.quantize_operand(b, name_b, step, update).T


class _QuantLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: Any, layer: QuantLinear, step: int, update: bool
    ) -> Any:
        work = torch.promote_types(x.dtype, weight.dtype)
        x2 = x.reshape(-1, x.shape[-1]).to(work)
        w = weight.to(work)
        y = _qgemm(layer, "fprop", x2, w, step, update)
        if bias is not None:
            y = y + bias.to(work)
        ctx.save_for_backward(x2, w)
        ctx.layer, ctx.step, ctx.update, ctx.x_shape, ctx.x_dtype = layer, step, update, x.shape, x.dtype
        ctx.has_bias = bias is not None
        return y.reshape(*x.shape[:-1], weight.shape[0]).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        x2, w = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1]).to(x2.dtype)
        layer, step, update = ctx.layer, ctx.step, ctx.update
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _qgemm(layer, "dgrad", g2, w.T, step, update).reshape(ctx.x_shape).to(ctx.x_dtype)
        if ctx.needs_input_grad[1]:
            gw = _qgemm(layer, "wgrad", g2.T, x2.T, step, update).to(layer.weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g2.sum(0).to(layer.bias.dtype)
        return gx, gw, gb, None, None, None
