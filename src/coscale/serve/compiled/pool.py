"""`coscale.serve.kv.BlockPool` compiled, for requests without shared prefix hashes: ref counts, the
LRU free queue with lazy deletion, and the (request, block index) keys of prompt blocks, one row of
each array per replica. Compiled without reference counting (`_nrt=False`: nothing here allocates),
as are the kernel's per-step functions: a call then passes its arrays without atomic count updates.
The scalars (never-used front `fresh`, live entries `nfree`, queue head and tail) are columns of the
replica table `P`. The same operations in the same order as the Python pool, so the block ids handed
out are the same."""

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
def allocate(P, r, nblocks, ref, urid, queue, pushed, n, out, at):
    """`n` blocks from the front of the LRU queue into out[at:at + n] (the caller checked `free`)."""
    if n <= 0:
        return
    fresh = min(n, nblocks - P[r, FRESH])
    f0 = P[r, FRESH]
    for k in range(fresh):
        b = f0 + k
        out[at + k] = b
        ref[r, b] = 1
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
        b = queue[r, pos]
        if pushed[r, b] == pos and ref[r, b] == 0:
            out[k] = b
            k += 1
            need -= 1
            pushed[r, b] = NONE
            urid[r, b] = NONE  # evict its content
            ref[r, b] = 1
        pos += 1
    P[r, QHEAD] = pos
    P[r, NFREE] -= n - fresh


@njit(cache=True, _nrt=False)
def release(P, r, ref, queue, pushed, blocks, lo, n):
    """Drop one reference to each of blocks[lo:lo + n], tail first; freed ones go to the queue's back.
    (The queue is compacted before it could overflow; compaction keeps the live entries in order, so
    when it happens never changes which block an allocation takes.)"""
    if n <= 0:
        return
    if P[r, QTAIL] + n > queue.shape[1]:
        _compact(P, r, ref, queue, pushed)
    t = P[r, QTAIL]
    for q in range(lo + n - 1, lo - 1, -1):
        b = blocks[q]
        ref[r, b] -= 1
        if ref[r, b] == 0:
            queue[r, t] = b
            pushed[r, b] = t
            t += 1
    P[r, NFREE] += t - P[r, QTAIL]
    P[r, QTAIL] = t


@njit(cache=True, _nrt=False)
def _compact(P, r, ref, queue, pushed):
    """Move the live entries to the queue's front in order (in place: an entry only moves forward)."""
    head, tail = P[r, QHEAD], P[r, QTAIL]
    keep = 0
    for pos in range(head, tail):
        b = queue[r, pos]
        if pushed[r, b] == pos and ref[r, b] == 0:
            queue[r, keep] = b
            keep += 1
    for b in range(pushed.shape[1]):
        if pushed[r, b] >= 0:
            pushed[r, b] = NONE
    for m in range(keep):
        pushed[r, queue[r, m]] = m
    P[r, QHEAD] = 0
    P[r, QTAIL] = keep


@njit(cache=True, _nrt=False)
def own_hit(r, ref, urid, uidx, own, o0, ownmax, rid, limit):
    """Length of the longest cached prefix of request `rid`'s own prompt blocks (keys (rid, i),
    own[o0 + i] the block that last published key i, valid below `ownmax`), at most `limit` blocks,
    and how many of them are unreferenced."""
    m = 0
    top = min(limit, ownmax)
    while m < top:
        b = own[o0 + m]
        if b < 0 or urid[r, b] != rid or uidx[r, b] != m:
            break
        m += 1
    unref = 0
    for q in range(m):
        if ref[r, own[o0 + q]] == 0:
            unref += 1
    return m, unref


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
