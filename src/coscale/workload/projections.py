"""Dense projection (GEMM) operators."""

from __future__ import annotations

from coscale.workload.forward_pass import ForwardPass
from coscale.workload.ops import Op
from coscale.workload.shape import Array


def gemm(name: str, layer: str, count: int, p: ForwardPass, m: Array | float, n: float, k: float,
         phase: str = "") -> Op:
    """y[m, n] = x[m, k] @ W[k, n] with W in the recipe's weight format, sharded already (per GPU).
    `phase` names the token group when only that group's tokens pass (m is then the group's)."""
    weight_bytes, act_bytes = p.gemm_bytes(m, n, k)
    return Op(name=name, kind="gemm", layer=layer, count=count, flops=2.0 * m * n * k,
              weight_bytes=weight_bytes, act_bytes=act_bytes, compute_class=p.gemm_class,
              gemm_mnk=(m, n, k), phase=phase)
