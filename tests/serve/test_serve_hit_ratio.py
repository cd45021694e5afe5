"""Prefix-hit ratio of the Mooncake traces replayed through the simulator's caches, against values
computed here independently from the traces' block ids."""

from __future__ import annotations

import gzip
import json
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.serve.tiers.hit_ratio import TraceBlocks, read_block_ids, replay_hit_ratio
from coscale.serve.traces import shipped_trace

CONV = "mooncake_fast25_conversation.jsonl.gz"


def reference_unbounded(rows: list[dict]) -> float:
    """Token-weighted share of prompt tokens in a leading run of block ids seen before (a set)."""
    seen: set[int] = set()
    hit = total = 0
    for r in rows:
        n = 0
        for h in r["hash_ids"]:
            if h not in seen:
                break
            n += 1
        hit += sum(min(512, r["input_length"] - 512 * i) for i in range(n))
        total += r["input_length"]
        seen.update(r["hash_ids"])
    return hit / total


def reference_lru(rows: list[dict], capacity: int) -> float:
    """The same with an LRU of `capacity` ids, each request's ids refreshed tail first (prefix most recent)."""
    lru: OrderedDict[int, None] = OrderedDict()
    hit = total = 0
    for r in rows:
        n = 0
        for h in r["hash_ids"]:
            if h not in lru:
                break
            n += 1
        hit += sum(min(512, r["input_length"] - 512 * i) for i in range(n))
        total += r["input_length"]
        for h in reversed(r["hash_ids"]):
            lru.pop(h, None)
            lru[h] = None
            if len(lru) > capacity:
                lru.popitem(last=False)
    return hit / total


@pytest.fixture(scope="module")
def conv_rows() -> list[dict]:
    with gzip.open(shipped_trace(CONV), "rt") as fh:
        return [json.loads(line) for line in fh]


def test_unbounded_hit_ratio_of_the_mooncake_conversation_trace(conv_rows):
    ref = reference_unbounded(conv_rows)
    assert ref == pytest.approx(0.374, abs=0.0005)  # the 37.4 %
    reqs = read_block_ids(shipped_trace(CONV))
    assert len(reqs) == 12031
    for cache in ("tier", "pool"):
        got = replay_hit_ratio(reqs, None, cache=cache)
        assert abs(got.token_ratio - ref) < 0.02, cache


@pytest.mark.parametrize("capacity", [6000])
def test_lru_hit_ratio_of_the_mooncake_conversation_trace(conv_rows, capacity):
    ref = reference_lru(conv_rows, capacity)
    reqs = read_block_ids(shipped_trace(CONV))
    for cache in ("tier", "pool"):
        assert replay_hit_ratio(reqs, capacity, cache=cache).token_ratio == pytest.approx(ref, abs=0.005), cache


traces = st.lists(st.tuples(st.integers(1, 3000), st.lists(st.integers(0, 12), min_size=0, max_size=6)),
                  min_size=1, max_size=40)


def _trace(raw) -> tuple[list[dict], list[TraceBlocks]]:
    rows = []
    for length, tail in raw:
        n = -(-length // 512)
        ids = [0, *tail][:n]  # a shared first block, then shared or fresh ids
        ids += [1000 + len(rows) * 10 + i for i in range(n - len(ids))]
        rows.append({"input_length": length, "hash_ids": ids})
    return rows, [TraceBlocks(input_tokens=r["input_length"], ids=tuple(r["hash_ids"])) for r in rows]


@settings(max_examples=80, deadline=None)
@given(raw=traces, capacity=st.integers(1, 30))
def test_hit_ratio_properties(raw, capacity):
    rows, reqs = _trace(raw)
    unbounded = replay_hit_ratio(reqs)
    assert unbounded.token_ratio == pytest.approx(reference_unbounded(rows))
    assert replay_hit_ratio(reqs, cache="pool").token_ratio == pytest.approx(unbounded.token_ratio)
    lru = replay_hit_ratio(reqs, capacity)
    assert lru.token_ratio == pytest.approx(reference_lru(rows, capacity))
    assert 0.0 <= lru.token_ratio <= unbounded.token_ratio + 1e-12
    assert replay_hit_ratio(reqs, capacity + 5).token_ratio >= lru.token_ratio - 1e-12  # LRU inclusion
    split = replay_hit_ratio(reqs, None, caches=3)
    assert split.token_ratio <= unbounded.token_ratio + 1e-12  # separate caches never share more


def _engine_hit_ratio(n: int) -> tuple[float, float]:
    """The whole serving engine (paged pool at 16-token blocks, chained hashes, publish on prefill) on the
    first `n` requests of the shipped Mooncake head, spaced so each is prefilled before the next looks,
    against the trace-level reference on the same requests."""
    from dataclasses import replace

    from coscale.serve.engine import simulate
    from coscale.serve.traces import read_trace
    from coscale.serve.workload import OpenLoop

    from .conftest import LinearCost, make_replicas

    name = "mooncake_fast25_conversation_head3600.jsonl"
    reqs = tuple(replace(r, arrival_s=float(i)) for i, r in enumerate(read_trace(shipped_trace(name))[:n]))
    blocks = sum(-(-(r.input_tokens + r.output_tokens) // 16) for r in reqs) + 64  # never evicts: unbounded
    reps = make_replicas(LinearCost(fixed_s=1e-6, per_token_s=1e-9, per_attended_s=0.0), num_blocks=blocks,
                         max_batched_tokens=1 << 20, max_num_seqs=64)
    res = simulate(reps, OpenLoop(requests=reqs))
    got = sum(s.hit_tokens for s in res.sequences) / sum(s.req.input_tokens for s in res.sequences)
    with open(shipped_trace(name)) as fh:
        rows = [json.loads(line) for line in fh][:n]
    return got, reference_unbounded(rows)


def test_the_serving_engine_reaches_the_trace_hit_ratio():
    got, ref = _engine_hit_ratio(600)
    assert abs(got - ref) < 0.02


@pytest.mark.slow
def test_the_serving_engine_reaches_the_trace_hit_ratio_on_the_whole_shipped_head():
    got, ref = _engine_hit_ratio(3600)
    assert abs(got - ref) < 0.02
