"""Where does the lab's real FP8 linear beat real BF16? One layer d -> 4d, forward + backward.

    PYTHONPATH=src python benchmarks/lab_fp8_layer_sweep.py

`RealFp8Linear` (per-tensor current scaling, the `fp8-tensor` recipe: amax, scale, cast and
`torch._scaled_mm` for Fprop, Dgrad and Wgrad) against `RealBf16Linear` (bfloat16 GEMMs), both
timed as the mean of 20 calls after 3 warm-ups, synchronised. On a GPU with FP8 tensor cores it
sweeps d = 512 ... 8192 at 16,384 tokens; elsewhere one tiny shape checks the script (its times say
nothing about FP8). Measured on an NVIDIA H200 (torch 2.11, 2026-12-01): speed-up 0.18x at d=512,
0.36x at 1024, 0.56x at 2048, 0.78x at 4096, 0.88x at 8192 x 8,192 tokens, 1.11x at 8192 x 16,384.
Last line: one JSON object.
"""

from __future__ import annotations

import json
import time

import torch
from torch import nn

from coscale.lab.fp8_real import RealBf16Linear, RealFp8Linear
from coscale.lab.recipes import get_recipe

GPU_SIZES = ((512, 16384), (1024, 16384), (2048, 16384), (4096, 16384), (8192, 8192), (8192, 16384))
CPU_SIZES = ((64, 128),)


def _mean_call_s(layer: nn.Module, x: torch.Tensor, sync, iters: int = 20) -> float:
    for _ in range(3):
        layer(x).sum().backward()
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        layer(x).sum().backward()
    sync()
    return (time.perf_counter() - start) / iters


def main() -> None:
    cuda = torch.cuda.is_available() and torch.cuda.get_device_capability() >= (8, 9)
    device = "cuda" if cuda else "cpu"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    config = get_recipe("fp8-tensor").linears
    rows = []
    for d, tokens in GPU_SIZES if cuda else CPU_SIZES:
        base = nn.Linear(d, 4 * d, bias=False).to(device)
        bf16 = RealBf16Linear(d, 4 * d, bias=False).to(device)
        bf16.load_state_dict(base.state_dict())
        fp8 = RealFp8Linear.from_linear(base, config, seed=0).to(device)
        x = torch.randn(tokens, d, device=device, requires_grad=True)
        t_bf16, t_fp8 = _mean_call_s(bf16, x, sync), _mean_call_s(fp8, x, sync)
        flops = 6.0 * tokens * d * 4 * d  # Fprop + Dgrad + Wgrad
        row = {"d": d, "tokens": tokens, "bf16_ms": t_bf16 * 1e3, "fp8_real_ms": t_fp8 * 1e3,
               "speedup_fp8_over_bf16": t_bf16 / t_fp8, "bf16_tflops": flops / t_bf16 / 1e12,
               "fp8_tflops": flops / t_fp8 / 1e12}
        print(f"d={d} tokens={tokens}: BF16 {row['bf16_ms']:.3f} ms, real FP8 {row['fp8_real_ms']:.3f} ms, "
              f"speed-up {row['speedup_fp8_over_bf16']:.2f}x", flush=True)
        rows.append(row)
    name = torch.cuda.get_device_name() if cuda else "cpu (a check of the script, not an FP8 measurement)"
    print(json.dumps({"benchmark": "lab_fp8_layer_sweep", "device": name, "torch": torch.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
