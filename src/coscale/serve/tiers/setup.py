"""Give a deployment's replicas their tiers: local DRAM / NVMe per replica, one shared tier per pod."""

from __future__ import annotations

from coscale.serve.replica import Replica
from coscale.serve.tiers.chain import LruTier, TierChain
from coscale.serve.tiers.config import OffloadConfig
from coscale.serve.tiers.media import TierMedium, tier_media
from coscale.serve.tiers.replica_tiers import ReplicaTiers
from coscale.specs.hardware import HardwareSpec


def attach_tiers(replicas: list[Replica], cfg: OffloadConfig, hw: HardwareSpec, block_bytes: float,
                 gpus_per_replica: int, gpus_total: int) -> None:
    """Set `tiers` on every replica (an empty chain when every tier is sized 0: the hooks then change nothing)."""
    if not replicas:
        return
    bs = replicas[0].pool.block_size
    attach_media(replicas, tier_media(cfg, hw, block_bytes, bs, gpus_per_replica, gpus_total), cfg)


def attach_media(replicas: list[Replica], media: tuple[TierMedium, ...], cfg: OffloadConfig) -> None:
    """`attach_tiers` with the tiers given directly (a pod-shared medium gets one store for all replicas)."""
    shared = {m.name: LruTier(medium=m) for m in media if m.shared}
    for rep in replicas:
        levels = tuple(shared[m.name] if m.shared else LruTier(medium=m) for m in media)
        chain = TierChain(levels=levels, exclusive=cfg.store == "on_evict")
        rep.tiers = ReplicaTiers(chain=chain, cfg=cfg, block_size=rep.pool.block_size,
                                 chunk=rep.cfg.max_batched_tokens)
        rep.pool.evicted = []
        rep.pool.published = [] if cfg.store == "write_through" else None
