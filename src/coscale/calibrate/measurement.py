"""One timed microbenchmark: what ran, its shape, and the work it did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Measurement:
    """`kind`: gemm | attention | copy | host_to_device | device_to_host; `compute_class` for gemm/attention."""

    kind: str
    name: str
    compute_class: str
    shape: tuple[int, ...]
    seconds: float  # median time of one call
    flops: float = 0.0
    bytes: float = 0.0  # bytes moved (read + written) as bandwidth tests count them

    @property
    def flops_per_s(self) -> float:
        return self.flops / self.seconds

    @property
    def bytes_per_s(self) -> float:
        return self.bytes / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "compute_class": self.compute_class, "shape": list(self.shape),
                "seconds": self.seconds, "flops": self.flops, "bytes": self.bytes}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Measurement:
        return Measurement(kind=d["kind"], name=d["name"], compute_class=d["compute_class"],
                           shape=tuple(int(x) for x in d["shape"]), seconds=float(d["seconds"]),
                           flops=float(d.get("flops", 0.0)), bytes=float(d.get("bytes", 0.0)))
