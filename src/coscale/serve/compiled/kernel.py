"""The aggregated engine's event loop compiled: open-loop arrivals routed round-robin or to the least
loaded replica, each replica planning (decode-first or prefill-first, recompute preemption in the
engine's victim order, the block pool of `pool.py`) and costing (`cost.py`) its forward passes, and
fast-forwarding stable decode batches exactly as `engine.py` / `replica.py` do: the same decisions in
the same order, the same float operations, the same events (so the event count agrees too).

State lives in arrays: per request `R` (int columns) and `F` (float columns), per replica `P` (int
columns; the pool's scalars first), the running requests' hot counters by running position (`QI`,
`QF`: contiguous, so a pass over a batch of hundreds reads memory in order; a request's counters go
back to `R`/`F` when it is preempted or finishes), a ring buffer of waiting requests, and the planned
step (batch positions, new tokens, step starts, energies, KV use) of each replica. Outputs: the step
log (one row per forward pass, with its replica) and the inter-token gaps (value, weight, replica),
in the order the Python replicas append them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from coscale.serve.compiled.cost import decode_base, decode_step, step_cost
from coscale.serve.compiled.pool import allocate, free_blocks, own_hit, publish, release, take, used_blocks

MAX_RUN_STEPS = 4096  # replica.MAX_RUN_STEPS
INF_BUDGET = 1 << 62  # replica.INF
# request int columns
COMP, KNOWN, GEN, DECD, NBLK, REG, ORDER, PRE, PREF, RESV, DISC, REHIT, OWNMAX, NR = range(14)
# request float columns
SCHED, FIRST, LAST, FINISH, NF = range(5)
# replica int columns after the pool's four
# (ALLDEC: every running request decodes next, as after a pass in which the whole running list sampled;
# DHEAD: the planned batch starts with that many running positions 0.. each decoding one token)
NRUN, WHEAD, WCOUNT, ADMITTED, RESERVED, PREEMPTIONS, SAMPLES, TOKEN, ACTIVE, STEPS, DECODE, NSLOTS, TOKENS, \
    PTOKENS, WAITING, SOFF, ALLDEC, DHEAD, NP = range(4, 23)
# kernel status
OK, OUTSIDE_TABLE, STUCK, OVERLOADED = 0, 1, 2, 3
# config ints
C_NBLOCKS, C_BS, C_MNS, C_MBT, C_POLICY, C_VICTIM, C_RESERVE, C_CHUNKED, C_CACHING, C_ROUTER, C_CHECK, NC = range(12)


# running-position columns of QI[r, column, position] (ints) and QF (floats): a replica's running
# requests in admission order, each column contiguous, so a pass over the batch reads memory in order
Q_RID, Q_COMP, Q_KNOWN, Q_GEN, Q_OUT, Q_NBLK, Q_DECD, Q_BOFF, NQ = range(9)
QF_FIRST, QF_LAST, NQF = range(3)


@njit(cache=True, _nrt=False)
def _blocks_for(tokens, bs):
    return -(-tokens // bs)


@njit(cache=True, inline="always", _nrt=False)
def _mask_of(bs):
    """bs - 1 when the block size is a power of two (then x % bs is x & (bs - 1), no division), else -1."""
    return bs - 1 if bs & (bs - 1) == 0 else -1


@njit(cache=True, inline="always", _nrt=False)
def _mod(x, bs, mask):
    """x % bs (Python's: never negative) without an integer division when `mask` is bs - 1."""
    if mask >= 0:
        return x & mask
    return x % bs


@njit(cache=True, _nrt=False)
def _leave(r, q, QI, QF, R, F, P):
    """Copy running position q's counters back to its request and close the gap (order kept)."""
    s = QI[r, Q_RID, q]
    R[s, KNOWN] = QI[r, Q_KNOWN, q]
    R[s, GEN] = QI[r, Q_GEN, q]
    R[s, DECD] = QI[r, Q_DECD, q]
    F[s, FIRST] = QF[r, QF_FIRST, q]
    F[s, LAST] = QF[r, QF_LAST, q]
    n = P[r, NRUN]
    for c in range(NQ):
        for j in range(q, n - 1):
            QI[r, c, j] = QI[r, c, j + 1]
    for c in range(NQF):
        for j in range(q, n - 1):
            QF[r, c, j] = QF[r, c, j + 1]
    P[r, NRUN] = n - 1
    return s


@njit(cache=True, _nrt=False)
def _preempt(r, q, QI, QF, R, F, P, wq, blocks, urid, uidx, own, ooff, queue, pushed, cfg):
    """Preempt running position q: its blocks go back, it waits at the front to be recomputed."""
    comp = QI[r, Q_COMP, q]
    s = QI[r, Q_RID, q]
    if cfg[C_CACHING] and R[s, PRE] == 0 and R[s, REG] > 0:
        # a request's prompt blocks are keyed (rid, i) as they fill; only the request itself can hit
        # them, and only after a preemption, so a first preemption publishes them all at once (what
        # publishing chunk by chunk would have left: its blocks were fresh and held since)
        R[s, OWNMAX] = publish(r, urid, uidx, own, ooff[s], R[s, OWNMAX], s, blocks, QI[r, Q_BOFF, q], 0, R[s, REG])
    release(P, r, queue, pushed, blocks, QI[r, Q_BOFF, q], QI[r, Q_NBLK, q], cfg[C_CACHING] != 0)
    _leave(r, q, QI, QF, R, F, P)
    R[s, DISC] += comp
    R[s, REG] = 0
    R[s, PRE] += 1
    P[r, PREEMPTIONS] += 1
    P[r, RESERVED] -= R[s, RESV]
    R[s, RESV] = 0
    cap = wq.shape[1]
    P[r, WHEAD] = (P[r, WHEAD] - 1) % cap
    wq[r, P[r, WHEAD]] = s
    P[r, WCOUNT] += 1


@njit(cache=True, _nrt=False)
def _victim(r, first, QI, R, P, inp, cfg):
    """`replica._victim`: the running position to preempt among first.. in the engine's order."""
    n = P[r, NRUN]
    if cfg[C_VICTIM] == 0:
        return n - 1
    best = first
    for q in range(first + 1, n):
        a, b = QI[r, Q_RID, q], QI[r, Q_RID, best]
        ga, gb = QI[r, Q_GEN, q], QI[r, Q_GEN, best]
        if ga < gb or (ga == gb and (-inp[a] < -inp[b] or (inp[a] == inp[b] and -R[a, ORDER] < -R[b, ORDER]))):
            best = q
    return best


@njit(cache=True, _nrt=False)
def _grow(r, budget, mode, QI, QF, R, F, P, wq, inp, blocks, urid, uidx, own, ooff, queue, pushed, sslot, snew,
          gnew, tmp, cfg, sdec, cnew, cpre, agg):
    """`replica._grow`: running requests (mode -1 all, 0 prefilling only, 1 decoding only) in admission
    order under the budget, preempting when KV runs out. Writes the batch (running positions) from
    sslot[r, 0]; returns (count, budget left, preempted). In mode -1 without preemption it also sums
    what `_start_step` costs the batch by (`agg`: entries summed, decoders, their context sum, largest
    context, fewest tokens left; prefill chunks in cnew/cpre, their count, new tokens; sdec), so that
    pass covers only the requests admitted after."""
    agg[0] = 0
    P[r, DHEAD] = 0
    n = P[r, NRUN]
    if n == 0 or budget <= 0:
        return 0, budget, False
    ndec = 0
    dsum = 0
    dmax = 0
    left = MAX_RUN_STEPS
    nch = 0
    bs, nblocks = cfg[C_BS], cfg[C_NBLOCKS]
    before = 0
    total = 0
    used = 0
    count = 0
    needers = 0
    known, comp, gen, outn, nblk = QI[r, Q_KNOWN], QI[r, Q_COMP], QI[r, Q_GEN], QI[r, Q_OUT], QI[r, Q_NBLK]
    slots, news, decs = sslot[r], snew[r], sdec[r]  # (row views: plain 1-d indexing in the pass)
    fast = mode < 0 and P[r, ALLDEC] and n <= budget
    if fast:
        # every running request decodes one token (what the pass below finds, without its tests): the
        # batch is the running list; the sums are plain reductions; a block is needed where c % bs == 0
        for q in range(n):
            slots[q] = q
            news[q] = 1
            decs[q] = True
        for q in range(n):
            c = comp[q]
            dsum += c
            dmax = max(dmax, c)
            left = min(left, outn[q] - gen[q])
        for q in range(n):
            c = comp[q]
            if c + 1 > nblk[q] * bs:
                total += (c + 1 + bs - 1) // bs - nblk[q]
                gnew[needers] = q
                needers += 1
        count = n
        ndec = n
        used = n
        n = 0  # (the pass below has nothing left to do)
    for q in range(n):  # the batch and its block needs in one pass (gnew lists who needs blocks)
        c = comp[q]
        t = known[q] - c
        if mode >= 0:
            dec = t == 1 and gen[q] >= 1
            if dec != (mode == 1):
                t = 0
        new = min(max(budget - before, 0), t)
        before += t
        if new > 0:
            slots[count] = q
            news[count] = new
            if mode < 0:  # what `_start_step` sums (the same tests)
                dec = new == 1 and t == 1 and gen[q] >= 1
                decs[count] = dec
                if dec:
                    ndec += 1
                    dsum += c
                    if c > dmax:
                        dmax = c
                    rest = outn[q] - gen[q]
                    if rest < left:
                        left = rest
                else:
                    cnew[nch] = new
                    cpre[nch] = c
                    nch += 1
            count += 1
            used += new
            if c + new > nblk[q] * bs:  # (blocks always cover the computed tokens)
                total += (c + new + bs - 1) // bs - nblk[q]
                gnew[needers] = count - 1  # its place in the batch
                needers += 1
    if total <= free_blocks(P, r, nblocks):  # nobody runs out: one allocation, handed out in batch order
        if total > 0:
            allocate(P, r, nblocks, urid, queue, pushed, total, tmp, 0)
        at = 0
        for m in range(needers):
            i = gnew[m]
            q = sslot[r, i]
            new = snew[r, i]
            need = (QI[r, Q_COMP, q] + new + bs - 1) // bs - QI[r, Q_NBLK, q]
            b0 = QI[r, Q_BOFF, q] + QI[r, Q_NBLK, q]
            for j in range(need):
                blocks[b0 + j] = tmp[at + j]
            at += need
            QI[r, Q_NBLK, q] += need
        if mode < 0:
            agg[0], agg[1], agg[2], agg[3], agg[4], agg[5], agg[6] = count, ndec, dsum, dmax, left, nch, used
        if fast:
            P[r, DHEAD] = count
        return count, budget - used, False
    # one request at a time, preempting victims when the pool runs dry
    count = 0
    preempted = False
    q = 0
    while q < P[r, NRUN] and budget > 0:
        todo = QI[r, Q_KNOWN, q] - QI[r, Q_COMP, q]
        if mode >= 0:
            dec = todo == 1 and QI[r, Q_GEN, q] >= 1
            if dec != (mode == 1):
                q += 1
                continue
        new = todo if todo < budget else budget
        need = _blocks_for(QI[r, Q_COMP, q] + new, bs) - QI[r, Q_NBLK, q]
        if need > 0:
            lost = False
            while need > free_blocks(P, r, nblocks):
                v = _victim(r, q, QI, R, P, inp, cfg)
                _preempt(r, v, QI, QF, R, F, P, wq, blocks, urid, uidx, own, ooff, queue, pushed, cfg)
                preempted = True
                if v == q:
                    lost = True
                    break
            if lost:
                continue
            allocate(P, r, nblocks, urid, queue, pushed, need, blocks, QI[r, Q_BOFF, q] + QI[r, Q_NBLK, q])
            QI[r, Q_NBLK, q] += need
        sslot[r, count] = q
        snew[r, count] = new
        count += 1
        budget -= new
        q += 1
    return count, budget, preempted


@njit(cache=True, _nrt=False)
def _admit(r, s, budget, now, reserve, QI, QF, R, F, P, inp, out, blocks, boff, own, ooff, urid, uidx, queue,
           pushed, cfg):
    """`replica._admit`: 0 when request `s` does not fit (nothing changed then), else its new tokens;
    an admitted request becomes the last running position."""
    bs, nblocks = cfg[C_BS], cfg[C_NBLOCKS]
    known = R[s, KNOWN]
    limit = (known - 1) // bs
    hit = 0
    if cfg[C_CACHING] and limit > 0:
        hit = own_hit(r, urid, uidx, own, ooff[s], R[s, OWNMAX], s, min(limit, inp[s] // bs))
    cached = hit * bs
    new = known - cached
    if new > budget:
        if not cfg[C_CHUNKED]:
            return 0
        new = budget
    need = _blocks_for(cached + new, bs) - hit
    if need + hit > free_blocks(P, r, nblocks):  # (its hit blocks are free ones)
        return 0
    if reserve:
        total = _blocks_for(inp[s] + out[s], bs)
        if P[r, RESERVED] + total > nblocks:
            return 0
        P[r, RESERVED] += total
        R[s, RESV] = total
    b0 = boff[s]
    if hit:  # take the hit blocks (this request's own, free: nobody else can hold them)
        o0 = ooff[s]
        for q in range(hit):
            b = own[o0 + q]
            take(P, r, pushed, b)
            blocks[b0 + q] = b
    allocate(P, r, nblocks, urid, queue, pushed, need, blocks, b0 + hit)
    R[s, REG] = hit
    if R[s, ORDER] >= 0:
        R[s, REHIT] += cached
    R[s, ORDER] = P[r, ADMITTED]
    P[r, ADMITTED] += 1
    if F[s, SCHED] < 0:
        F[s, SCHED] = now
    q = P[r, NRUN]
    QI[r, Q_RID, q] = s
    QI[r, Q_COMP, q] = cached
    QI[r, Q_KNOWN, q] = known
    QI[r, Q_GEN, q] = R[s, GEN]
    QI[r, Q_OUT, q] = out[s]
    QI[r, Q_NBLK, q] = hit + need
    QI[r, Q_DECD, q] = R[s, DECD]
    QI[r, Q_BOFF, q] = b0
    QF[r, QF_FIRST, q] = F[s, FIRST]
    QF[r, QF_LAST, q] = F[s, LAST]
    P[r, NRUN] = q + 1
    P[r, ALLDEC] = 0
    return new


@njit(cache=True, _nrt=False)
def _admit_waiting(r, budget, now, reserve, at, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid,
                   uidx, queue, pushed, sslot, snew, cfg):
    cap = wq.shape[1]
    count = at
    while P[r, WCOUNT] > 0 and budget > 0 and P[r, NRUN] < cfg[C_MNS]:
        s = wq[r, P[r, WHEAD]]
        new = _admit(r, s, budget, now, reserve, QI, QF, R, F, P, inp, out, blocks, boff, own, ooff, urid, uidx,
                     queue, pushed, cfg)
        if not new:
            break
        P[r, WHEAD] = (P[r, WHEAD] + 1) % cap
        P[r, WCOUNT] -= 1
        sslot[r, count] = P[r, NRUN] - 1
        snew[r, count] = new
        count += 1
        budget -= new
    return count


@njit(cache=True, _nrt=False)
def _plan(r, now, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid, uidx, queue, pushed, sslot,
          snew, gnew, tmp, cfg, sdec, cnew, cpre, agg):
    """`replica._plan` for decode_first (0) and prefill_first (1): (batch size, preempted)."""
    mbt = cfg[C_MBT]
    reserve = cfg[C_RESERVE] != 0
    if cfg[C_POLICY] == 0:
        count, budget, preempted = _grow(r, mbt, -1, QI, QF, R, F, P, wq, inp, blocks, urid, uidx, own, ooff,
                                         queue, pushed, sslot, snew, gnew, tmp, cfg, sdec, cnew, cpre,
                                         agg)
        if not preempted:
            count = _admit_waiting(r, budget, now, reserve, count, QI, QF, R, F, P, wq, inp, out, blocks, boff, own,
                                   ooff, urid, uidx, queue, pushed, sslot, snew, cfg)
        return count, preempted
    count, budget, _ = _grow(r, mbt, 0, QI, QF, R, F, P, wq, inp, blocks, urid, uidx, own, ooff, queue, pushed,
                             sslot, snew, gnew, tmp, cfg, sdec, cnew, cpre, agg)
    count = _admit_waiting(r, budget, now, reserve, count, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff,
                           urid, uidx, queue, pushed, sslot, snew, cfg)
    if count:
        return count, False
    count, _, preempted = _grow(r, INF_BUDGET, 1, QI, QF, R, F, P, wq, inp, blocks, urid, uidx, own, ooff, queue,
                                pushed, sslot, snew, gnew, tmp, cfg, sdec, cnew, cpre, agg)
    return count, preempted


@njit(cache=True, _nrt=False)
def _start_step(r, now, horizon, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid, uidx, queue,
                pushed, sslot, snew, sdec, gnew, sstart, senergy, skv, cost, cfg, overhead, status, cnew, cpre, hist,
                tmp, vals, agg):
    """`replica.start_step`: plan and cost the next pass (or decode run); its end time, or -1 when idle."""
    count, preempted = _plan(r, now, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid, uidx, queue,
                             pushed, sslot, snew, gnew, tmp, cfg, sdec, cnew, cpre, agg)
    if count == 0:
        P[r, ACTIVE] = 0
        return -1.0
    bs = cfg[C_BS]
    i0, ndec, dsum, dmax, left, nch, tokens = agg[0], agg[1], agg[2], agg[3], agg[4], agg[5], agg[6]
    if i0 == 0:  # (`_grow` summed nothing)
        ndec, dsum, dmax, left, nch, tokens = 0, 0, 0, MAX_RUN_STEPS, 0, 0
    decode = nch == 0
    for i in range(i0, count):  # the batch entries `_grow` did not sum
        q = sslot[r, i]
        c = QI[r, Q_COMP, q]
        new = snew[r, i]
        tokens += new
        dec = new == 1 and QI[r, Q_KNOWN, q] - c == 1 and QI[r, Q_GEN, q] >= 1
        sdec[r, i] = dec
        if dec:
            ndec += 1
            dsum += c
            if c > dmax:
                dmax = c
            if QI[r, Q_OUT, q] - QI[r, Q_GEN, q] < left:
                left = QI[r, Q_OUT, q] - QI[r, Q_GEN, q]
        else:
            decode = False
            cnew[nch] = new
            cpre[nch] = c
            nch += 1
    t, e, ok = step_cost(cost, ndec, float(dsum), dmax, cnew, cpre, nch, vals)
    if not ok:
        status[0] = OUTSIDE_TABLE
        return -1.0
    k = 1
    sstart[r, 0] = now
    sstart[r, 1] = now + (t + overhead)
    senergy[r, 0] = e
    used = used_blocks(P, r)
    skv[r, 0] = used
    P[r, PTOKENS] = 0
    if decode:
        if not preempted and count == P[r, NRUN] and now + (t + overhead) < horizon and left > 1:
            # `replica._run_length`: to the first completion, before the first step whose block growth
            # exceeds the free pool; a sequence with c cached tokens needs a block at steps j with (c + j) % bs == 0
            mask = _mask_of(bs)
            for b in range(bs):
                hist[b] = 0
            for q in range(count):
                hist[_mod(-QI[r, Q_COMP, q], bs, mask)] += 1
            free = free_blocks(P, r, cfg[C_NBLOCKS])
            k = left
            need = 0
            for j in range(1, left):
                need += hist[_mod(j, bs, mask)]
                if need > free:
                    k = j
                    break
            got = 1
            base_t, base_c, base_m = decode_base(cost, count)
            cell = 0
            top = cost.limits[2]
            grid, dtab, scal = cost.context_grid, cost.decode, cost.scalars
            for j in range(1, k):  # `_run_costs`: the steps that start before the horizon
                if not sstart[r, j] < horizon:
                    break
                if dmax + j > top:  # (what `step_cost` checks; the batch itself passed at step 0)
                    status[0] = OUTSIDE_TABLE
                    return -1.0
                tj, ej, cell = decode_step(grid, dtab, scal, count, base_t, base_c, base_m, float(dsum + count * j),
                                          cell)
                sstart[r, j + 1] = sstart[r, j] + (tj + overhead)
                senergy[r, j] = ej
                used += hist[_mod(j, bs, mask)]
                skv[r, j] = used
                got += 1
            k = got
    else:
        for i in range(nch):
            P[r, PTOKENS] += cnew[i]
    P[r, STEPS] = k
    P[r, SOFF] = 0
    P[r, DECODE] = decode
    P[r, NSLOTS] = count
    P[r, TOKENS] = tokens
    P[r, WAITING] = P[r, WCOUNT]
    P[r, TOKEN] += 1
    P[r, ACTIVE] = 1
    return sstart[r, k]


@njit(cache=True, _nrt=False)
def _truncate(r, t, P, sstart):
    """`replica.truncate`: an arrival at `t` keeps the run's steps that started before it; the new
    end, or -1 when the run is unchanged."""
    k = P[r, STEPS]
    if P[r, ACTIVE] == 0 or k == 1:
        return -1.0
    m = 0
    while m < k and sstart[r, m] < t:
        m += 1
    m = max(m, 1)
    if m >= k:
        return -1.0
    P[r, STEPS] = m
    P[r, TOKEN] += 1
    return sstart[r, m]


@njit(cache=True, _nrt=False)
def _commit_run(r, k, QI, QF, P, blocks, urid, queue, pushed, sstart, cfg, itl_v, itl_i, ni, tmp, hist,
                members):
    """`replica._commit_run`: apply the first k - 1 steps of a decode run (the whole running list, in
    order); returns the ITL count."""
    bs, nblocks = cfg[C_BS], cfg[C_NBLOCKS]
    mask = _mask_of(bs)
    n = P[r, NSLOTS]
    # blocks the steps 1..k-1 allocate: by step, then batch order (one allocation, split in order)
    for b in range(bs + 1):
        hist[b] = 0
    for q in range(n):
        hist[_mod(-QI[r, Q_COMP, q], bs, mask) + 1] += 1
    for b in range(bs):
        hist[b + 1] += hist[b]
    total = 0
    for j in range(1, min(k, bs + 1)):
        res = _mod(j, bs, mask)
        total += (hist[res + 1] - hist[res]) * ((k - 1 - j) // bs + 1)
    if total:
        fill = hist[bs + 1:2 * bs + 1]
        for b in range(bs):
            fill[b] = hist[b]
        for q in range(n):
            res = _mod(-QI[r, Q_COMP, q], bs, mask)
            members[fill[res]] = q
            fill[res] += 1
        allocate(P, r, nblocks, urid, queue, pushed, total, tmp, 0)
        at = 0
        for j in range(1, k):
            res = _mod(j, bs, mask)
            for m in range(hist[res], hist[res + 1]):
                q = members[m]
                blocks[QI[r, Q_BOFF, q] + QI[r, Q_NBLK, q]] = tmp[at]
                QI[r, Q_NBLK, q] += 1
                at += 1
    s0, first_end = sstart[r, 0], sstart[r, 1]
    nsame = 0
    for q in range(n):
        if QF[r, QF_LAST, q] == s0:
            nsame += 1
        else:
            itl_v[ni] = first_end - QF[r, QF_LAST, q]
            itl_i[ni, 0] = r
            itl_i[ni, 1] = 1
            ni += 1
    if nsame:
        itl_v[ni] = first_end - s0
        itl_i[ni, 0] = r
        itl_i[ni, 1] = nsame
        ni += 1
    for j in range(1, k - 1):
        itl_v[ni] = sstart[r, j + 1] - sstart[r, j]
        itl_i[ni, 0] = r
        itl_i[ni, 1] = n
        ni += 1
    lt = sstart[r, k - 1]
    for q in range(n):
        QI[r, Q_COMP, q] += k - 1
        QI[r, Q_KNOWN, q] += k - 1
        QI[r, Q_GEN, q] += k - 1
        QI[r, Q_DECD, q] += k - 1
        QF[r, QF_LAST, q] = lt
    P[r, SAMPLES] += n * (k - 1)
    P[r, SOFF] = k - 1
    return ni


@njit(cache=True, _nrt=False)
def _shift(col, dst, src, size):
    """col[dst:dst + size] = col[src:src + size] for dst < src (forward, in place)."""
    for j in range(size):
        col[dst + j] = col[src + j]


@njit(cache=True, inline="always", _nrt=False)
def _stamp_sample(q, r, now, start, firsts, lasts, itl_v, itl_i, ni, nsame):
    """Running position q samples a token at `now`: its inter-token gap (logged, or counted in `nsame`
    when it also sampled at the pass's start), first and last token times. Returns (ni, nsame)."""
    lq = lasts[q]
    if lq == start:
        nsame += 1
    elif firsts[q] >= 0:
        itl_v[ni] = now - lq
        itl_i[ni, 0] = r
        itl_i[ni, 1] = 1
        ni += 1
    if firsts[q] < 0:
        firsts[q] = now
    lasts[q] = now
    return ni, nsame


@njit(cache=True, _nrt=False)
def _finish_step(r, QI, QF, R, F, P, inp, blocks, own, ooff, urid, uidx, queue, pushed, sslot, snew, sdec,
                 sstart, senergy, skv, cfg, log_f, log_i, nl, itl_v, itl_i, ni, tmp, hist, members, sampled):
    """`replica.finish_step`: log the pass(es), apply them, release finished requests.
    Returns (log rows, ITL entries, finished count)."""
    P[r, ACTIVE] = 0
    k = P[r, STEPS]
    n = P[r, NSLOTS]
    for j in range(k):
        log_f[nl, 0] = sstart[r, j]
        log_f[nl, 1] = sstart[r, j + 1]
        log_f[nl, 2] = senergy[r, j]
        log_i[nl, 0] = r
        log_i[nl, 1] = n
        log_i[nl, 2] = P[r, TOKENS]
        log_i[nl, 3] = P[r, PTOKENS]
        log_i[nl, 4] = P[r, WAITING]
        log_i[nl, 5] = skv[r, j]
        nl += 1
    if k > 1:
        ni = _commit_run(r, k, QI, QF, P, blocks, urid, queue, pushed, sstart, cfg, itl_v, itl_i, ni, tmp, hist,
                         members)
    bs = cfg[C_BS]
    soff = P[r, SOFF]
    start, now = sstart[r, soff], sstart[r, soff + 1]
    ns = 0
    nd = 0
    nsame = 0
    slots, news, decs = sslot[r], snew[r], sdec[r]  # (row views: plain 1-d indexing in the pass)
    comp, known, gen, outn, decd = QI[r, Q_COMP], QI[r, Q_KNOWN], QI[r, Q_GEN], QI[r, Q_OUT], QI[r, Q_DECD]
    firsts, lasts = QF[r, QF_FIRST], QF[r, QF_LAST]
    n0 = n
    h = n if P[r, DECODE] and n == P[r, NRUN] else P[r, DHEAD]
    if h:  # the batch's head decodes the running positions 0..h-1 in order: batch entry i is position i
        for q in range(h):  # (each decodes one token: every token it knows is computed, it samples the next)
            comp[q] += 1
            known[q] += 1
            gen[q] += 1
            decd[q] += 1
        ns = h
        for q in range(h):
            ni, nsame = _stamp_sample(q, r, now, start, firsts, lasts, itl_v, itl_i, ni, nsame)
            if gen[q] == outn[q]:
                sampled[nd] = q
                nd += 1
    for i in range(h, n):  # one pass in batch order (the rest): apply the pass, count prefill chunks, sample
        q = slots[i]
        c = comp[q] + news[i]
        comp[q] = c
        if decs[i]:
            decd[q] += 1
        else:  # a prefill chunk: count it, publish newly full prompt blocks
            s = QI[r, Q_RID, q]
            R[s, PREF] += news[i]
            full = min(c // bs, inp[s] // bs)
            if full > R[s, REG]:
                if cfg[C_CACHING] and R[s, PRE] > 0:  # (never preempted: published when first preempted)
                    R[s, OWNMAX] = publish(r, urid, uidx, own, ooff[s], R[s, OWNMAX], s, blocks, QI[r, Q_BOFF, q],
                                           R[s, REG], full)
                R[s, REG] = full
        if c != known[q]:
            continue
        ns += 1  # every token it knows is computed: it samples the next
        g = gen[q] + 1
        gen[q] = g
        known[q] = c + 1
        ni, nsame = _stamp_sample(q, r, now, start, firsts, lasts, itl_v, itl_i, ni, nsame)
        if g == outn[q]:
            sampled[nd] = q  # (batch order is running order: the finished positions come in order)
            nd += 1
    P[r, ALLDEC] = 1 if ns == n0 and n0 == P[r, NRUN] else 0  # (leaving keeps it: the rest are unchanged)
    if ns:
        P[r, SAMPLES] += ns
        if nsame:
            itl_v[ni] = now - start
            itl_i[ni, 0] = r
            itl_i[ni, 1] = nsame
            ni += 1
    if nd:  # finished requests leave (their blocks back, tail first), the rest keep their order
        for m in range(nd):
            q = sampled[m]
            s = QI[r, Q_RID, q]
            F[s, FINISH] = now
            F[s, FIRST] = firsts[q]
            R[s, DECD] = decd[q]
            R[s, GEN] = gen[q]
            keyed = cfg[C_CACHING] != 0 and R[s, PRE] > 0  # (only a preempted request's blocks carry keys)
            release(P, r, queue, pushed, blocks, QI[r, Q_BOFF, q], QI[r, Q_NBLK, q], keyed)
            P[r, RESERVED] -= R[s, RESV]
        nrun = P[r, NRUN]
        sampled[nd] = nrun
        for m in range(nd):  # close the gaps: each kept stretch moves forward whole, column by column
            src = np.uint64(sampled[m] + 1)  # (unsigned positions: plain loads and stores, no index wrap)
            dst = np.uint64(sampled[m] - m)
            size = np.uint64(sampled[m + 1]) - src
            for c in range(NQ):
                _shift(QI[r, c], dst, src, size)
            for c in range(NQF):
                _shift(QF[r, c], dst, src, size)
        P[r, NRUN] = nrun - nd
    return nl, ni, nd


@njit(cache=True, _nrt=False)
def _push(heap_t, heap_i, size, seq, t, kind, rep, tok):
    """Push (t, seq) onto the binary min-heap; returns the new size."""
    i = size
    heap_t[i] = t
    heap_i[i, 0] = seq
    heap_i[i, 1] = kind
    heap_i[i, 2] = rep
    heap_i[i, 3] = tok
    while i > 0:
        p = (i - 1) // 2
        if heap_t[p] < heap_t[i] or (heap_t[p] == heap_t[i] and heap_i[p, 0] < heap_i[i, 0]):
            break
        heap_t[p], heap_t[i] = heap_t[i], heap_t[p]
        for c in range(4):
            heap_i[p, c], heap_i[i, c] = heap_i[i, c], heap_i[p, c]
        i = p
    return size + 1


@njit(cache=True, _nrt=False)
def _pop(heap_t, heap_i, size):
    """Remove the smallest (t, seq) into position `size - 1`; returns the new size."""
    last = size - 1
    heap_t[0], heap_t[last] = heap_t[last], heap_t[0]
    for c in range(4):
        heap_i[0, c], heap_i[last, c] = heap_i[last, c], heap_i[0, c]
    i = 0
    while True:
        a, b = 2 * i + 1, 2 * i + 2
        m = i
        if a < last and (heap_t[a] < heap_t[m] or (heap_t[a] == heap_t[m] and heap_i[a, 0] < heap_i[m, 0])):
            m = a
        if b < last and (heap_t[b] < heap_t[m] or (heap_t[b] == heap_t[m] and heap_i[b, 0] < heap_i[m, 0])):
            m = b
        if m == i:
            break
        heap_t[m], heap_t[i] = heap_t[i], heap_t[m]
        for c in range(4):
            heap_i[m, c], heap_i[i, c] = heap_i[i, c], heap_i[m, c]
        i = m
    return last


@njit(cache=True)
def _grow1(a):
    b = np.empty(2 * a.shape[0], dtype=a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def _grow2(a):
    b = np.empty((2 * a.shape[0], a.shape[1]), dtype=a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def simulate_kernel(arr, inp, out, boff, ooff, nrep, cfg, overhead, wait_s, cost):
    """Run every request of an open loop to completion. Returns (status, events, simulated_s,
    R, F, P, step log (floats, ints), ITL (values, ints), overload info (time, waiting))."""
    nreq = len(arr)
    nblocks, mns = cfg[C_NBLOCKS], cfg[C_MNS]
    R = np.zeros((nreq, NR), dtype=np.int64)
    R[:, ORDER] = -1
    R[:, KNOWN] = inp  # tokens that exist: the prompt, then each sampled token
    F = np.full((nreq, NF), -1.0)
    P = np.zeros((nrep, NP), dtype=np.int64)
    wq = np.empty((nrep, nreq + 1), dtype=np.int64)  # ring buffers: only written entries are read
    # the block pool's tables in 32 bits (block ids, positions, request ids and counts all fit): half
    # the memory traffic of the ~10 million allocations and frees of a large run
    blocks = np.empty(boff[nreq], dtype=np.int32)
    own = np.empty(ooff[nreq], dtype=np.int32)
    urid = np.full((nrep, nblocks), -1, dtype=np.int32)
    uidx = np.full((nrep, nblocks), -1, dtype=np.int32)
    queue = np.zeros((nrep, 2 * nblocks + 64), dtype=np.int32)
    pushed = np.full((nrep, nblocks), -1, dtype=np.int32)
    QI = np.zeros((nrep, NQ, mns), dtype=np.int64)
    QF = np.zeros((nrep, NQF, mns))
    gnew = np.zeros(mns + 1, dtype=np.int64)
    hist = np.zeros(2 * cfg[C_BS] + 2, dtype=np.int64)
    members = np.zeros(mns + 1, dtype=np.int64)
    sampled = np.zeros(mns + 1, dtype=np.int64)
    sslot = np.zeros((nrep, mns), dtype=np.int64)
    snew = np.zeros((nrep, mns), dtype=np.int64)
    sdec = np.zeros((nrep, mns), dtype=np.bool_)
    sstart = np.zeros((nrep, MAX_RUN_STEPS + 1))
    senergy = np.zeros((nrep, MAX_RUN_STEPS))
    skv = np.zeros((nrep, MAX_RUN_STEPS), dtype=np.int64)
    cnew = np.zeros(mns + 1, dtype=np.int64)
    cpre = np.zeros(mns + 1, dtype=np.int64)
    tmp = np.zeros(max(nblocks, mns) + 1, dtype=np.int64)
    agg = np.zeros(8, dtype=np.int64)  # `_grow`'s sums of the batch for `_start_step`
    vals = np.zeros((3, len(cost.chunk_op_counts), max(cost.limits[3], 1)))  # `step_cost`'s scratch
    status = np.zeros(1, dtype=np.int64)
    log_f = np.empty((1 << 16, 3))
    log_i = np.empty((1 << 16, 6), dtype=np.int64)
    itl_v = np.empty(1 << 16)
    itl_i = np.empty((1 << 16, 2), dtype=np.int64)
    heap_t = np.empty(64)
    heap_i = np.empty((64, 4), dtype=np.int64)
    nl = 0
    ni = 0
    size = 0
    seq = 0
    events = 0
    now = 0.0
    arrivals = 0
    inf = np.inf
    pending = arr[0]
    rr = cfg[C_ROUTER] == 0
    limit = 2 * nrep * mns
    size = _push(heap_t, heap_i, size, seq, arr[0], 0, -1, 0)
    seq += 1
    while size:
        if nl + MAX_RUN_STEPS + 1 > log_f.shape[0]:
            log_f = _grow2(log_f)
            log_i = _grow2(log_i)
        if ni + mns + MAX_RUN_STEPS + 2 > itl_v.shape[0]:
            itl_v = _grow1(itl_v)
            itl_i = _grow2(itl_i)
        if size + 4 > heap_t.shape[0]:
            heap_t = _grow1(heap_t)
            heap_i = _grow2(heap_i)
        size = _pop(heap_t, heap_i, size)
        events += 1
        now = heap_t[size]
        kind, r, tok = heap_i[size, 1], heap_i[size, 2], heap_i[size, 3]
        if kind == 0:  # an arrival: schedule the next, route, dispatch
            i = tok
            pending = inf
            if i + 1 < nreq:
                size = _push(heap_t, heap_i, size, seq, arr[i + 1], 0, -1, i + 1)
                seq += 1
                pending = arr[i + 1]
            if rr:
                r = arrivals % nrep
            else:
                r = 0
                best = P[0, WCOUNT] + P[0, NRUN]
                for q in range(1, nrep):
                    load = P[q, WCOUNT] + P[q, NRUN]
                    if load < best:
                        best = load
                        r = q
            arrivals += 1
            cap = wq.shape[1]
            wq[r, (P[r, WHEAD] + P[r, WCOUNT]) % cap] = i
            P[r, WCOUNT] += 1
            if P[r, ACTIVE] == 0:
                horizon = pending if (nrep == 1 or (rr and arrivals % nrep == r)) else inf
                end = _start_step(r, now, horizon, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid,
                                  uidx, queue, pushed, sslot, snew, sdec, gnew, sstart, senergy, skv, cost, cfg,
                                  overhead, status, cnew, cpre, hist, tmp, vals, agg)
            else:
                end = _truncate(r, now, P, sstart)
            if status[0] != OK:
                break
            if end >= 0:
                size = _push(heap_t, heap_i, size, seq, end, 1, r, P[r, TOKEN])
                seq += 1
            if cfg[C_CHECK]:
                waiting = 0
                worst = -inf
                for q in range(nrep):
                    waiting += P[q, WCOUNT]
                    if P[q, WCOUNT]:
                        worst = max(worst, now - arr[wq[q, P[q, WHEAD]]])
                if waiting > limit or worst > wait_s:
                    status[0] = OVERLOADED
                    return (status[0], events, now, R, F, P, log_f[:nl], log_i[:nl], itl_v[:ni], itl_i[:ni],
                            waiting)
        else:
            if tok != P[r, TOKEN]:
                continue  # a run that an arrival truncated
            nl, ni, _nd = _finish_step(r, QI, QF, R, F, P, inp, blocks, own, ooff, urid, uidx, queue, pushed,
                                       sslot, snew, sdec, sstart, senergy, skv, cfg, log_f, log_i, nl, itl_v, itl_i,
                                       ni, tmp, hist, members, sampled)
            horizon = pending if (pending < inf and (nrep == 1 or (rr and arrivals % nrep == r))) else inf
            end = _start_step(r, now, horizon, QI, QF, R, F, P, wq, inp, out, blocks, boff, own, ooff, urid,
                              uidx, queue, pushed, sslot, snew, sdec, gnew, sstart, senergy, skv, cost, cfg, overhead,
                              status, cnew, cpre, hist, tmp, vals, agg)
            if status[0] != OK:
                break
            if end >= 0:
                size = _push(heap_t, heap_i, size, seq, end, 1, r, P[r, TOKEN])
                seq += 1
    if status[0] == OK:
        for q in range(nrep):
            if P[q, WCOUNT] or P[q, NRUN]:
                status[0] = STUCK
    return status[0], events, now, R, F, P, log_f[:nl], log_i[:nl], itl_v[:ni], itl_i[:ni], 0
