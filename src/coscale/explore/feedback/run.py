"""One `coscale feedback` run as a value: the base evaluation, ranked levers, what-ifs and flip scan
(plus model levers and cost per answer when the workload asks), ready for `coscale.report.feedback`."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.explore.feedback.answers import AnswerResult, rank_answers
from coscale.explore.feedback.evaluate import Evaluation, evaluate, pin_batches, require_feasible
from coscale.explore.feedback.flip import FlipScan, flip_scan
from coscale.explore.feedback.levers import Lever, rank_levers
from coscale.explore.feedback.model_levers import ModelLever, rank_model_levers
from coscale.explore.feedback.whatif import WhatIf, run_whatifs
from coscale.explore.feedback.workload import Workload, WorkloadEntry
from coscale.explore.objectives import get_objective
from coscale.specs.hardware import HardwareSpec


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class FeedbackResult:
    hardware: HardwareSpec
    objective: str
    workload: Workload
    entries: tuple[WorkloadEntry, ...]  # with a rate resolved to a batch on the base chip
    base: Evaluation
    levers: tuple[Lever, ...]
    whatifs: tuple[WhatIf, ...]
    flip: FlipScan
    model_levers: tuple[ModelLever, ...] | None
    answers: tuple[AnswerResult, ...] | None
    assumptions: tuple[str, ...]


def run_feedback(hw: HardwareSpec, workload: Workload, objective: str = "throughput_per_gpu", *,
                 prefill_chip: HardwareSpec | None = None, model_levers: bool = False) -> FeedbackResult:
    get_objective(objective)
    price = workload.usd_per_gpu_hour
    rules = [f"{e.name}: {e.batch_rule}" for e in workload.entries]
    entries = pin_batches(hw, workload.entries)
    base = evaluate(hw, entries, objective, price)
    require_feasible(base, hw.name)
    notes = [*rules, "a rate is resolved to a batch once on the base chip and kept for every variant; "
                     "'auto' is re-resolved per variant (the largest batch that fits it)"]
    if len(entries) > 1:
        notes.append("mix: the input/output flip scan uses the first entry")
    want_models = model_levers or "model_levers" in workload.raw
    return FeedbackResult(
        hardware=hw, objective=objective, workload=workload, entries=entries, base=base,
        levers=tuple(rank_levers(hw, entries, objective, price, base)),
        whatifs=tuple(run_whatifs(hw, entries, objective, price, prefill_chip)),
        flip=flip_scan(hw, entries[0], objective, price),
        model_levers=tuple(rank_model_levers(hw, workload, entries, objective)) if want_models else None,
        answers=tuple(rank_answers(hw, workload)) if "answers" in workload.raw else None,
        assumptions=tuple(notes))
