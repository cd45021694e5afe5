"""Routing: KV-aware (Dynamo cost) and lowest-predicted-TTFT (Mooncake) keep a prefix on the replica
that holds it; admission control rejects or holds what cannot meet the TTFT limit."""

from __future__ import annotations

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.serve.engine import simulate
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.workload import OpenLoop

from .conftest import LinearCost, make_replicas


def grouped(n: int = 60, groups: int = 3, gap_s: float = 0.5, prefix_blocks: int = 4, seed: int = 0) -> OpenLoop:
    """Requests of `groups` documents (a 512-token-block prefix each) in random order, then a unique question."""
    rng = np.random.default_rng(seed)
    reqs = []
    for i in range(n):
        g = int(rng.integers(groups))
        ids = tuple(1000 * g + b for b in range(prefix_blocks))
        reqs.append(Request(rid=i, arrival_s=i * gap_s, input_tokens=prefix_blocks * 512 + 100, output_tokens=20,
                            prefix_hashes=ids))
    return OpenLoop(requests=tuple(reqs))


def hits(res) -> int:
    return sum(s.hit_tokens for s in res.sequences)


@pytest.mark.parametrize("policy", ["kv_aware", "kv-ttft"])
def test_prefix_aware_routers_find_the_replica_holding_the_prefix(policy):
    wl = grouped
    rr = simulate(make_replicas(LinearCost(), n=3), wl(), RouterConfig(policy="round_robin"))
    kv = simulate(make_replicas(LinearCost(), n=3), wl(), RouterConfig(policy=policy))
    assert len(kv.sequences) == len(rr.sequences) == 60
    # after each document's first request every later one hits its whole prefix (at least one token computed)
    assert hits(kv) == sum(4 * 512 for s in kv.sequences) - 3 * 4 * 512
    assert hits(kv) > hits(rr)
    ttft = [np.mean([s.first_token_s - s.req.arrival_s for s in r.sequences]) for r in (rr, kv)]
    assert ttft[1] < ttft[0]


def test_kv_aware_still_balances_load_when_prefixes_do_not_matter():
    """No shared prefix: the Dynamo cost is the decode load, so a burst spreads over the replicas."""
    reqs = tuple(Request(rid=i, arrival_s=0.0, input_tokens=300, output_tokens=50) for i in range(9))
    reps = make_replicas(LinearCost(), n=3)
    res = simulate(reps, OpenLoop(requests=reqs), RouterConfig(policy="kv_aware"))
    assert [len(r.finished) for r in res.replicas] == [3, 3, 3]


def burst(n: int = 40) -> OpenLoop:
    return OpenLoop(requests=tuple(Request(rid=i, arrival_s=0.01 * i, input_tokens=2000, output_tokens=30)
                                   for i in range(n)))


def test_admission_reject_and_queue():
    slow = LinearCost(per_token_s=2e-4)  # ~0.4 s per 2000-token prompt: the burst queues for seconds
    free = simulate(make_replicas(slow, n=2), burst(), RouterConfig(policy="kv_ttft"))
    ttft_free = np.array([s.first_token_s - s.req.arrival_s for s in free.sequences])
    limit = 2.0
    assert ttft_free.max() > limit  # without admission control the tail misses the limit
    rej = simulate(make_replicas(slow, n=2), burst(), RouterConfig(policy="kv_ttft", admission="reject",
                                                                   ttft_limit_s=limit))
    assert 0 < len(rej.rejected) < 40 and len(rej.rejected) + len(rej.sequences) == 40
    ttft_rej = np.array([s.first_token_s - s.req.arrival_s for s in rej.sequences])
    assert ttft_rej.max() <= limit * 1.1  # the prediction is the queue's prefill time: close to what happens
    q = simulate(make_replicas(slow, n=2), burst(), RouterConfig(policy="kv_ttft", admission="queue",
                                                                 ttft_limit_s=limit))
    assert len(q.rejected) + len(q.sequences) == 40
    assert len(q.sequences) >= len(rej.sequences)  # holding at the router gives a request a later chance
    ttft_q = np.array([s.first_token_s - s.req.arrival_s for s in q.sequences])
    assert ttft_q.max() <= limit * 1.1


def test_router_config_bad_input():
    with pytest.raises(CoscaleError, match="unknown router"):
        RouterConfig(policy="random")
    with pytest.raises(CoscaleError, match="--admission-ttft"):
        RouterConfig(admission="queue")
    with pytest.raises(CoscaleError, match="unknown --admission"):
        RouterConfig(admission="maybe", ttft_limit_s=1.0)
    with pytest.raises(CoscaleError, match="overlap-weight"):
        RouterConfig(policy="kv_aware", overlap_weight=-1)
