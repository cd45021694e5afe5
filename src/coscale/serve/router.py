"""Which replica an arriving request goes to."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.errors import CoscaleError
from coscale.serve.replica import Replica

ROUTERS = ("round_robin", "least_loaded")


@dataclass(frozen=True, kw_only=True, slots=True)
class RouterConfig:
    policy: str = "least_loaded"

    def __post_init__(self) -> None:
        if self.policy not in ROUTERS:
            raise CoscaleError(f"unknown router '{self.policy}'; use one of {', '.join(ROUTERS)}.")


def route(cfg: RouterConfig, replicas: list[Replica], arrivals_so_far: int) -> Replica:
    """Round-robin by arrival count, or the replica with the fewest unfinished requests (lowest index on ties)."""
    if cfg.policy == "round_robin":
        return replicas[arrivals_so_far % len(replicas)]
    return min(replicas, key=lambda r: (r.load, r.index))
