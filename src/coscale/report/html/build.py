"""Run a report scenario through the library and collect every section's numbers as one JSON-ready dict.

Nothing here prices anything its own way: configurations go through `predict_inference` /
`predict_inference_sweep`, memory through `serving_memory`, levers and cost per answer through
`run_feedback`, the prefill/decode chip pairs through `serve.disagg.screen` and `serve.compare`, validation
through `run_validation`; this module only chooses which to call and keeps
their outputs (the same dicts the `--json` commands print).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from coscale.errors import CoscaleError
from coscale.explore.feedback.run import run_feedback
from coscale.explore.feedback.workload import parse_workload
from coscale.explore.pareto import pareto_mask
from coscale.hardware.catalog import load_hardware
from coscale.predict.capacity import serving_memory
from coscale.predict.inference import InferenceScenario, predict_inference
from coscale.predict.sweep import REASONS, predict_inference_sweep
from coscale.report.feedback import feedback_to_dict
from coscale.report.html.disagg import disagg_section
from coscale.report.html.lab import lab_section, load_lab_result
from coscale.report.html.provenance import provenance_rows
from coscale.report.html.scenario import ReportScenario
from coscale.report.html.serving import serving_section
from coscale.report.html.training import training_section
from coscale.report.inference import inference_to_dict
from coscale.report.models import model_to_dict
from coscale.report.validation import validation_to_dict
from coscale.resolve import resolve_model
from coscale.specs.execution import InferenceRequest, Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.validation.runner import CaseResult, default_workers, run_validation, summarize


def _scenario(sc: ReportScenario, model: str, chip: str, precision: str, batch: int | None) -> InferenceScenario:
    hw = load_hardware(chip)
    return InferenceScenario(
        model=resolve_model(model), system=System(hardware=hw, num_gpus=1), parallel=Parallelism(gpus=1),
        precision=get_precision(precision, sc.kv_precision),
        request=InferenceRequest(input_len=sc.input_len, output_len=sc.output_len), batch=batch,
        max_batch=sc.max_batch, efficiency=hw.efficiency)


def _batches(max_batch: int) -> np.ndarray:
    b = sorted({*(2**k for k in range(max_batch.bit_length())), max_batch})
    return np.asarray([x for x in b if x <= max_batch], dtype=float)


def _config(sc: ReportScenario, model: str, chip: str, precision: str) -> dict[str, Any]:
    """One model x chip x precision: the prediction at the scenario's batch, and a batch sweep for the front."""
    row: dict[str, Any] = {"model": model, "hardware": chip, "precision": precision}
    try:
        row["prediction"] = inference_to_dict(predict_inference(_scenario(sc, model, chip, precision, sc.batch)))
        row["fits"], row["reason"] = True, ""
    except CoscaleError as exc:
        row["prediction"], row["fits"], row["reason"] = None, False, str(exc)
    plan = _scenario(sc, model, chip, precision, None).plan()
    batch = _batches(sc.max_batch)
    sw = predict_inference_sweep(plan, sc.input_len, sc.output_len, batch=batch)
    ok = sw.reason == 0
    row["sweep"] = [
        {"batch": int(b), "ttft_s": float(t), "tpot_s": float(p), "throughput_tok_s_per_gpu": float(x),
         "tok_s_per_user": float(1.0 / p), "memory_per_gpu_bytes": float(m),
         "meets_slo": bool(t <= sc.slo.ttft_s and p <= sc.slo.tpot_s)}
        for b, t, p, x, m, good in zip(batch, sw.ttft_s, sw.tpot_s, sw.throughput_tok_s / plan.parallel.gpus,
                                       sw.memory_per_gpu_bytes, ok, strict=True) if good]
    row["sweep_excluded"] = {REASONS[int(r)]: int((sw.reason == r).sum()) for r in np.unique(sw.reason) if r != 0}
    return row


def _pareto(configs: list[dict[str, Any]], price: float | None) -> list[dict[str, Any]]:
    points = [{"model": c["model"], "hardware": c["hardware"], "precision": c["precision"], **p}
              for c in configs for p in c["sweep"]]
    if not points:
        return []
    values = np.array([[p["throughput_tok_s_per_gpu"], p["tok_s_per_user"]] for p in points])
    mask = pareto_mask(values, [True, True])
    for p, on in zip(points, mask, strict=True):
        p["pareto"] = bool(on)
        p["usd_per_mtok"] = None if price is None else price / 3600.0 / p["throughput_tok_s_per_gpu"] * 1e6
    return points


def _recommend(points: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    meeting = [p for p in points if p["meets_slo"]]
    pool = meeting or points
    return max(pool, key=lambda p: p["throughput_tok_s_per_gpu"]), bool(meeting)


def _memory(sc: ReportScenario, rec: dict[str, Any]) -> dict[str, Any]:
    plan = _scenario(sc, rec["model"], rec["hardware"], rec["precision"], rec["batch"]).plan()
    batch = _batches(sc.max_batch)
    by_batch = serving_memory(plan, batch, sc.input_len, sc.output_len)
    ctx = np.unique(np.geomspace(256, max(plan.model.max_position_embeddings or 131072, 512), 10).round())
    isl = np.maximum(ctx - sc.output_len, 1)
    by_ctx = serving_memory(plan, rec["batch"], isl, sc.output_len)

    def cols(mem: Any, n: int) -> dict[str, list[float]]:
        return {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)).tolist() for k, v in mem.as_dict().items()}

    return {"capacity_bytes": plan.system.hardware.memory.hbm.capacity_bytes, "batch_at_context": rec["batch"],
            "by_batch": {"batch": batch.tolist(), **cols(by_batch, len(batch))},
            "by_context": {"context": (isl + sc.output_len).tolist(), **cols(by_ctx, len(isl))}}


def _feedback_workload(sc: ReportScenario, rec: dict[str, Any]) -> dict[str, Any]:
    """The `coscale feedback` workload file (as a dict) equivalent to the recommended deployment."""
    w: dict[str, Any] = {"model": rec["model"], "precision": rec["precision"], "input_len": sc.input_len,
                         "output_len": sc.output_len, "batch": rec["batch"], "model_levers": {}}
    if sc.kv_precision:
        w["kv_precision"] = sc.kv_precision
    if sc.usd_per_gpu_hour:
        w["usd_per_gpu_hour"] = sc.usd_per_gpu_hour
    if sc.answers:
        w["answers"] = [{"name": n, "tokens_per_answer": t} for n, t in sc.answers]
    return w


def _chip(chip: str, pred: dict[str, Any]) -> dict[str, Any]:
    """The roofline's ceilings: HBM bandwidth and the peak of each tensor class the operators ran in."""
    hw = load_hardware(chip)
    classes = sorted({o["compute_class"] for ph in ("prefill", "decode") for o in pred[ph]["operators"]})
    peaks = {c: float(hw.get(f"compute.{c}")) for c in classes if c in hw.compute.__slots__ and hw.get(f"compute.{c}")}
    return {"id": hw.id, "name": hw.name, "hbm_bandwidth_Bps": hw.memory.hbm.bandwidth_Bps, "peaks": peaks}


def build_report(sc: ReportScenario, validation: list[CaseResult] | None = None) -> dict[str, Any]:
    """The report's data. `validation`: the shipped cases' results when the caller already holds them
    (they do not depend on the scenario); by default they are computed here, as `coscale validate` does."""
    training = None if sc.train is None else training_section(sc.train)  # first: a [train] that fits nowhere
    configs = [_config(sc, m, c, p) for m in sc.models for c in sc.hardware for p in sc.precisions]  # stops at once
    points = _pareto(configs, sc.usd_per_gpu_hour)
    if not points:
        reasons = sorted({c["reason"].split(";")[0] for c in configs if c["reason"]})
        raise CoscaleError(f"nothing in scenario '{sc.source}' fits at any batch ({'; '.join(reasons)[:300]}); "
                           f"add a chip with more memory, a smaller precision or a shorter input_len/output_len.")
    rec, meets = _recommend(points)
    best = predict_inference(_scenario(sc, rec["model"], rec["hardware"], rec["precision"], rec["batch"]))
    workload = _feedback_workload(sc, rec)
    fb = feedback_to_dict(run_feedback(load_hardware(rec["hardware"]), parse_workload(workload, source="report"),
                                       sc.objective))
    serving = (serving_section(rec, sc.kv_precision, sc.input_len, sc.output_len, sc.slo.ttft_s, sc.slo.tpot_s,
                               sc.length_dist) if sc.serve else None)
    disaggregated = disagg_section(rec, list(sc.hardware), sc.kv_precision, sc.input_len, sc.output_len,
                                   sc.slo.ttft_s, sc.slo.tpot_s, sc.length_dist, sc.usd_per_gpu_hour)
    results = run_validation(serving=True, workers=default_workers()) if validation is None else validation
    return {
        "title": sc.title,
        "scenario": {"source": sc.source, "models": list(sc.models), "hardware": list(sc.hardware),
                     "precisions": list(sc.precisions), "kv_precision": sc.kv_precision,
                     "input_len": sc.input_len, "output_len": sc.output_len,
                     "batch": "auto" if sc.batch is None else sc.batch, "max_batch": sc.max_batch,
                     "usd_per_gpu_hour": sc.usd_per_gpu_hour, "objective": sc.objective,
                     "slo": {"ttft_s": sc.slo.ttft_s, "tpot_s": sc.slo.tpot_s},
                     "answers": dict(sc.answers), "serve": sc.serve, "length_dist": sc.length_dist},
        "recommended": {"model": rec["model"], "hardware": rec["hardware"], "precision": rec["precision"],
                        "batch": rec["batch"], "meets_slo": meets, "prediction": inference_to_dict(best)},
        "roofline_chip": _chip(rec["hardware"], inference_to_dict(best)),
        "models": [model_to_dict(m, resolve_model(m)) for m in sc.models],
        "configs": configs,
        "pareto": points,
        "memory": _memory(sc, rec),
        "feedback_workload": workload,
        "feedback": fb,
        "serving": serving,
        "disaggregated": disaggregated,
        "training": training,
        "lab": None if sc.lab_result is None else lab_section(load_lab_result(sc.lab_result), str(sc.lab_result)),
        "validation": validation_to_dict(results, summarize(results)),
        "provenance": provenance_rows([load_hardware(c) for c in sc.hardware]),
    }
