"""Building each pool of a scenario: the serving simulator's deployment (`serve.scenario.build`),
adapted to what the pool's stages need, and its replicas.

- A pool that only encodes (embedding, reranker) runs whole sequences in one pass (no chunked
  prefill: bidirectional attention needs every token) and keeps no prefix cache.
- A pool serving an encoder-decoder model (Whisper) adds the encoder pass to its step cost
  (`EncoderDecoderCost`) and has no prefix cache (its decoder's KV depends on the audio); the
  cross-attention K/V of `max_num_seqs` sequences are already off its KV pool
  (`ServingMemoryModel`: constant per-sequence state, as for Mamba).
- A pool that cannot hold its model, or a stage its model cannot run, is one error naming the pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from coscale.cost.plan import build_plan
from coscale.errors import CoscaleError
from coscale.serve.field_words import rename_fields
from coscale.serve.replica import Replica
from coscale.serve.router import RouterConfig
from coscale.serve.scenario import Built, Deployment, build, make_replicas
from coscale.serve.system.encdec import EncoderDecoderCost
from coscale.serve.system.spec import PoolSpec


@dataclass(kw_only=True, slots=True)
class Pool:
    spec: PoolSpec
    built: Built
    replicas: list[Replica]
    router: RouterConfig
    kinds: frozenset[str]
    arrivals: int = 0
    in_system: int = 0
    area: float = 0.0  # integral of requests in the pool over time (Little's L x T)
    last_t: float = 0.0
    finished: int = 0
    sojourn_s: float = 0.0  # summed time in the pool of the finished requests
    first_s: float = -1.0  # first and last arrival: the window the offered rate is measured over
    last_arrival_s: float = 0.0
    sojourns: list[float] = field(default_factory=list)

    def occupancy(self, now: float, delta: int) -> None:
        self.area += self.in_system * (now - self.last_t)
        self.last_t = now
        self.in_system += delta


def _deployment(p: PoolSpec, no_prefix_cache: bool) -> Deployment:
    return Deployment(model=p.model, hardware=p.hardware, gpus=p.gpus, tp=p.tp, pp=p.pp, precision=p.precision,
                      kv_precision=p.kv_precision, engine=p.engine, max_num_seqs=p.max_num_seqs,
                      max_batched_tokens=p.max_batched_tokens, chunked_prefill=p.chunked_prefill,
                      gpu_memory_utilization=p.gpu_memory_utilization,
                      num_gpu_blocks=p.num_gpu_blocks, host_overhead_s=p.host_overhead_s, router=p.router,
                      prefix_caching=p.prefix_caching and not no_prefix_cache)


BuiltCache = dict[tuple[PoolSpec, frozenset[str]], Built]
POOL_KEYS = frozenset(f.name for f in fields(PoolSpec))


def build_pool(p: PoolSpec, kinds: frozenset[str], cache: BuiltCache | None = None) -> Pool:
    """The pool's deployment and fresh replicas, for stages of `kinds` (encode, generate, asr, agent).
    `cache` keeps built deployments (their step-cost tables) for later runs of the same pools."""
    hit = cache.get((p, kinds)) if cache is not None else None
    b = hit if hit is not None else _built(p, kinds)
    if cache is not None:
        cache[(p, kinds)] = b
    return Pool(spec=p, built=b, replicas=make_replicas(b), router=RouterConfig(policy=p.router), kinds=kinds)


def _key(name: str) -> str | None:
    """A system file's pool key of that name, if there is one."""
    return name if name in POOL_KEYS else None


def _built(p: PoolSpec, kinds: frozenset[str]) -> Built:
    encode_only = kinds == frozenset({"encode"})
    try:
        # encoders keep no KV between requests; a Whisper decoder's KV depends on its audio (through
        # cross-attention), so equal prompt tokens are no reusable prefix
        b = build(_deployment(p, encode_only or "asr" in kinds))
    except CoscaleError as exc:  # named by the pool's keys in the system file, not by flags or spec paths
        own = rename_fields(str(exc), lambda f: _key(f.replace("-", "_")), _key)
        raise CoscaleError(f"pool '{p.name}' ({p.model} on {p.hardware}): {own}") from None
    model = b.model
    where = f"pool '{p.name}' ({model.name})"
    if model.head_outputs and kinds - {"encode"}:
        raise CoscaleError(f"{where} is an encoder with no LM head, but stages of kind "
                           f"{', '.join(sorted(kinds - {'encode'}))} decode on it; give them a decoder pool.")
    if model.encoder is not None and kinds != frozenset({"asr"}):
        raise CoscaleError(f"{where} is an encoder-decoder model: only kind = \"asr\" stages run on it.")
    if "asr" in kinds and model.encoder is None:
        raise CoscaleError(f"{where} has no audio encoder; an asr stage needs an encoder-decoder model such as "
                           f"whisper-large-v3.")
    if encode_only:
        b = replace(b, sched=replace(b.sched, chunked_prefill=False))
    if model.encoder is not None:
        window = model.encoder.max_position_embeddings or 1
        plan = build_plan(model.encoder, b.system, b.parallel, b.precision)
        b = replace(b, cost=EncoderDecoderCost(decoder=b.cost, encoder=plan, window=window))
    return b
