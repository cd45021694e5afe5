"""Events and the engine's event queue: frozen values ordered by (time, seq); the queue owns the counter."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from coscale.serve.request import Request


@dataclass(frozen=True, kw_only=True, slots=True)
class Arrival:
    request: Request


@dataclass(frozen=True, kw_only=True, slots=True)
class StepEnd:
    """The forward pass a replica started ends; `token` tells a live step from one a fast-forward
    truncation replaced."""

    replica: int
    token: int


Event = Arrival | StepEnd


@dataclass(kw_only=True, slots=True)
class EventQueue:
    """Min-heap of (time, seq, event); `seq` breaks ties in insertion order (FIFO at equal times)."""

    _heap: list[tuple[float, int, Event]] = field(default_factory=list)
    _seq: int = 0
    handled: int = 0

    def push(self, time_s: float, event: Event) -> None:
        heapq.heappush(self._heap, (time_s, self._seq, event))
        self._seq += 1

    def pop(self) -> tuple[float, Event]:
        time_s, _, event = heapq.heappop(self._heap)
        self.handled += 1
        return time_s, event

    def __len__(self) -> int:
        return len(self._heap)
