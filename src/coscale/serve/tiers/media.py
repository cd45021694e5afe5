"""The tiers as one replica sees them: capacity in KV blocks, and the seconds to read or write n blocks.

Host DRAM and local NVMe come from the chip's memory tiers (`HardwareSpec.memory.host` / `.nvme`:
per-GPU capacity, the bandwidth one GPU reaches the tier at, per direction, and access latency); the
catalog gives one bandwidth per tier, used for both directions; loads from host DRAM reach
`HOST_COPY_EFFICIENCY` of it (an offload engine's measured pinned-memory load rate over the link's).
Pod-shared storage comes from `shared_storage.json` (sourced there). Every GPU of a replica moves
its own shard of a block over its own path at the same time, so a transfer of n blocks takes
`latency + n x block bytes per GPU / per-GPU bandwidth`, and a tier holds `per-GPU capacity //
block bytes per GPU` blocks (the shared tier: the pod's bytes over the replica's bytes per block).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from coscale.errors import CoscaleError
from coscale.serve.tiers.config import OffloadConfig
from coscale.specs.hardware import HardwareSpec

GiB = 2**30

# Achieved share of the host link for KV copies between GPU and pinned host DRAM through an offload
# engine: LMCache's L1 (pinned DRAM) load measured ~22.1 GB/s on an L20 (PCIe Gen4 x16, 32 GB/s per
# direction), against 25.07 GB/s for a raw cudaMemcpy (LMCache/LMCache issue #4626): 22.1 / 32 = 0.69.
# Applied to loads (host -> GPU) only; stores keep the line rate (assumption: no store-direction figure
# of an offload engine sourced).
HOST_COPY_EFFICIENCY = 22.1 / 32.0
HOST_COPY_SOURCE = ("LMCache L1 pinned-DRAM load 22.1 GB/s on PCIe Gen4 x16 (32 GB/s): 0.69 of line rate "
                    "(LMCache/LMCache issue #4626)")


@dataclass(frozen=True, kw_only=True, slots=True)
class TierMedium:
    name: str
    capacity_blocks: int
    block_bytes: float  # per GPU
    gpus: int  # GPUs of one replica (each moves its shard)
    read_Bps: float  # per GPU
    write_Bps: float  # per GPU
    latency_s: float
    shared: bool  # one store for the whole pod, seen by every replica
    source: str

    def read_s(self, n: int) -> float:
        return self.latency_s + n * self.block_bytes / self.read_Bps if n > 0 else 0.0

    def write_s(self, n: int) -> float:
        return self.latency_s + n * self.block_bytes / self.write_Bps if n > 0 else 0.0

    @property
    def replica_block_bytes(self) -> float:
        return self.block_bytes * self.gpus


def _shared_figures() -> dict[str, dict]:
    text = resources.files("coscale.serve.tiers").joinpath("shared_storage.json").read_text()
    return json.loads(text)


def tier_media(cfg: OffloadConfig, hw: HardwareSpec, block_bytes: float, block_size: int, gpus_per_replica: int,
               gpus_total: int) -> tuple[TierMedium, ...]:
    """The configured tiers, top to bottom (a tier sized 0 is left out)."""
    out = []
    for name in cfg.tiers:
        size = cfg.size_gib(name)
        if name == "shared":
            f = _shared_figures()
            cap = size * GiB if size is not None else f["capacity"]["value"] * gpus_total
            per = cap / gpus_per_replica  # the pod's bytes as this replica's per-GPU shards
            read, write, lat = f["read_bandwidth"]["value"], f["write_bandwidth"]["value"], f["latency"]["value"]
            src = f"shared_storage.json: {f['read_bandwidth']['source']}"
        else:
            tier = hw.memory.host if name == "dram" else hw.memory.nvme
            if tier is None:
                field = "host" if name == "dram" else name
                raise CoscaleError(f"{hw.name} has no {name} tier in its hardware data; drop '{name}' from "
                                   f"--kv-offload or give a hardware file with memory.{field}.")
            per = size * GiB if size is not None else tier.capacity_bytes
            eff = HOST_COPY_EFFICIENCY if name == "dram" else 1.0
            read, write = tier.bandwidth_Bps * eff, tier.bandwidth_Bps
            lat = tier.latency_s
            src = hw.source(f"memory.{'host' if name == 'dram' else 'nvme'}.bandwidth_Bps") or hw.name
            if name == "dram":
                src = f"{src}; x {eff:.2f}: {HOST_COPY_SOURCE}"
        if per == 0:
            continue
        blocks = int(per // block_bytes)
        if blocks < 1:
            flag = f"--{name}-kv-gib"
            raise CoscaleError(f"the {name} KV tier ({per / GiB:.3g} GiB per GPU) is smaller than one KV block "
                               f"({block_bytes / GiB:.3g} GiB per GPU of {block_size} tokens); raise {flag} or set "
                               f"it to 0.")
        out.append(TierMedium(name=name, capacity_blocks=blocks, block_bytes=block_bytes, gpus=gpus_per_replica,
                              read_Bps=read, write_Bps=write, latency_s=lat, shared=name == "shared", source=src))
    return tuple(out)
