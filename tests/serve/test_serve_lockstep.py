"""Attention-DP ranks in lock-step: a group's passes start and end together at its slowest rank's pace,
the group's decode runs equal stepping it pass by pass, and an idle partner changes nothing."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from coscale.serve.compiled.eligibility import compiled_ineligible
from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.run import run_disagg
from coscale.serve.engine import simulate
from coscale.serve.lockstep import attach_lockstep, start_group_step
from coscale.serve.metrics import Slo
from coscale.serve.replica import start_step
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.scenario import Deployment, WorkloadSpec, build, make_replicas
from coscale.serve.workload import Lengths, OpenLoop, arrival_times, synthetic_requests

from .conftest import assert_identical_runs, run_records

SCENARIOS = [
    dict(policy="decode_first", num_blocks=4096, max_num_seqs=64, max_batched_tokens=2048),
    dict(policy="decode_first", num_blocks=300, max_num_seqs=64, max_batched_tokens=1024),  # preempts
    dict(policy="prefill_first", num_blocks=300, max_num_seqs=32, victim="fewest_output"),
    dict(policy="decode_first", num_blocks=2000, reserve_full=True, max_num_seqs=48),
]


def _open(seed: int, n: int, rate: float) -> OpenLoop:
    rng = np.random.default_rng(seed)
    isl, osl = Lengths(dist="lognormal", input_len=600, output_len=200).sample(rng, n)
    isl, osl = np.minimum(isl, 2000), np.minimum(osl, 1000)
    return OpenLoop(requests=synthetic_requests(arrival_times("poisson", rate, n, rng, cv=2.0), isl, osl))


IDLE_W = 140.0  # one rank's GPUs' board power while they wait (an H100 pair's idle draw; any value works)


def _ranks(factory, cost, n: int, per_group: int, ff: bool = True, **sc) -> list:
    reps = factory(cost, n=n, fast_forward=ff, **sc)
    attach_lockstep(reps, per_group, IDLE_W)
    return reps




@pytest.mark.parametrize("router", ["round_robin", "least_loaded"])
@pytest.mark.parametrize("sc", SCENARIOS)
def test_group_decode_runs_equal_stepping_pass_by_pass(cost, replicas_factory, sc, router):
    wl = lambda: _open(3, 240, rate=20.0)  # noqa: E731
    assert_identical_runs(
        simulate(_ranks(replicas_factory, cost, 4, 2, ff=True, **sc), wl(), RouterConfig(policy=router)),
        simulate(_ranks(replicas_factory, cost, 4, 2, ff=False, **sc), wl(), RouterConfig(policy=router)),
        energy_rtol=1e-12)


def test_ranks_of_a_group_step_together(cost, replicas_factory):
    """Any two passes of ranks in one group coincide or do not overlap; ranks of different groups are free."""
    res = simulate(_ranks(replicas_factory, cost, 4, 2, ff=False), _open(5, 200, rate=20.0),
                   RouterConfig(policy="least_loaded"))
    logs = [r.log.arrays() for r in res.replicas]
    for a, b in ((0, 1), (2, 3)):
        passes = {(s, e) for i in (a, b) for s, e in zip(logs[i]["start_s"], logs[i]["end_s"], strict=True)}
        ordered = sorted(passes)
        assert all(e0 <= s1 for (_, e0), (s1, _) in itertools.pairwise(ordered))
    across = {(s, e) for i in (0, 2) for s, e in zip(logs[i]["start_s"], logs[i]["end_s"], strict=True)}
    ordered = sorted(across)
    assert any(e0 > s1 for (_, e0), (s1, _) in itertools.pairwise(ordered))  # groups overlap


def test_a_group_pass_lasts_its_slowest_ranks(cost, replicas_factory):
    reps = _ranks(replicas_factory, cost, 3, 3)
    reps[0].enqueue(Request(rid=0, arrival_s=0.0, input_tokens=1500, output_tokens=5))  # a long prefill
    reps[1].enqueue(Request(rid=1, arrival_s=0.0, input_tokens=20, output_tokens=5))
    alone = copy.deepcopy(reps)
    for r in alone:
        r.lockstep = None
    ends = [start_step(r, 0.0) for r in alone]
    assert ends[2] is None and ends[0] > ends[1]
    group = reps[0].lockstep
    assert start_group_step(group, 0.0) == ends[0]
    assert reps[1].step.starts[-1] == ends[0] and reps[2].step is None  # the short one waits; the idle one joins empty
    # the waiting rank draws idle power for its wait on top of its own pass; the leader adds nothing
    wait = ends[0] - ends[1]
    assert reps[1].step.energies[0] == pytest.approx(alone[1].step.energies[0] + IDLE_W * wait, rel=1e-12)
    assert reps[0].step.energies[0] == alone[0].step.energies[0]


def test_idle_partners_change_nothing(cost, replicas_factory):
    """Every request on one rank of a group of four (the router sees only that rank; the others join
    each pass empty) runs as on that rank alone."""
    wl = lambda: _open(7, 120, rate=8.0)  # noqa: E731
    lone = simulate(replicas_factory(cost, n=1), wl(), RouterConfig())
    grouped = _ranks(replicas_factory, cost, 4, 4)
    assert run_records(lone) == run_records(simulate(grouped[:1], wl(), RouterConfig()))


def test_lockstep_slows_the_light_ranks(cost, replicas_factory):
    """The same arrivals on independent ranks and on one lock-step group: a rank decoding beside another
    rank's prefill chunk waits for it, so the inter-token gaps grow."""
    wl = lambda: _open(11, 300, rate=25.0)  # noqa: E731
    free = simulate(replicas_factory(cost, n=4), wl(), RouterConfig(policy="round_robin"))
    tied = simulate(_ranks(replicas_factory, cost, 4, 4), wl(), RouterConfig(policy="round_robin"))
    gaps = lambda res: np.average(np.concatenate([r.itl_values for r in res.replicas]),  # noqa: E731
                                  weights=np.concatenate([r.itl_weights for r in res.replicas]))
    assert gaps(tied) > 1.1 * gaps(free)
    assert sum(s.decoded for s in tied.sequences) == sum(s.decoded for s in free.sequences)  # same tokens


def test_expert_parallel_deployments_run_their_ranks_in_lockstep_on_python():
    b = build(Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=2))
    reps = make_replicas(b)
    assert b.replicas == 4 and [r.lockstep.leader for r in reps] == [0, 0, 2, 2]
    assert "lock-step" in compiled_ineligible(reps, _open(1, 5, 1.0), RouterConfig(), None, None)


def test_disaggregated_expert_parallel_pools_step_in_lockstep():
    """Both pools of an EP deployment: every request prefilled once and decoded, and within each EP
    instance the ranks' passes coincide or do not overlap."""
    pool = Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=4, precision="fp8")
    d = DisaggDeployment(prefill=pool, decode=pool, kv_link="nvlink")
    res, _ = run_disagg(d, WorkloadSpec(rate=12.0, num_requests=200, length_dist="azure-conv", seed=2), Slo())
    seqs = res.sim.sequences
    assert len(seqs) == 200 and all(s.decoded == s.req.output_tokens - 1 for s in seqs)
    for reps in (res.prefill, res.decode):
        assert {r.lockstep.leader for r in reps} == {0}
        logs = [r.log.arrays() for r in reps]
        passes = sorted({(s, e) for lg in logs for s, e in zip(lg["start_s"], lg["end_s"], strict=True)})
        assert all(e0 <= s1 for (_, e0), (s1, _) in itertools.pairwise(passes))
        assert sum(len(lg["start_s"]) for lg in logs) > len(passes)  # ranks did share passes


def test_a_rank_prefilling_beside_idle_partners_feeds_only_its_own_tokens_to_the_experts():
    """On a real EP plan: one rank prefilling 3,000 tokens while three partners sit idle is costed with
    the experts serving 3,000 group tokens, not 4 x 3,000 (each rank carrying the prefill's)."""
    b = build(Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=4, precision="fp8"))
    reps = make_replicas(b)
    reps[0].enqueue(Request(rid=0, arrival_s=0.0, input_tokens=3000, output_tokens=4))
    alone = copy.deepcopy(reps[0])
    alone.lockstep = None
    as_if_all = start_step(alone, 0.0)
    end = start_group_step(reps[0].lockstep, 0.0)
    exact = b.cost.step(np.zeros(0), np.array([3000]), np.array([0]), group_tokens=3000.0)[0]
    assert end == pytest.approx(exact + b.sched.host_overhead_s) and end < 0.9 * as_if_all
