"""Quantize + dequantize throughput per scheme, in GB/s of fp32 input, beside torch.clone.

torch.clone of the same tensor (read + write) in the same run is the memory-bandwidth ceiling;
the `vs_clone` column is throughput / clone throughput.  Goals (issue 3): >= 0.1x for element
casts, >= 0.05x for block-scaled schemes on CPU; >= 0.5x of HBM bandwidth on a GPU.

    python benchmarks/numerics_speed.py [--rows 4096 --cols 4096 --repeat 5 --device cpu|cuda --compile]

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable

import torch

from coscale.numerics import cast, quantize
from coscale.numerics.fake_quant import fake_quant_tensor
from coscale.numerics.formats import get_format
from coscale.numerics.schemes import QuantScheme, get_scheme

ELEMENT_CASTS = ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "bfloat16", "int8"]
SCHEMES = [
    "fp8_e4m3_tensor", "fp8_e5m2_tensor", "fp8_block128", "fp8_block128x128", "mxfp8_e4m3",
    "mxfp8_e4m3_rceil", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4", "nvfp4", "nvfp4_2d",
    "int8_tensor", "int8_channel", "int4_group32", "int4_group128",
]  # fmt: skip


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def best_seconds(fn: Callable[[], object], repeat: int, device: str) -> float:
    fn()  # warm-up (and compilation)
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--compile", action="store_true", help="torch.compile the fake-quant path")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x = torch.randn(args.rows, args.cols, generator=torch.Generator().manual_seed(0)).to(args.device)
    gbytes = x.numel() * 4 / 1e9
    clone_s = best_seconds(lambda: x.clone(), args.repeat, args.device)
    clone_gbs = gbytes / clone_s
    rows: list[dict[str, object]] = []

    def record(name: str, kind: str, path: str, fn: Callable[[], object]) -> None:
        s = best_seconds(fn, args.repeat, args.device)
        rows.append(
            {"name": name, "kind": kind, "path": path, "ms": s * 1e3, "gb_s": gbytes / s,
             "vs_clone": gbytes / s / clone_gbs}
        )  # fmt: skip
        r = rows[-1]
        print(f"{name:22s} {kind:8s} {path:10s} {r['ms']:9.2f} ms {r['gb_s']:8.3f} GB/s  {r['vs_clone']:6.3f}x")

    load = os.getloadavg()[0]
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}, "
          f"load avg {load:.2f}, tensor {args.rows}x{args.cols} fp32 ({gbytes * 1e3:.1f} MB)")  # fmt: skip
    print(f"{'torch.clone':22s} {'ceiling':8s} {'':10s} {clone_s * 1e3:9.2f} ms {clone_gbs:8.3f} GB/s  1.000x")
    for fmt in ELEMENT_CASTS:
        get_format(fmt)
        record(fmt, "cast", "cast", lambda f=fmt: cast(x, f))
    for name in SCHEMES:
        sch = get_scheme(name)
        record(name, "scheme", "qdq", lambda n=name: quantize(x, n).dequantize())

        def fq(t: torch.Tensor, s: QuantScheme = sch) -> torch.Tensor:
            return fake_quant_tensor(t, s)

        if args.compile:
            fq = torch.compile(fq, dynamic=False)
        record(name, "scheme", "fake_quant", lambda f=fq: f(x))
    worst_cast = min(r["vs_clone"] for r in rows if r["kind"] == "cast")
    worst_fq = min(r["vs_clone"] for r in rows if r["path"] == "fake_quant")
    summary = {
        "device": args.device,
        "threads": torch.get_num_threads(),
        "load_avg_1min": load,
        "shape": [args.rows, args.cols],
        "clone_gb_s": clone_gbs,
        "min_cast_vs_clone": worst_cast,
        "min_fake_quant_vs_clone": worst_fq,
        "min_qdq_vs_clone": min(r["vs_clone"] for r in rows if r["path"] == "qdq"),
        "results": rows,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
