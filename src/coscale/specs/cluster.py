"""A cluster: named pools of systems (possibly of different chips) joined by one fabric link.

This is the shape disaggregated serving needs: a prefill pool of one GPU type and a decode pool of
another, with KV caches crossing `fabric` between them. Within a pool, collectives use the pool's
own scale-up and scale-out links (`System.link_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.specs.hardware import Link, System


@dataclass(frozen=True, kw_only=True, slots=True)
class Pool:
    name: str
    system: System

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise CoscaleError("a pool needs a non-empty name, e.g. 'prefill' or 'decode'")


@dataclass(frozen=True, kw_only=True, slots=True)
class Cluster:
    pools: tuple[Pool, ...]
    fabric: Link  # per-GPU, per-direction link between pools (e.g. the GPUs' scale-out NICs)

    def __post_init__(self) -> None:
        if not self.pools:
            raise CoscaleError("a cluster needs at least one pool; pass pools=(Pool(name=..., system=...),)")
        names = [p.name for p in self.pools]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise CoscaleError(f"pool names must be unique; '{dup[0]}' appears more than once: rename one")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pools)

    @property
    def num_gpus(self) -> int:
        return sum(p.system.num_gpus for p in self.pools)

    def pool(self, name: str) -> Pool:
        for p in self.pools:
            if p.name == name:
                return p
        raise CoscaleError(f"no pool named '{name}' in this cluster; pools: {', '.join(self.names)}")

    def __getitem__(self, name: str) -> Pool:
        return self.pool(name)
