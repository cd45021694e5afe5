"""Attention-DP ranks of one expert-parallel instance step in lock-step.

With attention-DP + EP (SGLang's `--enable-dp-attention`, vLLM's data-parallel + expert-parallel
deployment) every rank schedules its own batch on its own KV cache, but each forward pass is one
collective step of the whole group: the MoE all-to-all of every layer joins all ranks, and a rank
with nothing to run joins with an empty batch. So the ranks' passes start together and end together,
at the pace of the slowest rank: a rank whose batch is light waits at the exchange for the one
running a long prefill chunk. A request that reaches a rank while its group is mid-step waits for
the group's next step.

Every rank plans its pass, then each is costed (`replica.start_step`) with its own attention, dense
layers and all-to-all rows and with the routed experts serving the tokens of all the group's ranks
(`StepShape.group_tokens`: the core's experts at the group's mean tokens per rank), and the group's
pass lasts as long as the longest of them. A decode run (fast-forward) of the group is the steps
every rank can run unchanged (the shortest of the ranks' runs), each as long as the slowest rank's
step (the group's tokens are those of its first step: a decode run's batches do not change); an
arrival truncates the whole group's run. A rank that waits at the exchange draws its GPUs' idle power
for the wait (added to its pass's energy; a lower bound, as the collective's spinning kernels draw
more), and a rank with no pass draws idle power like any engine between passes (`metrics.report`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coscale.serve.replica import Replica, finish_step, plan_step, run_bound, start_step, truncate
from coscale.serve.sequence import Sequence


@dataclass(kw_only=True, slots=True)
class LockStep:
    """One EP instance's attention-DP ranks; `token` changes whenever the group's step end moves."""

    ranks: list[Replica]
    idle_w: float = 0.0  # one rank's GPUs' board power while they wait
    token: int = 0
    stepping: bool = False

    @property
    def leader(self) -> int:
        """The replica index the group's step-end events carry."""
        return self.ranks[0].index


def attach_lockstep(reps: list[Replica], ranks_per_group: int, idle_w: float = 0.0) -> None:
    """Join consecutive replicas into groups of `ranks_per_group` (nothing to join for 1); `idle_w`: the
    board power of one rank's GPUs while they wait for the group."""
    if ranks_per_group <= 1:
        return
    for g in range(0, len(reps), ranks_per_group):
        group = LockStep(ranks=reps[g:g + ranks_per_group], idle_w=idle_w)
        for r in group.ranks:
            r.lockstep = group


def start_group_step(group: LockStep, now: float) -> float | None:
    """Every rank plans its next pass (or decode run) at `now`; the group runs the steps all of them
    can run (a rank that plans nothing joins empty), each lasting its slowest rank's. Returns the end
    of the group's last step, or None when no rank has work."""
    plans = [(r, plan_step(r, now)) for r in group.ranks if r.waiting or r.running]
    planned = [(r, p) for r, p in plans if p is not None]
    if not planned:
        group.stepping = False
        return None
    tokens = float(sum(int(p[1].sum()) for _, p in planned))  # what the group's experts serve in its first step
    k = min(run_bound(r, p) for r, p in planned)  # the steps every rank can run unchanged: cost no more
    for r, p in planned:
        start_step(r, now, planned=p, group_tokens=tokens, max_steps=k)
    busy = [r for r, _ in planned]
    k = min(r.step.steps for r in busy)  # type: ignore[union-attr]  # (a tier load settled may shorten one)
    durations = np.max([np.diff(r.step.starts[:k + 1]) for r in busy], axis=0)  # type: ignore[union-attr]
    starts = np.cumsum(np.concatenate(([now], durations)))
    for r in busy:
        step = r.step
        assert step is not None
        wait = durations - np.diff(step.starts[:k + 1])  # this rank's wait for the slowest, per step
        step.starts = starts.copy()
        step.energies = step.energies[:k] + group.idle_w * wait
        step.kv_used = step.kv_used[:k]
    group.stepping = True
    group.token += 1
    return float(starts[-1])


def finish(rep: Replica) -> list[Sequence]:
    """At a step-end event of `rep`: apply its pass(es) (every stepping rank's, for a lock-step rank);
    the requests that finished, rank by rank."""
    return [s for r in ending(rep) for s in finish_step(r)]


def ending(rep: Replica) -> list[Replica]:
    """The replicas whose passes a step-end event of `rep` ends (itself, or its group's stepping ranks,
    the group now at a scheduling point)."""
    group = rep.lockstep
    if group is None:
        return [rep]
    group.stepping = False
    return [r for r in group.ranks if r.step is not None]


def wake(rep: Replica, now: float, horizon: float = float("inf")) -> tuple[int, int, float] | None:
    """Work reached `rep` at `now`: start its pass (its group's, for a lock-step rank) when idle, or
    cut a running decode run to the steps started before `now` so the new work joins at the next
    boundary. Returns (replica index, token, end) of the step-end event to schedule, None when the
    running step is unchanged. `horizon`: the next arrival known to reach a lone replica
    (`replica.start_step`)."""
    group = rep.lockstep
    if group is None:
        end = start_step(rep, now, horizon) if rep.step is None else truncate(rep, now)
        return None if end is None else (rep.index, rep.token, end)
    if not group.stepping:
        end = start_group_step(group, now)
        return None if end is None else (group.leader, group.token, end)
    return cut_run(rep, now)


def cut_run(rep: Replica, now: float) -> tuple[int, int, float] | None:
    """Cut the running decode run of `rep` (of its whole group, for a lock-step rank) to the steps
    started before `now`, so that its next scheduling point comes at the first boundary after `now`.
    Returns (replica index, token, end) of the new step-end event, None when nothing changed."""
    group = rep.lockstep
    if group is None:
        end = truncate(rep, now)
        return None if end is None else (rep.index, rep.token, end)
    new_end = None
    for r in group.ranks:
        if r.step is not None:
            cut = truncate(r, now)
            new_end = cut if cut is not None else new_end
    if new_end is None:
        return None
    group.token += 1
    return group.leader, group.token, new_end


def idle(rep: Replica) -> bool:
    """At a scheduling point now: no pass of its own (of its group, for a lock-step rank) is running."""
    return rep.step is None if rep.lockstep is None else not rep.lockstep.stepping


def step_token(rep: Replica) -> int:
    """The token a current step-end event of `rep` carries (its group's, for a lock-step rank)."""
    return rep.token if rep.lockstep is None else rep.lockstep.token


def members(rep: Replica) -> list[Replica]:
    """The replicas a step-end event of `rep` ends: itself, or its lock-step group's ranks."""
    return [rep] if rep.lockstep is None else rep.lockstep.ranks


def restart(rep: Replica, now: float, horizon: float = float("inf")) -> tuple[int, int, float] | None:
    """At a scheduling point: start the next pass of `rep` (its group's) unless one is running."""
    if not idle(rep):
        return None
    return wake(rep, now, horizon)
