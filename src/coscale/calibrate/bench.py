"""The microbenchmarks of `coscale calibrate`, written with torch (imported inside each function, so
importing this module costs nothing and the predict path never loads torch).

GEMMs per format and shape (BF16/FP16/FP32 via matmul, FP8 E4M3 via torch._scaled_mm where the device
has it), fused attention via scaled_dot_product_attention, device-memory copy, host<->device copy.
Times are medians over `iters` calls after `warmup` calls; CUDA runs are timed with events."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coscale.calibrate.measurement import Measurement


@dataclass(frozen=True, kw_only=True, slots=True)
class BenchSizes:
    """Problem sizes: large ones on a GPU, small ones on a CPU (the harness check, not a measurement)."""

    gemm_square: tuple[int, ...]
    gemm_skinny_m: tuple[int, ...]
    gemm_skinny_nk: int
    attention: tuple[tuple[int, int, int, int], ...]  # (batch, heads, seq, head_dim)
    copy_bytes: int
    host_bytes: int
    warmup: int
    iters: int


GPU_SIZES = BenchSizes(gemm_square=(1024, 2048, 4096, 8192, 16384), gemm_skinny_m=(16, 64, 128, 256, 512, 1024),
                       gemm_skinny_nk=8192,
                       attention=((4, 32, 1024, 128), (1, 32, 8192, 128)), copy_bytes=1 << 30,
                       host_bytes=256 << 20, warmup=5, iters=20)
CPU_SIZES = BenchSizes(gemm_square=(128, 256), gemm_skinny_m=(16,), gemm_skinny_nk=256,
                       attention=((1, 4, 128, 64),), copy_bytes=16 << 20, host_bytes=4 << 20, warmup=1, iters=3)

_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def _timer(device: str) -> Callable[[Callable[[], Any], int, int], float]:
    import torch

    def run(fn: Callable[[], Any], warmup: int, iters: int) -> float:
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(iters):
            if device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1e3)
            else:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        return statistics.median(times)

    return run


def _gemm(device: str, cls: str, m: int, n: int, k: int, sizes: BenchSizes) -> Measurement | None:
    import torch

    dtype = getattr(torch, _DTYPES[cls])
    if device == "cpu" and cls == "fp16":
        return None  # CPU half matmul is emulated; not a tensor-unit rate
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    t = _timer(device)(lambda: a @ b, sizes.warmup, sizes.iters)
    size = dtype.itemsize
    return Measurement(kind="gemm", name=f"gemm-{cls}-{m}x{n}x{k}", compute_class=cls, shape=(m, n, k), seconds=t,
                       flops=2.0 * m * n * k, bytes=float((m * k + k * n + m * n) * size))


def _gemm_fp8(device: str, m: int, n: int, k: int, sizes: BenchSizes) -> Measurement | None:
    """FP8 E4M3 GEMM with per-tensor scales through torch._scaled_mm (CUDA, compute capability >= 8.9)."""
    import torch

    if device != "cuda" or not hasattr(torch, "_scaled_mm") or torch.cuda.get_device_capability() < (8, 9):
        return None
    a = torch.randn(m, k, device=device).to(torch.float8_e4m3fn)
    b = torch.randn(n, k, device=device).to(torch.float8_e4m3fn).t()  # column-major B, as cuBLASLt wants
    one = torch.ones((), device=device)
    t = _timer(device)(lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16),
                       sizes.warmup, sizes.iters)
    return Measurement(kind="gemm", name=f"gemm-fp8-{m}x{n}x{k}", compute_class="fp8", shape=(m, n, k), seconds=t,
                       flops=2.0 * m * n * k, bytes=float(m * k + k * n + 2 * m * n))


def _attention(device: str, cls: str, b: int, h: int, s: int, d: int, sizes: BenchSizes) -> Measurement:
    import torch
    import torch.nn.functional as F

    dtype = getattr(torch, _DTYPES[cls])
    q, k, v = (torch.randn(b, h, s, d, device=device, dtype=dtype) for _ in range(3))
    t = _timer(device)(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), sizes.warmup, sizes.iters)
    flops = 4.0 * b * h * s * (s / 2.0) * d  # causal: half the score matrix, QK^T and PV
    return Measurement(kind="attention", name=f"sdpa-{cls}-b{b}h{h}s{s}d{d}", compute_class=cls,
                       shape=(b, h, s, d), seconds=t, flops=flops, bytes=4.0 * b * h * s * d * dtype.itemsize)


def _copy(device: str, nbytes: int, sizes: BenchSizes) -> Measurement:
    import torch

    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    t = _timer(device)(lambda: dst.copy_(src), sizes.warmup, sizes.iters)
    return Measurement(kind="copy", name=f"copy-{nbytes}", compute_class="vector", shape=(nbytes,), seconds=t,
                       bytes=2.0 * nbytes)


def _host_copies(device: str, nbytes: int, sizes: BenchSizes) -> list[Measurement]:
    import torch

    if device != "cuda":
        return []
    host = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
    dev = torch.empty(nbytes, dtype=torch.uint8, device=device)
    timer = _timer(device)
    h2d = timer(lambda: dev.copy_(host, non_blocking=True), sizes.warmup, sizes.iters)
    d2h = timer(lambda: host.copy_(dev, non_blocking=True), sizes.warmup, sizes.iters)
    return [Measurement(kind="host_to_device", name=f"h2d-{nbytes}", compute_class="vector", shape=(nbytes,),
                        seconds=h2d, bytes=float(nbytes)),
            Measurement(kind="device_to_host", name=f"d2h-{nbytes}", compute_class="vector", shape=(nbytes,),
                        seconds=d2h, bytes=float(nbytes))]


def run_benchmarks(device: str, sizes: BenchSizes) -> tuple[list[Measurement], list[str]]:
    """Every microbenchmark the device supports, and a line for each one skipped and why."""
    import torch

    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means FP32, not TF32
    out: list[Measurement] = []
    skipped: list[str] = []
    for cls in ("bf16", "fp16", "fp32"):
        for s in sizes.gemm_square:
            got = _gemm(device, cls, s, s, s, sizes)
            if got is None:
                skipped.append(f"gemm {cls}: no tensor-unit path on {device}")
                break
            out.append(got)
    for s in sizes.gemm_square:
        got = _gemm_fp8(device, s, s, s, sizes)
        if got is None:
            skipped.append(f"gemm fp8: torch._scaled_mm needs CUDA with compute capability >= 8.9 (device {device})")
            break
        out.append(got)
    nk = sizes.gemm_skinny_nk
    out.extend(g for m in sizes.gemm_skinny_m if (g := _gemm(device, "bf16", m, nk, nk, sizes)) is not None)
    out.extend(g for m in sizes.gemm_skinny_m if (g := _gemm_fp8(device, m, nk, nk, sizes)) is not None)
    attn_cls = "bf16" if device == "cuda" else "fp32"
    out.extend(_attention(device, attn_cls, *shape, sizes) for shape in sizes.attention)
    out.append(_copy(device, sizes.copy_bytes, sizes))
    host = _host_copies(device, sizes.host_bytes, sizes)
    if not host:
        skipped.append(f"host<->device copy: no separate device memory on {device}")
    out.extend(host)
    return out, skipped


def device_info(device: str) -> dict[str, str]:
    """Chip name, driver, CUDA and torch versions, for the provenance of the file."""
    import platform
    import subprocess

    import torch

    info = {"device": device, "torch": torch.__version__, "python": platform.python_version()}
    if device == "cuda":
        info["chip"] = torch.cuda.get_device_name()
        info["cuda"] = str(torch.version.cuda)
        cap = torch.cuda.get_device_capability()
        info["compute_capability"] = f"{cap[0]}.{cap[1]}"
        info["multiprocessors"] = str(torch.cuda.get_device_properties(0).multi_processor_count)
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=10, check=False)
            info["driver"] = smi.stdout.strip().splitlines()[0] if smi.stdout.strip() else "unknown"
        except (OSError, subprocess.SubprocessError):
            info["driver"] = "unknown"
    else:
        info["chip"] = platform.processor() or platform.machine()
        info["driver"] = "none (CPU)"
        info["threads"] = str(torch.get_num_threads())
    return info
