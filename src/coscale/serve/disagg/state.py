"""The disaggregated run's mutable state and its events: what the event loop (`engine`) and the decode
block hand-off (`handoff`) share."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from coscale.serve.disagg.deployment import DisaggBuilt
from coscale.serve.disagg.transfer import Links, Transfer
from coscale.serve.kv import PromptKeys
from coscale.serve.replica import Replica
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.sequence import Sequence
from coscale.serve.workload import Workload

PREFILL, DECODE = 0, 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Arrive:
    request: Request


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolStepEnd:
    pool: int
    replica: int
    token: int


def step_end_event(pool: int, woken: tuple[int, int, float] | None) -> list[tuple[float, PoolStepEnd]]:
    """The step-end event of a pass that `lockstep.wake` / `restart` / `cut_run` started or cut (none:
    unchanged)."""
    return [] if woken is None else [(woken[2], PoolStepEnd(pool=pool, replica=woken[0], token=woken[1]))]


@dataclass(frozen=True, kw_only=True, slots=True)
class KvArrive:
    rid: int


@dataclass(kw_only=True, slots=True)
class InFlight:
    req: Request
    pre: Sequence  # the prefill instance's sequence (holding its blocks)
    src: int
    dst: int
    transfer: Transfer


@dataclass(kw_only=True, slots=True)
class Reservation:
    """A request's claim on decode blocks: asked at arrival, granted at a decode scheduling point."""

    rid: int
    dst: int
    need: int  # blocks of the prompt + first token
    keys: PromptKeys | None = None  # the prompt's keys at the decode block size (decode prefix reuse)
    hit: int = 0  # leading blocks of `blocks` reused from the decode instance's GPU prefix cache
    loaded: int = 0  # the prompt blocks after those loaded from the decode instance's KV tiers
    blocks: list[int] = field(default_factory=list)
    granted_s: float = -1.0
    done: tuple[Sequence, int, float, float] | None = None  # prefill ended: (seq, src, first layer ready, end)


@dataclass(kw_only=True, slots=True)
class State:
    b: DisaggBuilt
    prefill: list[Replica]
    decode: list[Replica]
    workload: Workload
    router: RouterConfig
    links: Links
    overload_wait_s: float | None
    orig: dict[int, Request] = field(default_factory=dict)
    shared: dict[int, tuple[int, ...]] = field(default_factory=dict)  # rid -> prompt block hashes until decoded
    flight: dict[int, InFlight] = field(default_factory=dict)
    pre_seq: dict[int, tuple[Sequence, float]] = field(default_factory=dict)  # rid -> (prefill seq, KV arrival)
    inbound: list[int] = field(default_factory=list)  # requests assigned per decode instance, not yet arrived
    pending: list[deque] = field(default_factory=list)  # per decode instance: reservations not yet granted
    reserved: dict[int, Reservation] = field(default_factory=dict)  # rid -> reservation until the KV arrives
    block_wait: dict[int, float] = field(default_factory=dict)
    finished: list[Sequence] = field(default_factory=list)
    decode_wait: dict[int, float] = field(default_factory=dict)
    decode_reused: dict[int, int] = field(default_factory=dict)
    held: deque = field(default_factory=deque)  # admission control `queue`: (request, keys) waiting at the router
    rejected: list[Request] = field(default_factory=list)  # admission control turned these away
    arrivals: int = 0
    area: list[float] = field(default_factory=lambda: [0.0, 0.0])
    last_t: float = 0.0
