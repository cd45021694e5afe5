"""`coscale.serve.kv.BlockPool` compiled, for requests without shared prefix hashes: the LRU free
queue with lazy deletion and the (request, block index) keys of prompt blocks, one row of each array
per replica. Without shared prefixes a block has at most one holder, so no block needs a count of
its holders: it is free while its live entry is in the queue (or before its first use), and freeing
and allocating a block nobody can take out of turn reads and writes the queue alone. Compiled
without numba's reference counting (`_nrt=False`: nothing here allocates), as are the kernel's
per-step functions: a call then passes its arrays without atomic count updates. The scalars
(never-used front `fresh`, live entries `nfree`, queue head and tail) are columns of the replica
table `P`. The same operations in the same order as the Python pool, so the block ids handed out
are the same."""

from __future__ import annotations

from numba import njit

NONE = -1
# columns of the per-replica int table P used by the pool
FRESH, NFREE, QHEAD, QTAIL = 0, 1, 2, 3


@njit(cache=True, inline="always", _nrt=False)
def free_blocks(P, r, nblocks):
    return nblocks - P[r, FRESH] + P[r, NFREE]


@njit(cache=True, inline="always", _nrt=False)
def used_blocks(P, r):
    return P[r, FRESH] - P[r, NFREE]


@njit(cache=True, _nrt=False)
def allocate(P, r, nblocks, urid, queue, pushed, n, out, at):
    """`n` blocks from the front of the LRU queue into out[at:at + n] (the caller checked `free`).
    A plain entry is taken as it is; a keyed one only if it is still its block's live entry (then
    the block's content is evicted)."""
    if n <= 0:
        return
    fresh = min(n, nblocks - P[r, FRESH])
    f0 = P[r, FRESH]
    for k in range(fresh):
        out[at + k] = f0 + k
    P[r, FRESH] = f0 + fresh
    need = n - fresh
    if need == 0:
        return
    pos = P[r, QHEAD]
    tail = P[r, QTAIL]
    k = at + fresh
    while need:
        if pos >= tail:
            raise AssertionError("free-queue count out of step with its entries")
        e = queue[r, pos]
        if e >= 0:
            out[k] = e
            k += 1
            need -= 1
        else:
            b = -e - 1
            if pushed[r, b] == pos:
                out[k] = b
                k += 1
                need -= 1
                pushed[r, b] = NONE
                urid[r, b] = NONE  # evict its content
        pos += 1
    P[r, QHEAD] = pos
    P[r, NFREE] -= n - fresh


@njit(cache=True, _nrt=False)
def release(P, r, queue, pushed, blocks, lo, n, keyed):
    """Free blocks[lo:lo + n] (their holder's only reference), tail first, to the queue's back.
    `keyed`: some of them may carry a prompt key (their holder was preempted), so one may later
    leave the queue out of turn (`take`): each gets a keyed entry (-(b + 1)) and its position in
    `pushed`. The others are plain entries (b), touched again only when an allocation reaches them.
    (The queue is compacted before it could overflow; compaction keeps the live entries in order, so
    when it happens never changes which block an allocation takes.)"""
    if n <= 0:
        return
    if P[r, QTAIL] + n > queue.shape[1]:
        _compact(P, r, queue, pushed)
    t = P[r, QTAIL]
    if keyed:
        for q in range(lo + n - 1, lo - 1, -1):
            b = blocks[q]
            queue[r, t] = -b - 1
            pushed[r, b] = t
            t += 1
    else:
        for q in range(lo + n - 1, lo - 1, -1):
            queue[r, t] = blocks[q]
            t += 1
    P[r, NFREE] += n
    P[r, QTAIL] = t


@njit(cache=True, inline="always", _nrt=False)
def take(P, r, pushed, b):
    """Take free block `b` (a keyed one a request hits) out of the queue: its entry goes stale."""
    pushed[r, b] = NONE
    P[r, NFREE] -= 1


@njit(cache=True, _nrt=False)
def _compact(P, r, queue, pushed):
    """Move the live entries to the queue's front in order (in place: an entry only moves forward)."""
    head, tail = P[r, QHEAD], P[r, QTAIL]
    keep = 0
    for pos in range(head, tail):
        e = queue[r, pos]
        if e >= 0:
            queue[r, keep] = e
            keep += 1
        elif pushed[r, -e - 1] == pos:
            queue[r, keep] = e
            pushed[r, -e - 1] = keep
            keep += 1
    P[r, QHEAD] = 0
    P[r, QTAIL] = keep


@njit(cache=True, _nrt=False)
def own_hit(r, urid, uidx, own, o0, ownmax, rid, limit):
    """Length of the longest cached prefix of request `rid`'s own prompt blocks (keys (rid, i),
    own[o0 + i] the block that last published key i, valid below `ownmax`), at most `limit` blocks.
    All of them are free: a key is evicted when its block is handed out, and only its own request
    (waiting now, holding nothing) takes a keyed block back."""
    m = 0
    top = min(limit, ownmax)
    while m < top:
        b = own[o0 + m]
        if b < 0 or urid[r, b] != rid or uidx[r, b] != m:
            break
        m += 1
    return m


@njit(cache=True, _nrt=False)
def publish(r, urid, uidx, own, o0, ownmax, rid, blocks, b0, lo, hi):
    """Prompt blocks lo..hi-1 (blocks[b0 + i]) became full: key them (rid, i), first holder wins.
    Returns the new `ownmax`."""
    for i in range(lo, hi):
        b = blocks[b0 + i]
        ok = urid[r, b] == NONE
        prev = own[o0 + i] if i < ownmax else NONE
        if prev >= 0 and urid[r, prev] == rid and uidx[r, prev] == i:
            ok = False
        if ok:
            urid[r, b] = rid
            uidx[r, b] = i
            own[o0 + i] = b
        elif i >= ownmax:
            own[o0 + i] = NONE
    return max(ownmax, hi)
