"""Workloads: arrival processes, length distributions, and the request sources the engine draws from.

Open loop: every arrival time is fixed in advance (Poisson, Gamma with a burstiness CV, constant, or a
trace). Closed loop: `concurrency` clients each send their next request the moment the previous one
finishes (NIM / AIPerf semantics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.errors import CoscaleError
from coscale.serve.request import Request

ARRIVALS = ("poisson", "gamma", "constant")
LENGTH_DISTS = ("fixed", "exponential", "lognormal")


@dataclass(frozen=True, kw_only=True, slots=True)
class LengthPreset:
    """Log-normal fit (of ln tokens) of a public trace, clipped to the trace's range."""

    name: str
    isl_mu: float
    isl_sigma: float
    isl_max: int
    osl_mu: float
    osl_sigma: float
    osl_max: int
    source: str


# fits computed from the public traces (shared/reference/serving/workload_stats.json); the traces'
# sources: Azure LLM inference trace 2023 (Patel et al., Splitwise, ISCA 2024, CC-BY 4.0) and
# Mooncake FAST25 traces (Qin et al., FAST 2025, Apache-2.0)
LENGTH_PRESETS = {
    p.name: p for p in (
        LengthPreset(name="azure-conv", isl_mu=6.633312928174552, isl_sigma=0.985154270093309, isl_max=14050,
                     osl_mu=5.018996887187218, osl_sigma=0.8590092837592839, osl_max=1000,
                     source="Azure LLM inference trace 2023, conversation"),
        LengthPreset(name="azure-code", isl_mu=6.998643827558942, isl_sigma=1.3601926286262163, isl_max=7437,
                     osl_mu=2.7881569808545756, osl_sigma=0.8472377176924185, osl_max=1899,
                     source="Azure LLM inference trace 2023, code"),
        LengthPreset(name="mooncake-conv", isl_mu=8.736701575321884, isl_sigma=1.1991166761083891, isl_max=126195,
                     osl_mu=5.336352445124677, osl_sigma=1.3583723061800057, osl_max=2000,
                     source="Mooncake FAST25 conversation trace"),
        LengthPreset(name="mooncake-synthetic", isl_mu=7.981906434129011, isl_sigma=2.6999036550833084,
                     isl_max=191378, osl_mu=3.9162784614922383, osl_sigma=1.7684932351486466, osl_max=893,
                     source="Mooncake FAST25 synthetic trace"),
    )
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Lengths:
    """Input/output token lengths: `dist` fixed, exponential or lognormal around the given means
    (log-normal sigma `sigma`), or an empirical preset name (the means are ignored then)."""

    dist: str = "fixed"
    input_len: int = 1024
    output_len: int = 256
    sigma: float = 1.0
    input_max: int | None = None  # clip (a dataset's documented bound)
    output_max: int | None = None

    def __post_init__(self) -> None:
        if self.dist not in LENGTH_DISTS and self.dist not in LENGTH_PRESETS:
            raise CoscaleError(f"unknown --length-dist '{self.dist}'; use one of "
                               f"{', '.join(LENGTH_DISTS + tuple(LENGTH_PRESETS))}.")
        if self.input_len < 1 or self.output_len < 1:
            raise CoscaleError(f"--input-len and --output-len must be >= 1, got {self.input_len} and "
                               f"{self.output_len}.")

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.dist in LENGTH_PRESETS:
            p = LENGTH_PRESETS[self.dist]
            isl = np.clip(np.rint(rng.lognormal(p.isl_mu, p.isl_sigma, n)), 1, p.isl_max)
            osl = np.clip(np.rint(rng.lognormal(p.osl_mu, p.osl_sigma, n)), 1, p.osl_max)
            return isl.astype(np.int64), osl.astype(np.int64)
        isl, osl = self._one(rng, n, self.input_len), self._one(rng, n, self.output_len)
        if self.input_max is not None:
            isl = np.minimum(isl, self.input_max)
        if self.output_max is not None:
            osl = np.minimum(osl, self.output_max)
        return isl, osl

    def _one(self, rng: np.random.Generator, n: int, mean: int) -> np.ndarray:
        if self.dist == "fixed":
            return np.full(n, mean, dtype=np.int64)
        if self.dist == "exponential":
            x = rng.exponential(mean, n)
        else:  # log-normal with the given mean: mu = ln(mean) - sigma^2 / 2
            x = rng.lognormal(np.log(mean) - self.sigma**2 / 2, self.sigma, n)
        return np.maximum(np.rint(x), 1).astype(np.int64)


def arrival_times(kind: str, rate_rps: float, n: int, rng: np.random.Generator, cv: float = 1.0) -> np.ndarray:
    """`n` arrival times starting after 0 with mean rate `rate_rps`: exponential gaps (Poisson), Gamma
    gaps with coefficient of variation `cv` (shape 1/cv^2), or a constant gap."""
    if kind not in ARRIVALS:
        raise CoscaleError(f"unknown --arrival '{kind}'; use one of {', '.join(ARRIVALS)}.")
    if not rate_rps > 0 or not np.isfinite(rate_rps):
        raise CoscaleError(f"--rate must be a positive number of requests/s, got {rate_rps}.")
    if kind == "gamma" and not cv > 0:
        raise CoscaleError(f"--burstiness (CV of inter-arrival gaps) must be > 0, got {cv}.")
    mean = 1.0 / rate_rps
    if kind == "poisson":
        gaps = rng.exponential(mean, n)
    elif kind == "gamma":
        shape = 1.0 / cv**2
        gaps = rng.gamma(shape, mean / shape, n)
    else:
        gaps = np.full(n, mean)
    return np.cumsum(gaps)


def synthetic_requests(times: np.ndarray, isl: np.ndarray, osl: np.ndarray) -> tuple[Request, ...]:
    return tuple(Request(rid=i, arrival_s=float(t), input_tokens=int(a), output_tokens=int(b))
                 for i, (t, a, b) in enumerate(zip(times, isl, osl, strict=True)))


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class RequestColumns:
    """Requests 0..n-1 as columns, a sequence of `Request`s built when read (a long synthetic run then
    allocates no per-request objects unless the Python engine or a report asks for them)."""

    arrival_s: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray

    def __post_init__(self) -> None:
        a, i, o = self.arrival_s, self.input_tokens, self.output_tokens
        if not len(a) == len(i) == len(o):
            raise CoscaleError("request columns differ in length.")
        bad = np.flatnonzero(~np.isfinite(a) | (a < 0) | (i < 1) | (o < 1))
        if len(bad):
            self[int(bad[0])]  # raises Request's own one-line error

    def __len__(self) -> int:
        return len(self.arrival_s)

    def __getitem__(self, k):  # type: ignore[no-untyped-def]
        if isinstance(k, slice):
            return tuple(self[j] for j in range(*k.indices(len(self))))
        n = len(self)
        j = k + n if k < 0 else k
        if not 0 <= j < n:
            raise IndexError(k)
        return Request(rid=j, arrival_s=float(self.arrival_s[j]), input_tokens=int(self.input_tokens[j]),
                       output_tokens=int(self.output_tokens[j]))

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[j] for j in range(len(self)))


def request_columns(times: np.ndarray, isl: np.ndarray, osl: np.ndarray) -> RequestColumns:
    """`synthetic_requests` as columns."""
    return RequestColumns(arrival_s=np.asarray(times, dtype=np.float64), input_tokens=np.asarray(isl, dtype=np.int64),
                          output_tokens=np.asarray(osl, dtype=np.int64))


SESSION_HASH_BLOCK = 64  # tokens per content id of a generated session's prompt


def session_block_ids(session: int, lo: int, hi: int) -> tuple[int, ...]:
    """Content ids of a session's 64-token blocks lo..hi-1 (prompts and answers alike)."""
    return tuple(hash(("session", session, b)) & (2**62 - 1) for b in range(lo, hi))


def session_requests(starts: np.ndarray, turns: int, think_s: float, isl: np.ndarray, osl: np.ndarray,
                     rng: np.random.Generator) -> tuple[Request, ...]:
    """Multi-turn sessions: session i starts at `starts[i]`; turn t arrives an exponential think time
    (mean `think_s`) after turn t - 1 and its prompt is the whole conversation so far (every earlier
    prompt and answer) plus `isl` new tokens, so its leading blocks repeat the previous turn's prompt.
    `isl`/`osl` hold one entry per turn (sessions x turns, session-major). Content ids name
    (session, 64-token block) pairs, so equal ids are equal tokens."""
    if turns < 1:
        raise CoscaleError(f"--turns must be >= 1, got {turns}.")
    if not think_s >= 0:
        raise CoscaleError(f"--think-time must be >= 0 s, got {think_s}.")
    rows = []
    for i, t0 in enumerate(starts):
        t, history = float(t0), 0
        for k in range(turns):
            j = i * turns + k
            prompt = history + int(isl[j])
            ids = session_block_ids(i, 0, -(-prompt // SESSION_HASH_BLOCK))
            rows.append((t, prompt, int(osl[j]), i, ids))
            history = prompt + int(osl[j])
            t += float(rng.exponential(think_s)) if think_s > 0 else 0.0
    rows.sort(key=lambda r: r[0])
    return tuple(Request(rid=n, arrival_s=t, input_tokens=p, output_tokens=o, session_id=s, prefix_hashes=ids,
                         hash_block=SESSION_HASH_BLOCK) for n, (t, p, o, s, ids) in enumerate(rows))


class Workload:
    """A request source: the first arrivals, and what follows an arrival or a completion."""

    total: int
    mean_rate: float | None = None  # requests/s of an open loop (None: closed loop)

    def initial(self) -> list[Request]:
        raise NotImplementedError

    def after_arrival(self, req: Request) -> Request | None:
        return None

    def after_finish(self, req: Request, now: float) -> Request | None:
        return None


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenLoop(Workload):
    """Fixed arrival times; request `rid` i is the i-th, so each arrival schedules the next."""

    requests: tuple[Request, ...]  # or `RequestColumns`

    def __post_init__(self) -> None:
        if not len(self.requests):
            raise CoscaleError("the workload has no requests; give --num-requests >= 1 or a non-empty trace.")
        if isinstance(self.requests, RequestColumns):  # numbered by construction: check the order on arrays
            late = np.flatnonzero(np.diff(self.requests.arrival_s) < 0)
            if len(late):
                i = int(late[0]) + 1
                raise CoscaleError(f"request {i} arrives before request {i - 1}; sort the requests by arrival time.")
            return
        for i, r in enumerate(self.requests):
            if r.rid != i:
                raise CoscaleError(f"request {i} has id {r.rid}; open-loop requests are numbered in arrival order.")
            if i and r.arrival_s < self.requests[i - 1].arrival_s:
                raise CoscaleError(f"request {i} arrives before request {i - 1}; sort the requests by arrival time.")

    @property
    def total(self) -> int:  # type: ignore[override]
        return len(self.requests)

    @property
    def mean_rate(self) -> float | None:  # type: ignore[override]
        span = self.requests[-1].arrival_s - self.requests[0].arrival_s
        return (len(self.requests) - 1) / span if span > 0 else None

    def initial(self) -> list[Request]:
        return [self.requests[0]]

    def after_arrival(self, req: Request) -> Request | None:
        return self.requests[req.rid + 1] if req.rid + 1 < len(self.requests) else None


@dataclass(kw_only=True, slots=True)
class ClosedLoop(Workload):
    """`concurrency` clients, each sending its next request when its previous one finishes, until
    `isl`/`osl` (one entry per request, drawn up front) are used up."""

    concurrency: int
    isl: np.ndarray
    osl: np.ndarray
    issued: int = field(default=0)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise CoscaleError(f"--concurrency must be >= 1, got {self.concurrency}.")
        if len(self.isl) < 1:
            raise CoscaleError("the workload has no requests; give --num-requests >= 1.")

    @property
    def total(self) -> int:  # type: ignore[override]
        return len(self.isl)

    def _make(self, now: float) -> Request | None:
        if self.issued >= len(self.isl):
            return None
        i = self.issued
        self.issued += 1
        return Request(rid=i, arrival_s=now, input_tokens=int(self.isl[i]), output_tokens=int(self.osl[i]))

    def initial(self) -> list[Request]:
        return [r for r in (self._make(0.0) for _ in range(self.concurrency)) if r is not None]

    def after_finish(self, req: Request, now: float) -> Request | None:
        return self._make(now)
