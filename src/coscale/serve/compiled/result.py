"""The compiled engine's results in the shapes the Python engine's consumers read: a replica record
(step log, inter-token gaps, pool size) per replica, and per-request views built on demand from the
arrays (so a run of many requests allocates no per-request objects unless a caller asks for them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from coscale.serve.records import RequestArrays
from coscale.serve.request import Request
from coscale.serve.scheduler import SchedulerConfig

LOG_NAMES = ("start_s", "end_s", "batch_seqs", "batch_tokens", "prefill_tokens", "waiting", "kv_blocks", "energy_j")


@dataclass(frozen=True, kw_only=True, slots=True)
class PoolShape:
    num_blocks: int
    block_size: int


@dataclass(frozen=True, kw_only=True, slots=True)
class LogArrays:
    """A replica's step log, already as arrays (`StepLog.arrays`' names and dtypes)."""

    columns: dict[str, np.ndarray]

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(self.columns)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicaRecord:
    """What a finished replica leaves for the metrics: its step log, ITL samples and counters."""

    index: int
    cfg: SchedulerConfig
    pool: PoolShape
    log: LogArrays
    itl_values: np.ndarray
    itl_weights: np.ndarray
    preemptions: int
    samples: int
    tiers: None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SequenceView:
    """One finished request, as `Sequence`'s attributes the reports read."""

    req: Request
    scheduled_s: float
    first_token_s: float
    finish_s: float
    hit_tokens: int
    prefilled: int
    decoded: int
    preemptions: int
    discarded: int
    rehit_tokens: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SequenceViews:
    """The finished requests in request-id order, each built when read."""

    requests: tuple[Request, ...]
    records: RequestArrays
    discarded: np.ndarray
    rehit: np.ndarray

    def __len__(self) -> int:
        return len(self.requests)

    def __getitem__(self, i: int) -> SequenceView:
        r = self.records
        return SequenceView(req=self.requests[i], scheduled_s=float(r.scheduled_s[i]),
                            first_token_s=float(r.first_token_s[i]), finish_s=float(r.finish_s[i]),
                            hit_tokens=int(r.hit_tokens[i]), prefilled=int(r.prefilled[i]),
                            decoded=int(r.decoded[i]), preemptions=int(r.preemptions[i]),
                            discarded=int(self.discarded[i]), rehit_tokens=int(self.rehit[i]))

    def __iter__(self) -> Iterator[SequenceView]:
        return (self[i] for i in range(len(self)))


def replica_logs(log_f: np.ndarray, log_i: np.ndarray, nrep: int) -> list[dict[str, np.ndarray]]:
    """Split the kernel's step log (rows of all replicas, in the order they ran) by replica."""
    order = np.argsort(log_i[:, 0], kind="stable")
    bounds = np.searchsorted(log_i[order, 0], np.arange(nrep + 1))
    out = []
    for r in range(nrep):
        idx = order[bounds[r]:bounds[r + 1]]
        if not len(idx):
            out.append({name: np.zeros(0) for name in LOG_NAMES})
            continue
        f, i = log_f[idx], log_i[idx]
        out.append({"start_s": f[:, 0].copy(), "end_s": f[:, 1].copy(), "batch_seqs": i[:, 1].copy(),
                    "batch_tokens": i[:, 2].copy(), "prefill_tokens": i[:, 3].copy(), "waiting": i[:, 4].copy(),
                    "kv_blocks": i[:, 5].copy(), "energy_j": f[:, 2].copy()})
    return out


def replica_itl(itl_v: np.ndarray, itl_i: np.ndarray, nrep: int) -> list[tuple[np.ndarray, np.ndarray]]:
    order = np.argsort(itl_i[:, 0], kind="stable")
    bounds = np.searchsorted(itl_i[order, 0], np.arange(nrep + 1))
    return [(itl_v[order[bounds[r]:bounds[r + 1]]], itl_i[order[bounds[r]:bounds[r + 1]], 1]) for r in range(nrep)]
