"""Where each parallel group lives, and so which link (scale-up or scale-out) its collectives use.

Ranks are ordered tp-cp-ep-dp-pp (Megatron-Core default): a group with stride `stride` and `n` ranks
spans n*stride consecutive GPUs and stays on the scale-up fabric (NVLink) only if that span fits in
one domain. Otherwise every GPU drives its own NIC (DGX/HGX rail-optimised), so the per-GPU
scale-out bandwidth binds. The time itself is the project's collective model
(`cost.roofline.collective_time`), evaluated on the link the placement selects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coscale.cost.efficiency import EfficiencyModel
from coscale.cost.roofline import collective_time
from coscale.specs.hardware import Link, System
from coscale.workload.ops import Collective

Role = Literal["tp", "cp", "ep", "dp", "pp"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupPlacement:
    tp: int
    cp: int
    dp: int
    ep: int

    def span(self, role: Role) -> int:
        """Consecutive GPUs a group of this role covers."""
        if role == "tp":
            return self.tp
        if role == "cp":
            return self.tp * self.cp
        if role == "ep":
            return self.ep
        if role == "dp":
            return self.tp * self.cp * self.dp
        return 2 * self.tp * self.cp * self.dp  # pp: neighbouring stages

    def intra_domain(self, role: Role, domain: int) -> bool:
        return self.span(role) <= domain


def link_pair(system: System) -> tuple[Link, Link]:
    """(scale-out, scale-up) links of `system`, indexed by 'does the group fit in one domain'."""
    links = system.hardware.links
    return links.scaleout, links.scaleup


def collective_s(c: Collective, groups: GroupPlacement, system: System, eff: EfficiencyModel,
                 role: Role | None = None, links: tuple[Link, Link] | None = None) -> float:
    """Time of one collective of a parallel group placed as `groups` says."""
    if role is None:
        role = "ep" if c.kind == "all_to_all" else "tp"
    intra = groups.intra_domain(role, system.hardware.links.scaleup.domain_size)
    return collective_time(c, (links or link_pair(system))[intra], eff)
