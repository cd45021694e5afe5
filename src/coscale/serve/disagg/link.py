"""The link a request's KV cache crosses from the prefill pool to the decode pool, and its cost.

One transfer moves the whole prompt's KV cache: each GPU of the smaller of the two instances sends
(or receives) its shard over its own link, so `paths` links run in parallel. The time of one shard is
the core's collective formula (`coscale.cost.roofline.collective_time`, a point-to-point message:
latency + bytes / (bandwidth x message-size fraction)) on the link kind's per-GPU bandwidth times an
achieved-efficiency factor of the transport. Which link a kind means comes from the chips' catalog
data (`HardwareSpec.links`): NVLink = the scale-up fabric, InfiniBand / RoCE / Ethernet = the
scale-out NIC, PCIe = the host link.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.cost.roofline import collective_time
from coscale.errors import CoscaleError
from coscale.specs.efficiency import EfficiencyModel
from coscale.specs.hardware import HardwareSpec, Link
from coscale.workload.ops import Collective

KV_LINKS = ("nvlink", "infiniband", "roce", "ethernet", "pcie")

# Achieved share of line rate for bulk KV transfers, per link kind.
# RDMA (InfiniBand / RoCE): Mooncake Transfer Engine moves 87 GB/s over 4 x 200 Gb/s RoCE NICs (0.87 of
#   line rate) and 190 GB/s over 8 x 400 Gb/s (0.475): kvcache-ai/Mooncake doc/en/transfer-engine.md and the
#   FAST 25 paper; 0.87 is the per-NIC figure (one NIC per GPU here), 0.475 the many-NIC low end.
# Ethernet without RDMA (TCP): ~36 GB/s over the same 4 x 200 Gb/s (0.36), same source.
# NVLink and PCIe copies: assumption (no measurement sourced): 0.8 of line rate.
LINK_EFFICIENCY = {"nvlink": 0.8, "infiniband": 0.87, "roce": 0.87, "ethernet": 0.36, "pcie": 0.8}
LINK_EFFICIENCY_SOURCE = {
    "nvlink": "assumption: 0.8 of NVLink line rate for GPU-to-GPU copies (no measurement sourced)",
    "infiniband": "Mooncake Transfer Engine: 87 GB/s on 4 x 200 Gb/s RDMA (kvcache-ai/Mooncake transfer-engine.md)",
    "roce": "Mooncake Transfer Engine: 87 GB/s on 4 x 200 Gb/s RoCE (kvcache-ai/Mooncake transfer-engine.md)",
    "ethernet": "Mooncake Transfer Engine TCP transport: ~36 GB/s on 4 x 200 Gb/s (kvcache-ai/Mooncake)",
    "pcie": "assumption: 0.8 of PCIe line rate for device-host-device copies (no measurement sourced)",
}
SERVER_GPUS = 8  # assumption: a PCIe path joins GPUs of one server, and a server holds at most 8 GPUs (HGX)


@dataclass(frozen=True, kw_only=True, slots=True)
class KvPath:
    """The prefill -> decode path of one transfer."""

    kind: str
    link: Link  # per GPU, per direction: the slower of the two chips' links of this kind
    paths: int  # links used in parallel by one transfer
    efficiency: float  # achieved share of the line rate
    efficiency_source: str
    collective_eff: EfficiencyModel  # the message-size curve of the core collective model

    def transfer_time(self, total_bytes: float) -> float:
        """Seconds to move `total_bytes` of KV when the path is not shared (0 for nothing)."""
        if total_bytes <= 0:
            return 0.0
        link = Link(bandwidth_Bps=self.link.bandwidth_Bps * self.efficiency, latency_s=self.link.latency_s)
        shard = Collective(kind="p2p", bytes=total_bytes / self.paths, group=2)
        return float(collective_time(shard, link, self.collective_eff))

    @property
    def bandwidth_Bps(self) -> float:
        """Achieved bytes/s of one transfer on large messages."""
        return self.link.bandwidth_Bps * self.efficiency * self.paths

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "per_gpu_line_rate_GBps": self.link.bandwidth_Bps / 1e9, "paths": self.paths,
                "efficiency": self.efficiency, "efficiency_source": self.efficiency_source,
                "achieved_GBps": self.bandwidth_Bps / 1e9, "latency_s": self.link.latency_s}


def _kind_link(hw: HardwareSpec, kind: str) -> Link:
    links = hw.links
    if kind == "nvlink":
        return links.scaleup
    if kind == "pcie":
        return links.host
    return links.scaleout


def kv_path(kind: str, prefill_hw: HardwareSpec, prefill_gpus: int, prefill_instance_gpus: int,
            decode_hw: HardwareSpec, decode_gpus: int, decode_instance_gpus: int,
            efficiency: float | None = None) -> KvPath:
    """Resolve `kind` between the two pools; a kind that does not join them is a one-line error."""
    if kind not in KV_LINKS:
        raise CoscaleError(f"unknown --kv-link '{kind}'; use one of {', '.join(KV_LINKS)}.")
    if efficiency is not None and not 0 < efficiency <= 1:
        raise CoscaleError(f"--kv-link-efficiency must be in (0, 1], got {efficiency}.")
    total = prefill_gpus + decode_gpus
    if kind == "nvlink":
        dom = prefill_hw.links.scaleup.domain_size
        if prefill_hw.id != decode_hw.id:
            raise CoscaleError(f"--kv-link nvlink does not connect {prefill_hw.id} to {decode_hw.id}: NVLink joins "
                               f"GPUs of one scale-up domain of one chip; use --kv-link infiniband, roce or ethernet.")
        if total > dom:
            raise CoscaleError(f"--kv-link nvlink does not connect the pools: {prefill_gpus} + {decode_gpus} "
                               f"GPUs exceed the {dom}-GPU scale-up domain of {prefill_hw.id}; use fewer GPUs "
                               f"or another --kv-link.")
    if kind == "pcie" and total > SERVER_GPUS:
        raise CoscaleError(f"--kv-link pcie does not connect the pools: {total} GPUs do not fit one {SERVER_GPUS}-GPU "
                           f"server; use --kv-link infiniband, roce or ethernet.")
    a, b = _kind_link(prefill_hw, kind), _kind_link(decode_hw, kind)
    if a.bandwidth_Bps <= 0 or b.bandwidth_Bps <= 0:
        bad = prefill_hw.id if a.bandwidth_Bps <= 0 else decode_hw.id
        raise CoscaleError(f"--kv-link {kind} does not connect the pools: {bad} has no such link in its catalog "
                           f"entry; pick another --kv-link.")
    link = a if a.bandwidth_Bps <= b.bandwidth_Bps else b
    eff = LINK_EFFICIENCY[kind] if efficiency is None else efficiency
    src = LINK_EFFICIENCY_SOURCE[kind] if efficiency is None else "set by --kv-link-efficiency"
    return KvPath(kind=kind, link=Link(bandwidth_Bps=link.bandwidth_Bps, latency_s=max(a.latency_s, b.latency_s)),
                  paths=min(prefill_instance_gpus, decode_instance_gpus), efficiency=eff, efficiency_source=src,
                  collective_eff=prefill_hw.efficiency)
