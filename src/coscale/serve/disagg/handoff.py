"""Decode blocks and the KV hand-off: a request asks a decode instance for the blocks of its prompt +
first token when it arrives; the instance grants reservations in arrival order at its scheduling
points; a granted, prefilled request's KV is sent over the link into those blocks and the request
joins the decode queue with its prompt's KV present (`enqueue_preloaded`).

With decode prefix reuse (vLLM's NixlConnector: the decode side pulls only the prompt blocks beyond
its local prefix-cache hit) the decode instance is the one minimising Dynamo's KV-router cost, the
grant pins the cached prefix it finds then (and loads from the instance's KV tiers what is quicker to
read than to pull) and reserves blocks for the rest only, and only the rest crosses the link.
"""

from __future__ import annotations

from coscale.errors import CoscaleError
from coscale.serve.disagg.state import DECODE, InFlight, KvArrive, Reservation, State, step_end_event
from coscale.serve.kv import BlockPool, PromptKeys
from coscale.serve.lockstep import cut_run, idle
from coscale.serve.replica import Replica
from coscale.serve.request import Request, prompt_keys
from coscale.serve.router import cached_blocks
from coscale.serve.sequence import Sequence


def ask_blocks(st: State, req: Request, now: float) -> list:
    """Pick the decode instance (fewest requests assigned; with decode prefix reuse, the lowest KV-router
    cost) and queue the request's block reservation there; an idle instance grants it now, a busy one
    at the end of its current step."""
    keys = None
    if st.b.decode_prefix_reuse:
        keys = prompt_keys(req, st.decode[0].pool.block_size, st.shared[req.rid]
                           if st.decode[0].pool.block_size == st.prefill[0].pool.block_size else None)
        dst = _reuse_target(st, req, keys)
    else:
        dst = min(range(len(st.decode)), key=lambda j: (st.decode[j].load + st.inbound[j], j))
    dec = st.decode[dst]
    check_fits(dec, req)
    res = Reservation(rid=req.rid, dst=dst, need=dec.pool.blocks_for(req.input_tokens + 1), keys=keys)
    st.reserved[req.rid] = res
    st.pending[dst].append(res)
    st.inbound[dst] += 1
    if idle(dec):
        return grant(st, dst, now)
    return step_end_event(DECODE, cut_run(dec, now))  # granted at the end of the step that is running now


def _reusable(pool: BlockPool, req: Request, keys: PromptKeys | None) -> list[int]:
    """The decode instance's cached blocks of the prompt's leading blocks (at least its last token is
    pulled, as an engine recomputes at least one prompt token); none without decode prefix reuse."""
    if keys is None:
        return []
    return pool.longest_hit(keys.shared, (req.input_tokens - 1) // pool.block_size)


def _reuse_target(st: State, req: Request, keys: PromptKeys) -> int:
    """Dynamo's KV-router cost over the decode instances: overlap weight x prompt blocks to pull (not in
    the instance's GPU memory nor its KV tiers) +
    blocks the instance holds + blocks its queued reservations and arrived requests still need + the
    request's own; ties to the lowest index."""
    w = st.b.decode_overlap_weight
    blocks = st.decode[0].pool.blocks_for(req.input_tokens)

    def cost(j: int) -> tuple[float, int]:
        dec = st.decode[j]
        pool = dec.pool
        owed = sum(r.need - len(r.blocks) for r in st.pending[j])
        owed += _owed_to_arrived(dec)
        return w * (blocks - cached_blocks(dec, req, keys)) + pool.used + owed + blocks, j

    return min(range(len(st.decode)), key=cost)


def _owed_to_arrived(dec: Replica) -> int:
    """Blocks the decode instance's arrived, not yet admitted requests still need for prompt + first token."""
    pool = dec.pool
    return sum(pool.blocks_for(s.req.input_tokens + 1) - len(s.blocks) for s in dec.waiting if s.preloaded)


def _load_from_tiers(st: State, dec: Replica, req: Request, keys: PromptKeys, gpu_hit: int) -> int:
    """Prompt blocks after the GPU hit that the decode instance's KV tiers hold, loaded into the granted
    blocks when reading them locally is quicker than pulling them over the link (the tiers' own
    all-or-nothing rule, `ReplicaTiers.plan_load`); the decode GPU waits for the load at its next
    step. Returns the blocks loaded."""
    tiers = dec.tiers
    assert tiers is not None
    bs = dec.pool.block_size
    loaded = tiers.plan_load(keys, gpu_hit, (req.input_tokens - 1) // bs,
                             lambda m: st.b.path.transfer_time(st.b.kv_bytes(m * bs)))
    tiers.commit_load(gpu_hit, req.input_tokens)
    return loaded


def grant(st: State, dst: int, now: float) -> list:
    """Grant the instance's queued reservations in order while its free blocks, less what its
    arrived-but-not-admitted requests need, cover them (a reused prefix pinned, fresh blocks for the
    rest); send the KV of those already prefilled."""
    dec, queue = st.decode[dst], st.pending[dst]
    if not queue:
        return []
    pool = dec.pool
    free = pool.free - _owed_to_arrived(dec)
    out = []
    while queue:
        res = queue[0]
        hit = _reusable(pool, st.orig[res.rid], res.keys)
        fresh = res.need - len(hit)
        if fresh + pool.unreferenced(hit) > free:
            break
        queue.popleft()
        free -= fresh + pool.unreferenced(hit)
        pool.take(hit)
        res.blocks = hit + pool.allocate(fresh)
        res.hit = len(hit)
        if dec.tiers is not None and res.keys is not None:
            res.loaded = _load_from_tiers(st, dec, st.orig[res.rid], res.keys, len(hit))
        res.granted_s = now
        if res.done is not None:
            out.append(send(st, res))
    return out


def send(st: State, res: Reservation) -> tuple[float, KvArrive]:
    """Start the transfer of a prefilled request into its granted blocks: streamed behind the
    prefill from the later of the first layer and the grant; after the prefill when granted after it."""
    assert res.done is not None
    s, src, layer_ready, end = res.done
    b = st.b
    req = st.orig[res.rid]
    reused = (res.hit + res.loaded) * st.decode[res.dst].pool.block_size
    if reused:
        st.decode_reused[req.rid] = reused
    nbytes = b.kv_bytes(req.input_tokens - reused)
    t = st.links.schedule(rid=req.rid, src=src, dst=res.dst, nbytes=nbytes, duration_s=b.path.transfer_time(nbytes),
                          layers=b.layers, ready_s=layer_ready, prefill_end_s=end, granted_s=res.granted_s)
    st.block_wait[req.rid] = max(res.granted_s - end, 0.0)
    st.flight[req.rid] = InFlight(req=req, pre=s, src=src, dst=res.dst, transfer=t)
    return (t.finish_s, KvArrive(rid=req.rid))


def check_fits(rep: Replica, req: Request) -> None:
    need = rep.pool.blocks_for(req.input_tokens + req.output_tokens)
    if need > rep.pool.num_blocks:
        raise CoscaleError(
            f"request {req.rid} ({req.input_tokens} + {req.output_tokens} tokens) needs {need} KV blocks but a decode "
            f"instance holds {rep.pool.num_blocks}; give the decode pool more memory (--decode-tp, --decode-gpus, a "
            f"smaller --kv-precision) or shorten the request.")


def enqueue_preloaded(rep: Replica, req: Request, first_token_s: float, shared: tuple[int, ...] | None = None,
                      keys: PromptKeys | None = None, held: list[int] | None = None) -> Sequence:
    """The request joins the decode queue with its prompt's KV present and its first token sampled
    (`shared`: the prompt's shared block hashes at this pool's block size, when known; `keys`: its keys
    at this pool's block size, when built already; `held`: blocks it holds already)."""
    check_fits(rep, req)
    tab = rep.tab
    slot = tab.add(req.input_tokens + 1, req.output_tokens)
    tab.generated[slot] = 1
    tab.first[slot] = tab.last[slot] = first_token_s
    s = Sequence(req=req, keys=keys if keys is not None else prompt_keys(req, rep.pool.block_size, shared), tab=tab,
                 slot=slot, preloaded=req.input_tokens)
    if held:
        s.set_blocks(held)
    rep.by_slot.append(s)
    rep.waiting.append(s)
    return s
