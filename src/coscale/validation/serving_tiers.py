"""KV-tier and prefix-hit cases of the `serving` validation category (`serving_tiers_cases.json`).

- `hit_ratio`: a Mooncake trace's block ids replayed through the simulator's LRU tier store
  (`serve.tiers.hit_ratio`); token-weighted hit ratio in %.
- `global_vs_local`: the hit ratio of one global cache over that of `caches` local ones (requests
  spread round-robin), each local cache `capacity_blocks`, the global one the sum.
- `offload_throughput`: an offline batch of repeated prompts, request throughput with the KV tier
  over that without (the whole serving simulator, tiers' store and load on the critical path).
- `store_overhead`: the store run itself: the run time with the tier (every prefilled block
  written to it on the critical path) over the run time without tiers.
- `warm_speedup`: a store run fills the tier, the engine restarts (cold GPU prefix cache, same
  tier), a retrieve run repeats the prompts; the run time without tiers over the retrieve run's.
- `prefix_ttft_reduction`: one long prompt whose leading `prefix_share` a store run has put in the
  tier; the TTFT reduction (%) of the retrieve run (tier load + prefill of the rest, after a restart)
  against prefilling the whole prompt.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import numpy as np

from coscale.serve.engine import SimResult, simulate
from coscale.serve.request import Request
from coscale.serve.scenario import Deployment, build, make_replicas
from coscale.serve.tiers.config import offload_config
from coscale.serve.tiers.hit_ratio import read_block_ids, replay_hit_ratio
from coscale.serve.tiers.replica_tiers import ReplicaTiers
from coscale.serve.traces import shipped_trace
from coscale.serve.workload import OpenLoop

MODEL_PREFIX = "validation:"


def load_tier_cases() -> list[dict[str, Any]]:
    return json.loads(resources.files("coscale.validation").joinpath("serving_tiers_cases.json").read_text())["cases"]


def _deployment(case: dict[str, Any], with_tiers: bool) -> Deployment:
    d = dict(case["deployment"])
    if d["model"].startswith(MODEL_PREFIX):
        d["model"] = str(resources.files("coscale.validation").joinpath("configs", d["model"][len(MODEL_PREFIX):]
                                                                         + ".json"))
    return Deployment(**d, kv_offload=offload_config(case["offload"]) if with_tiers else None)


def _ids(tag: str, p: int, tokens: int) -> tuple[int, ...]:
    return tuple(hash((tag, p, b)) & (2**62 - 1) for b in range(-(-tokens // 512)))


def _span(res: SimResult) -> float:
    return max(s.finish_s for s in res.sequences) - min(s.req.arrival_s for s in res.sequences)


def _offload_throughput(case: dict[str, Any]) -> tuple[float, str]:
    rng = np.random.default_rng(0)
    lens = rng.integers(case["input_min"], case["input_max"] + 1, case["prompts"])
    order = np.repeat(np.arange(case["prompts"]), case["repeats"])
    rng.shuffle(order)
    reqs = tuple(Request(rid=i, arrival_s=0.0, input_tokens=int(lens[p]), output_tokens=case["output_tokens"],
                         prefix_hashes=_ids("prompt", int(p), int(lens[p]))) for i, p in enumerate(order.tolist()))
    rates, notes = [], []
    for tiers in (False, True):
        b = build(_deployment(case, tiers))
        reps = make_replicas(b)
        res = simulate(reps, OpenLoop(requests=reqs))
        rate = len(res.sequences) / _span(res)
        rates.append(rate)
        hit = sum(s.hit_tokens for s in res.sequences) / sum(s.req.input_tokens for s in res.sequences)
        extra = ""
        if tiers and reps[0].tiers is not None:
            ch = reps[0].tiers.chain
            extra = f", GPU waited {ch.store_s:.0f} s on stores and {ch.load_s:.0f} s on loads"
        notes.append(f"{'with' if tiers else 'without'} the tier {rate:.2f} req/s (prefix hits {hit:.0%}{extra})")
    return rates[1] / rates[0], f"{b.num_blocks} GPU KV blocks of {b.block_size}; " + "; ".join(notes)


def _retrieve(case: dict[str, Any], store_reqs: tuple[Request, ...],
              reqs: tuple[Request, ...]) -> tuple[SimResult, ReplicaTiers]:
    """A store run of `store_reqs` fills the tier; the engine restarts (cold GPU prefix cache, the same
    tier store) and runs `reqs`."""
    b = build(_deployment(case, True))
    store = make_replicas(b)
    simulate(store, OpenLoop(requests=store_reqs))
    warm = make_replicas(replace(b, offload=None))
    for old, new in zip(store, warm, strict=True):
        new.tiers, new.pool.evicted = old.tiers, []
        new.pool.published = [] if old.pool.published is not None else None
    res = simulate(warm, OpenLoop(requests=reqs))
    t = warm[0].tiers
    assert t is not None
    return res, t


def _without_tiers(case: dict[str, Any], reqs: tuple[Request, ...]) -> SimResult:
    """`reqs` on the case's deployment with no KV tiers (the recompute baseline)."""
    return simulate(make_replicas(build(_deployment(case, False))), OpenLoop(requests=reqs))


def _documents(case: dict[str, Any]) -> tuple[Request, ...]:
    """`requests` distinct prompts of `input_tokens`, all arriving at once, one output token each."""
    n, isl = case["requests"], case["input_tokens"]
    return tuple(Request(rid=i, arrival_s=0.0, input_tokens=isl, output_tokens=1, prefix_hashes=_ids("doc", i, isl))
                 for i in range(n))


def _store_overhead(case: dict[str, Any]) -> tuple[float, str]:
    reqs = _documents(case)
    cold = _without_tiers(case, reqs)
    reps = make_replicas(build(_deployment(case, True)))
    stored = simulate(reps, OpenLoop(requests=reqs))
    t = reps[0].tiers
    assert t is not None
    medium = t.chain.levels[0].medium
    note = (f"recompute {_span(cold):.2f} s, store run {_span(stored):.2f} s ({t.chain.stored} blocks written to "
            f"{medium.name} at {medium.write_Bps / 1e9:.3g} GB/s, the GPU waiting {t.chain.store_s:.2f} s)")
    return _span(stored) / _span(cold), note


def _warm_speedup(case: dict[str, Any]) -> tuple[float, str]:
    reqs = _documents(case)
    cold = _without_tiers(case, reqs)
    res, t = _retrieve(case, reqs, reqs)
    note = (f"recompute {_span(cold):.2f} s, warm {_span(res):.2f} s ({t.loaded_blocks} blocks loaded in "
            f"{t.chain.load_s:.2f} s, {t.recomputed_hit_blocks} tier hits recomputed)")
    return _span(cold) / _span(res), note


def _prefix_ttft_reduction(case: dict[str, Any]) -> tuple[float, str]:
    isl = case["input_tokens"]
    prefix = int(isl * case["prefix_share"]) // 512 * 512  # whole 512-token blocks of the trace format
    doc = _ids("doc", 0, prefix)
    stored = Request(rid=0, arrival_s=0.0, input_tokens=prefix, output_tokens=1, prefix_hashes=doc)
    full = Request(rid=0, arrival_s=0.0, input_tokens=isl, output_tokens=case["output_tokens"],
                   prefix_hashes=doc + _ids("rest", 0, isl - prefix))

    def ttft(res: SimResult) -> float:
        (s,) = res.sequences
        return s.first_token_s - s.req.arrival_s

    cold = ttft(_without_tiers(case, (full,)))
    res, t = _retrieve(case, (stored,), (full,))
    warm, load = ttft(res), t.chain.load_s
    return 100 * (1 - warm / cold), (
        f"TTFT {cold:.2f} s prefilling all {isl:,} tokens, {warm:.2f} s with {prefix:,} loaded from the tier "
        f"({t.loaded_blocks} blocks in {load:.2f} s) and {isl - prefix:,} prefilled; prefill time alone "
        f"-{100 * (1 - (warm - load) / cold):.1f} %")


def predict_tier_case(case: dict[str, Any]) -> tuple[float, str]:
    kind = case["kind"]
    if kind in ("hit_ratio", "global_vs_local"):
        reqs = read_block_ids(shipped_trace(case["trace"]))
        if kind == "hit_ratio":
            h = replay_hit_ratio(reqs, case["capacity_blocks"])
            return 100 * h.token_ratio, f"{h.requests} requests, block-weighted {h.block_ratio:.1%}"
        k, cap = case["caches"], case["capacity_blocks"]
        glob = replay_hit_ratio(reqs, cap * k)
        local = replay_hit_ratio(reqs, cap, caches=k, placement=case["placement"])
        other = "round_robin" if case["placement"] == "kv_aware" else "kv_aware"
        alt = replay_hit_ratio(reqs, cap, caches=k, placement=other)
        return glob.token_ratio / local.token_ratio, (
            f"global {glob.token_ratio:.1%}, {k} local caches {local.token_ratio:.1%} ({case['placement']}); placed "
            f"{other} instead the local caches hit {alt.token_ratio:.1%} "
            f"(ratio {glob.token_ratio / alt.token_ratio:.3g})")
    if kind == "offload_throughput":
        return _offload_throughput(case)
    if kind == "store_overhead":
        return _store_overhead(case)
    if kind == "warm_speedup":
        return _warm_speedup(case)
    if kind == "prefix_ttft_reduction":
        return _prefix_ttft_reduction(case)
    raise ValueError(f"unknown tier case kind {kind!r}")  # a bug in the shipped case file


def run_tier_cases(ids: tuple[str, ...] | None = None) -> list:
    from coscale.validation.runner import CaseResult

    out = []
    for case in load_tier_cases():
        if ids is not None and case["id"] not in ids:
            continue
        predicted, note = predict_tier_case(case)
        out.append(CaseResult(id=case["id"], category="serving", calibration=False, description=case["description"],
                              source=case["source"], predicted=predicted, published=float(case["published"]),
                              unit=case["unit"], note=f"{note}. Assumptions: {case['assumptions']}"))
    return out
