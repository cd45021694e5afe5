"""The paged KV pool against a plain list model of vLLM's free-block queue, and the KV capacity rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.serve.kv import BlockPool


class ListPool:
    """Reference: every free block in one list (front = evicted first), hashes kept until reuse."""

    def __init__(self, n: int) -> None:
        self.queue = list(range(n))
        self.ref = [0] * n
        self.hash: list[int | None] = [None] * n
        self.cached: dict[int, int] = {}

    def allocate(self, k: int) -> list[int]:
        out = []
        for _ in range(k):
            b = self.queue.pop(0)
            if self.hash[b] is not None and self.cached.get(self.hash[b]) == b:
                del self.cached[self.hash[b]]
            self.hash[b] = None
            self.ref[b] = 1
            out.append(b)
        return out

    def hit(self, hashes: list[int]) -> list[int]:
        out = []
        for h in hashes:
            if h not in self.cached:
                break
            out.append(self.cached[h])
        return out

    def take(self, blocks: list[int]) -> None:
        for b in blocks:
            if self.ref[b] == 0:
                self.queue.remove(b)
            self.ref[b] += 1

    def register(self, b: int, h: int) -> None:
        if self.hash[b] is None and h not in self.cached:
            self.hash[b] = h
            self.cached[h] = b

    def release(self, blocks: list[int]) -> None:
        for b in reversed(blocks):
            self.ref[b] -= 1
            if self.ref[b] == 0:
                self.queue.append(b)


ops = st.lists(st.tuples(st.sampled_from(["alloc", "free", "hit"]), st.integers(0, 6), st.integers(0, 3)),
               max_size=60)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 24), program=ops)
def test_pool_matches_the_list_model(n, program):
    pool, ref = BlockPool(num_blocks=n, block_size=4), ListPool(n)
    held: list[list[int]] = []
    for op, k, h in program:
        if op == "alloc" and k <= pool.free:
            a, b = pool.allocate(k), ref.allocate(k)
            assert a == b
            for i, blk in enumerate(a):  # content: a chain of small ids so prompts share prefixes
                pool.register(blk, h * 10 + i)
                ref.register(blk, h * 10 + i)
            held.append(a)
        elif op == "free" and held:
            blocks = held.pop(k % len(held))
            pool.release(blocks)
            ref.release(blocks)
        elif op == "hit":
            want = [h * 10 + i for i in range(k)]
            a, b = pool.longest_hit(tuple(want), k), ref.hit(want)
            assert a == b
            if pool.unreferenced(a) <= pool.free:
                pool.take(a)
                ref.take(b)
                held.append(a)
        assert pool.free == len(ref.queue)
        assert pool.used == n - len(ref.queue)


def test_capacity_rules_follow_each_engine():
    from coscale.serve.scenario import Deployment, build
    runtime = 1.5 * 2**30  # CUDA context + cuBLAS/NCCL workspaces: the stated assumption (nvidia-smi idle)
    v = build(Deployment(model="llama-3.1-8b", hardware="h100-sxm", engine="vllm"))
    b = v.budget
    cap = v.system.hardware.memory.hbm.capacity_bytes
    assert b.kv_bytes == pytest.approx(0.9 * cap - b.weights_bytes - b.activation_bytes - runtime)
    assert v.num_blocks == int(b.kv_bytes // b.block_bytes)
    # Llama-3.1-8B: 32 layers x 8 KV heads x 128 x (K+V) x 2 bytes x 16 tokens = 2 MiB per block
    assert b.block_bytes == 32 * 8 * 128 * 2 * 2 * 16
    s = build(Deployment(model="llama-3.1-8b", hardware="h100-sxm", engine="sglang")).budget
    assert s.kv_bytes == pytest.approx(0.88 * cap - s.weights_bytes)
    t = build(Deployment(model="llama-3.1-8b", hardware="h100-sxm", engine="trtllm")).budget
    assert t.kv_bytes == pytest.approx(0.9 * (cap - t.weights_bytes - t.activation_bytes - runtime))
    pinned = build(Deployment(model="llama-3.1-8b", hardware="h100-sxm", num_gpu_blocks=1234))
    assert pinned.num_blocks == 1234
    # TP8 splits the 8 KV heads: a block per GPU is an eighth, so the pool holds more tokens
    tp = build(Deployment(model="llama-3.1-70b", hardware="h100-sxm", tp=8)).budget
    assert tp.block_bytes == 80 * 8 * 128 * 2 * 2 * 16 / 8


@settings(max_examples=100, deadline=None)
@given(rid=st.integers(0, 2**31 - 1), shared=st.integers(0, 3), own=st.integers(1, 5))
def test_evicted_blocks_are_journalled_under_the_keys_the_tiers_look_up(rid, shared, own):
    """A prompt's blocks, evicted from GPU memory, reach the tiers' journal under the keys a later lookup
    builds (`block_keys`): the shared hashes, then the keys of the blocks unique to the request."""
    from coscale.serve.kv import PromptKeys
    from coscale.serve.tiers.replica_tiers import block_keys

    n = shared + own
    keys = PromptKeys(rid=rid, shared=tuple(range(-shared, 0)), n=n)
    pool = BlockPool(num_blocks=n, block_size=16, evicted=[])
    blocks = pool.allocate(n)
    pool.publish(blocks, keys, 0, n)
    pool.release(blocks)
    pool.allocate(n)  # hands every block out again: all their content is evicted
    lookup = block_keys(keys, 0, n)
    assert len(set(lookup)) == n and sorted(pool.evicted, key=lookup.index) == lookup
