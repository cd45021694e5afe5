"""Cost and latency per answer, not per token: a model that answers in 2,000 tokens instead of
10,000 wins by that factor even at the same $/Mtok.

The workload's `[[answers]]` list names options; each has a model and precision (plus any entry key)
and `tokens_per_answer` (top-level model, precision, input_len and layout are inherited; the batch is
the answer's own, else the largest that fits): a number, `{mean = N}`, `{samples = [...]}`, or the id of a published
figure in `data/output_lengths.json` (which also gives the default `quality`, the published
accuracy). Each option is predicted with output_len = the mean tokens per answer; then
cost per answer = $/Mtok x tokens / 1e6 (GPU-seconds when no price is given) and
latency per answer = TTFT + (tokens - 1) x TPOT, at the mean and at the 90th percentile of samples.
Cost per correct answer divides by quality when one is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from coscale.errors import CoscaleError
from coscale.explore.feedback.evaluate import evaluate_entry, pin_batches
from coscale.explore.feedback.workload import ENTRY_KEYS, Workload, parse_entry
from coscale.specs.hardware import HardwareSpec

ANSWER_KEYS = (ENTRY_KEYS - {"output_len", "weight"}) | {"tokens_per_answer", "quality"}


@dataclass(frozen=True, kw_only=True, slots=True)
class AnswerResult:
    name: str
    model: str
    precision: str
    tokens_mean: float
    tokens_p90: float
    quality: float | None
    cost_per_answer: float  # $ (or GPU-seconds when `cost_unit` says so)
    cost_unit: str
    cost_per_correct: float | None
    latency_mean_s: float
    latency_p90_s: float
    cost_per_mtok: float | None
    source: str


def published_figures() -> dict[str, dict[str, Any]]:
    text = resources.files("coscale.explore.feedback").joinpath("data", "output_lengths.json").read_text()
    return {f["id"]: f for f in json.loads(text)["figures"]}


def _tokens(spec: Any, where: str) -> tuple[np.ndarray, float | None, str]:
    """(samples, published accuracy, source) of a tokens_per_answer value."""
    if isinstance(spec, str):
        figures = published_figures()
        if spec not in figures:
            raise CoscaleError(f"{where}: no published output length '{spec}'; known: {', '.join(figures)}.")
        f = figures[spec]
        return np.array([float(f["mean_output_tokens"])]), f.get("accuracy"), f["source"]
    if isinstance(spec, (int, float)) and not isinstance(spec, bool) and spec >= 1:
        return np.array([float(spec)]), None, "given"
    if isinstance(spec, dict) and "mean" in spec and isinstance(spec["mean"], (int, float)) and spec["mean"] >= 1:
        return np.array([float(spec["mean"])]), None, "given (mean)"
    if isinstance(spec, dict) and isinstance(spec.get("samples"), list) and spec["samples"] and all(
            isinstance(s, (int, float)) and not isinstance(s, bool) and s >= 1 for s in spec["samples"]):
        return np.asarray(spec["samples"], dtype=float), None, "given (samples)"
    raise CoscaleError(f"{where}: tokens_per_answer must be a number >= 1, {{mean = N}}, {{samples = [...]}} or a "
                       f"published id ({', '.join(published_figures())}); got {spec!r}.")


def rank_answers(hw: HardwareSpec, workload: Workload) -> list[AnswerResult]:
    options = workload.raw.get("answers")
    if not isinstance(options, list) or not options:
        raise CoscaleError("workload 'answers' must be a non-empty list of [[answers]] tables.")
    defaults = {k: v for k, v in workload.raw.items() if k in ANSWER_KEYS - {"batch", "concurrency", "rate", "name"}}
    price = workload.usd_per_gpu_hour
    out = [_answer(hw, {**defaults, **o}, i, price) for i, o in enumerate(options)]
    return sorted(out, key=lambda a: (a.cost_per_answer, a.name))


def _answer(hw: HardwareSpec, o: dict[str, Any], i: int, price: float | None) -> AnswerResult:
    where = f"answers entry {i + 1}"
    for key in o:
        if key not in ANSWER_KEYS:
            raise CoscaleError(f"unknown key '{key}' in {where}; valid keys: {', '.join(sorted(ANSWER_KEYS))}.")
    if "tokens_per_answer" not in o:
        raise CoscaleError(f"{where} needs tokens_per_answer (a number, {{mean = N}}, {{samples = [...]}} or a "
                           f"published id).")
    samples, accuracy, source = _tokens(o["tokens_per_answer"], where)
    quality = o.get("quality", accuracy)
    if quality is not None and not (isinstance(quality, (int, float)) and 0 < quality <= 1):
        raise CoscaleError(f"{where}: quality must be a share of correct answers in (0, 1], got {quality!r}.")
    mean = float(samples.mean())
    fields = {k: val for k, val in o.items() if k not in ("tokens_per_answer", "quality")}
    entry = parse_entry({**fields, "output_len": max(1, round(mean))}, i, 2)
    entry = pin_batches(hw, [entry])[0]
    objective = "cost_per_mtok" if price else "throughput_per_gpu"
    r = evaluate_entry(hw, entry, objective, price)
    if not np.isfinite(r.value):
        raise CoscaleError(f"{where} ({entry.model.name}) does not fit {hw.name}; add GPUs (tp/ep/gpus) or a "
                           f"smaller precision.")
    ttft, tpot = float(r.ttft_s), float(r.tpot_s)
    p90 = float(np.percentile(samples, 90))
    if price:
        cost, unit = float(r.value) * mean / 1e6, "$"
    else:
        cost, unit = entry.parallel.gpus / float(r.throughput_tok_s) * mean, "GPU-s"
    return AnswerResult(
        name=str(o.get("name", f"{o['model']} {o['precision']}")), model=entry.model.name,
        precision=entry.precision.name, tokens_mean=mean, tokens_p90=p90, quality=quality, cost_per_answer=cost,
        cost_unit=unit, cost_per_correct=cost / quality if quality else None,
        latency_mean_s=ttft + (mean - 1) * tpot, latency_p90_s=ttft + (p90 - 1) * tpot,
        cost_per_mtok=float(r.value) if price else None, source=source)
