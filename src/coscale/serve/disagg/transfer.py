"""When each KV transfer starts and ends: streamed layer by layer behind the prefill, sharing links.

A request's KV leaves its prefill instance layer by layer as the forward pass produces it: the first
layer's share is ready one layer-time after its last prefill step starts, the last at the step's end.
With a link time `d` for the whole cache (`KvPath.transfer_time`) and `L` layers, the transfer ends at
the later of (first layer ready + d) and (prefill end + d / L): the stream either keeps pace with the
prefill and only the last layer is exposed, or the link is the bottleneck. Nothing moves before the
decode side has granted the blocks the KV is written into (`granted_s`). Concurrent transfers share
the links: each prefill instance's egress and each decode instance's ingress carry one transfer at a
time at the full achieved rate, in the order the transfers become ready (the same finishing time for
the last of a group as an even split of the bandwidth, earlier for the others).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True, slots=True)
class Transfer:
    rid: int
    src: int  # prefill instance
    dst: int  # decode instance
    bytes: float
    ready_s: float  # first layer available
    prefill_end_s: float
    granted_s: float  # the decode blocks it is written into were granted (it cannot start before)
    start_s: float
    finish_s: float

    @property
    def exposed_s(self) -> float:
        """What the transfer adds after the prefill ends."""
        return self.finish_s - self.prefill_end_s


@dataclass(kw_only=True, slots=True)
class Links:
    """The time each prefill instance's egress and each decode instance's ingress is busy until."""

    egress: list[float]
    ingress: list[float]
    busy_s: float = 0.0  # summed over transfers
    done: list[Transfer] = field(default_factory=list)

    @classmethod
    def of(cls, prefill_instances: int, decode_instances: int) -> Links:
        return cls(egress=[0.0] * prefill_instances, ingress=[0.0] * decode_instances)

    def schedule(self, *, rid: int, src: int, dst: int, nbytes: float, duration_s: float, layers: int,
                 ready_s: float, prefill_end_s: float, granted_s: float = 0.0) -> Transfer:
        start = max(ready_s, granted_s, self.egress[src], self.ingress[dst])
        finish = max(start + duration_s, prefill_end_s + duration_s / max(layers, 1))
        self.egress[src] = self.ingress[dst] = finish
        self.busy_s += finish - start
        t = Transfer(rid=rid, src=src, dst=dst, bytes=nbytes, ready_s=ready_s, prefill_end_s=prefill_end_s,
                     granted_s=granted_s, start_s=start, finish_s=finish)
        self.done.append(t)
        return t
