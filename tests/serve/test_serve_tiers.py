"""KV tiers: conservation of blocks and bytes, zero capacity = no offload bit for bit, faster tiers
never slower, offload losing where it should, and the tier chain's LRU against a list model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.hardware.catalog import load_hardware
from coscale.serve.engine import simulate
from coscale.serve.tiers.chain import LruTier, TierChain
from coscale.serve.tiers.config import OffloadConfig
from coscale.serve.tiers.media import TierMedium
from coscale.serve.tiers.report import tier_report
from coscale.serve.tiers.setup import attach_media, attach_tiers
from coscale.serve.workload import OpenLoop, session_requests

from .conftest import LinearCost, make_replicas

BLOCK_BYTES = 2 * 2**20  # per GPU: Llama-3.1-8B BF16, 16 tokens


def medium(name: str, blocks: int, gbps: float = 64.0, latency_s: float = 2e-6, shared: bool = False) -> TierMedium:
    return TierMedium(name=name, capacity_blocks=blocks, block_bytes=BLOCK_BYTES, gpus=1, read_Bps=gbps * 1e9,
                      write_Bps=gbps * 1e9, latency_s=latency_s, shared=shared, source="test")


def sessions(n_sessions: int = 24, turns: int = 4, seed: int = 3, isl: int = 600, osl: int = 40) -> OpenLoop:
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.uniform(0, 20, n_sessions))
    isl_a = rng.integers(isl // 2, isl, n_sessions * turns)
    osl_a = rng.integers(osl // 2, osl, n_sessions * turns)
    return OpenLoop(requests=session_requests(starts, turns, 5.0, isl_a, osl_a, rng))


def run(media=None, cfg=OffloadConfig(tiers=("dram",)), n=1, blocks=300, wl=None, cost=None):
    reps = make_replicas(cost or LinearCost(), n=n, num_blocks=blocks)
    if media is not None:
        attach_media(reps, media, cfg)
    return simulate(reps, wl or sessions())


def fingerprint(res) -> tuple:
    seqs = tuple((s.req.rid, s.first_token_s, s.finish_s, s.hit_tokens, s.preemptions, s.prefilled)
                 for s in res.sequences)
    logs = tuple(tuple(np.concatenate([v.ravel() for v in r.log.arrays().values()]).tolist()) for r in res.replicas)
    itl = tuple(tuple(r.itl_values) for r in res.replicas)
    return seqs, logs, itl, res.simulated_s


def test_zero_capacity_tiers_equal_no_offload_bit_for_bit():
    hw = load_hardware("h100-sxm")
    base = make_replicas(LinearCost(), n=2, num_blocks=300)
    tiered = make_replicas(LinearCost(), n=2, num_blocks=300)
    attach_tiers(tiered, OffloadConfig(tiers=("dram", "nvme", "shared"), dram_gib=0, nvme_gib=0, shared_gib=0), hw,
                 BLOCK_BYTES, 1, 2)
    assert all(r.tiers is not None and not r.tiers.chain.levels for r in tiered)  # the hooks ran, with no tier
    a, b = simulate(base, sessions()), simulate(tiered, sessions())
    assert fingerprint(a) == fingerprint(b)
    assert sum(r.tiers.gpu_hit_blocks for r in tiered) > 0


def _gpu_keys(rep) -> set:
    pool = rep.pool
    keys = set(pool._cached)
    keys |= {(int(r), int(i)) for r, i in zip(pool._urid, pool._uidx, strict=True) if r >= 0}
    return keys


def test_every_block_in_exactly_one_place_and_bytes_conserved():
    fast = (medium("dram", 400, gbps=1e4), medium("nvme", 300, gbps=1e3))
    res = run(fast, n=2)
    rep = tier_report([r.tiers for r in res.replicas])
    assert rep is not None and rep["stored_blocks"] > 0 and rep["dropped_blocks"] > 0
    for r in res.replicas:
        ch = r.tiers.chain
        levels = [set(lv.keys) for lv in ch.levels]
        assert not levels[0] & levels[1]  # one tier at a time
        assert all(len(lv) <= lv.medium.capacity_blocks for lv in ch.levels)
        assert not (levels[0] | levels[1]) & _gpu_keys(r)  # in GPU memory or in a tier, never both
        assert ch.stored == ch.held() + ch.dropped + ch.loaded
        assert r.tiers.recomputed_hit_blocks == 0  # the tiers are fast: every hit is loaded
    bb = fast[0].replica_block_bytes
    held = sum(t["held_blocks"] for t in rep["tiers"]) * bb
    loaded_out = sum(r.tiers.chain.loaded for r in res.replicas) * bb
    assert rep["stored_bytes"] == pytest.approx(held + rep["dropped_blocks"] * bb + loaded_out)
    assert rep["loaded_bytes"] == pytest.approx(loaded_out)


def test_tiers_raise_hits_and_cut_ttft_on_multi_turn_sessions():
    base = run(None)
    tiered = run((medium("dram", 2000),))
    ttft = [float(np.mean([s.first_token_s - s.req.arrival_s for s in r.sequences])) for r in (base, tiered)]
    hits = [sum(s.hit_tokens for s in r.sequences) for r in (base, tiered)]
    assert hits[1] > 1.5 * hits[0]
    assert ttft[1] < ttft[0]


@settings(max_examples=12, deadline=None)
@given(gbps=st.sampled_from([0.5, 2.0, 7.0, 64.0]), factor=st.sampled_from([2.0, 10.0]),
       latency=st.sampled_from([2e-6, 1e-4]))
def test_a_faster_tier_is_never_slower(gbps, factor, latency):
    slow = run((medium("dram", 1500, gbps=gbps, latency_s=latency),), blocks=250)
    fast = run((medium("dram", 1500, gbps=gbps * factor, latency_s=latency / factor),), blocks=250)
    for f in (lambda s: s.first_token_s - s.req.arrival_s, lambda s: s.finish_s - s.req.arrival_s):
        assert np.mean([f(s) for s in fast.sequences]) <= np.mean([f(s) for s in slow.sequences]) * (1 + 1e-12)
    assert sum(r.tiers.loaded_blocks for r in fast.replicas) >= sum(r.tiers.loaded_blocks for r in slow.replicas)


def test_offload_loses_on_a_slow_tier_and_with_write_through_when_the_gpu_cache_hits():
    # a slow tier: stores on eviction cost more than the few loads it pays back
    base = run(None, blocks=300)
    slow = run((medium("nvme", 2000, gbps=0.2, latency_s=1e-3),), blocks=300)
    assert slow.simulated_s > base.simulated_s
    assert sum(r.tiers.recomputed_hit_blocks for r in slow.replicas) > 0  # recomputing beat loading
    # ample GPU memory (every repeat hits there) + write-through: each prefilled block is copied for nothing
    big = 20000
    base = run(None, blocks=big)
    wt = run((medium("dram", 4000, gbps=8.0),), cfg=OffloadConfig(tiers=("dram",), store="write_through"), blocks=big)
    assert sum(r.tiers.loaded_blocks for r in wt.replicas) == 0
    assert wt.simulated_s > base.simulated_s
    ttft = [np.mean([s.first_token_s - s.req.arrival_s for s in r.sequences]) for r in (base, wt)]
    assert ttft[1] > ttft[0]


def test_keep_prompt_and_decode_publishes_answers_for_the_next_turn():
    prompt = run((medium("dram", 4000),), blocks=20000)
    both = run((medium("dram", 4000),), cfg=OffloadConfig(tiers=("dram",), keep="prompt+decode"), blocks=20000)
    hits = [sum(s.hit_tokens for s in r.sequences) for r in (prompt, both)]
    assert hits[1] > hits[0]  # turn k+1 also hits turn k's answer


def test_a_pod_shared_tier_serves_every_replica():
    shared = (medium("shared", 3000, gbps=5.0, latency_s=5e-4, shared=True),)
    res = run(shared, cfg=OffloadConfig(tiers=("shared",)), n=3, blocks=200)
    assert len({id(r.tiers.chain.levels[0]) for r in res.replicas}) == 1
    rep = tier_report([r.tiers for r in res.replicas])
    assert len(rep["tiers"]) == 1 and rep["tiers"][0]["shared_by_pod"]
    total = sum(r.tiers.chain.stored for r in res.replicas)
    assert total == sum(r.tiers.chain.held() for r in res.replicas[:1]) + sum(
        r.tiers.chain.dropped + r.tiers.chain.loaded for r in res.replicas)


def test_simulation_with_tiers_is_deterministic():
    media = (medium("dram", 500), medium("nvme", 800, gbps=7.0, latency_s=1e-4))
    assert fingerprint(run(media, n=2)) == fingerprint(run(media, n=2))


# ---- the chain against a list model -----------------------------------------------------------------

ops = st.lists(st.tuples(st.sampled_from(["store", "load"]), st.lists(st.integers(0, 30), min_size=1, max_size=6)),
               max_size=60)


def _model_store(tiers: list[list[int]], caps: list[int], keys: list[int]) -> int:
    """The store rule key by key on lists (least recently used first): a key held anywhere is refreshed
    there; a new one enters the top and the overflow cascades down, refreshed and dropped in a tier that
    holds it already (the shared one). Returns the keys dropped."""
    dropped = 0
    for k in keys:
        where = next((i for i, t in enumerate(tiers) if k in t), -1)
        if where >= 0:
            tiers[where].remove(k)
            tiers[where].append(k)
            continue
        i, moving = 0, k
        while True:
            if i == len(caps):
                dropped += 1
                break
            if i > 0 and moving in tiers[i]:
                tiers[i].remove(moving)
                tiers[i].append(moving)
                dropped += 1
                break
            tiers[i].append(moving)
            if len(tiers[i]) <= caps[i]:
                break
            moving = tiers[i].pop(0)
            i += 1
    return dropped


@settings(max_examples=200, deadline=None)
@given(caps=st.lists(st.integers(1, 6), min_size=1, max_size=3), program=ops, exclusive=st.booleans())
def test_chain_matches_a_list_model(caps, program, exclusive):
    chain = TierChain(levels=tuple(LruTier(medium=medium(f"t{i}", c)) for i, c in enumerate(caps)),
                      exclusive=exclusive)
    model: list[list[int]] = [[] for _ in caps]  # each tier: least recently used first
    dropped = 0
    for op, keys in program:
        if op == "store":
            dropped += _model_store(model, caps, keys)
            chain.store(keys)
        else:
            run_ = chain.run(keys)
            expect = []
            for k in keys:
                w = next((i for i, t in enumerate(model) if k in t), -1)
                if w < 0:
                    break
                expect.append(w)
            assert run_ == expect
            uniq = list(dict.fromkeys(keys[:len(run_)]))
            tiers = [chain.where(k) for k in uniq]
            chain.load(uniq, tiers)
            for k, w in zip(uniq, tiers, strict=True):
                model[w].remove(k)
                if not exclusive:
                    model[w].append(k)
        assert [list(lv.keys) for lv in chain.levels] == model
        assert chain.dropped == dropped
        assert chain.stored == chain.held() + chain.dropped + chain.loaded
        for lv in chain.levels:
            assert lv.written == len(lv) + lv.moved_out + (lv.read if exclusive else 0)


@settings(max_examples=200, deadline=None)
@given(caps=st.lists(st.integers(1, 5), min_size=1, max_size=2), shared_cap=st.integers(1, 8),
       program=st.lists(st.tuples(st.integers(0, 1), st.lists(st.integers(0, 12), min_size=1, max_size=8)),
                        max_size=40))
def test_two_chains_sharing_a_pod_tier_match_the_list_model(caps, shared_cap, program):
    """Two replicas whose chains end in one pod-shared tier: a key one replica pushes down may already sit
    there (the other put it), which the batch path must treat exactly as the key-by-key rule does."""
    pod = LruTier(medium=medium("pod", shared_cap, shared=True))
    chains = [TierChain(levels=(*(LruTier(medium=medium(f"r{r}t{i}", c)) for i, c in enumerate(caps)), pod))
              for r in range(2)]
    own: list[list[list[int]]] = [[[] for _ in caps] for _ in range(2)]
    shared: list[int] = []
    dropped = [0, 0]
    for replica, keys in program:
        tiers = [*own[replica], shared]
        dropped[replica] += _model_store(tiers, [*caps, shared_cap], keys)
        chains[replica].store(keys)
        for r in range(2):
            assert [list(lv.keys) for lv in chains[r].levels] == [*own[r], shared]
            assert chains[r].dropped == dropped[r]
    assert sum(c.stored for c in chains) == sum(len(lv) for c in chains for lv in c.levels[:-1]) + len(pod) \
        + sum(c.dropped for c in chains)


def test_replica_block_bytes_scale_with_gpus():
    m = replace(medium("dram", 10), gpus=4)
    assert m.replica_block_bytes == 4 * BLOCK_BYTES
    assert m.read_s(0) == 0.0 and m.read_s(2) == pytest.approx(2e-6 + 2 * BLOCK_BYTES / 64e9)
