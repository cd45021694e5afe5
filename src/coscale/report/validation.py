"""`coscale validate`: the validation results' one JSON-ready dict, and the table drawn from it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from coscale.validation.codesign import load_codesign
from coscale.validation.runner import FORMULA_REPRODUCTION, CaseResult


def validation_to_dict(results: list[CaseResult], summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "cases": [{"id": r.id, "category": r.category, "calibration": r.calibration, "description": r.description,
                   "predicted": r.predicted, "published": r.published, "unit": r.unit, "error": r.error,
                   "source": r.source, "note": r.note, "holdout": r.holdout, "family": r.family,
                   "model_kind": r.model_kind, "metric": r.metric, "evidence": r.evidence} for r in results],
        "summary": summary,
        "codesign_not_reproduced": load_codesign()["not_reproduced"],
    }


def print_validation(data: dict[str, Any], console: Console) -> None:
    table = Table(title="coscale validate: predicted vs published")
    for col in ("case", "category", "what", "predicted", "published", "unit", "error"):
        table.add_column(col, justify="right" if col in ("predicted", "published", "error") else "left")
    for r in data["cases"]:
        tag = " (cal.)" if r["calibration"] else (" (hold-out)" if r.get("holdout") else "")
        tag += " (formula)" if r.get("evidence") == FORMULA_REPRODUCTION else ""
        err = r["error"]
        colour = "green" if abs(err) <= 0.15 else ("yellow" if abs(err) <= 0.3 else "red")
        table.add_row(r["id"] + tag, r["category"], r["description"], f"{r['predicted']:,.4g}",
                      f"{r['published']:,.4g}", r["unit"], f"[{colour}]{err:+.1%}[/]")
    console.print(table)
    summary = data["summary"]
    groups = Table(title="out-of-sample error by band cell (chip family x phase x model kind)")
    for col in ("family", "phase", "model kind", "cases", "median |error|", "median error"):
        groups.add_column(col, justify="right" if col in ("cases", "median |error|", "median error") else "left")
    for g in summary["by_group"]:
        groups.add_row(g["family"], g["phase"], g["model_kind"], str(g["cases"]), f"{g['median_abs_error']:.1%}",
                       f"{g['median_error']:+.1%}")
    console.print(groups)
    console.print(_bias_table(summary["bias_by_category_metric"]))
    for label, key in (("all cases", "median_abs_error_by_category"),
                       ("out-of-sample (calibration cases excluded)", "median_abs_error_out_of_sample_by_category")):
        parts = [f"{c} {v:.1%}" for c, v in summary[key].items() if v is not None]
        console.print(f"median |error| by category, {label}: " + ", ".join(parts))
    console.print(f"median |error| over inference + kernel cases: "
                  f"{summary['median_abs_error_inference_and_kernel']:.1%} "
                  f"(out-of-sample only: {summary['median_abs_error_inference_and_kernel_out_of_sample']:.1%})")
    holdout = {c: v for c, v in summary["median_abs_error_holdout_by_category"].items() if v is not None}
    if holdout:
        parts = ", ".join(f"{c} {v:.1%}" for c, v in holdout.items())
        console.print("median |error| over stated hold-out cases: " + parts)
    band = summary["error_band_calibration"]
    if band["share_inside"] is not None:
        phases = ", ".join(f"{p} {v['share_inside']:.0%} of {v['cases']}" for p, v in band["by_phase"].items())
        console.print(f"error-band calibration (leave-one-out, out-of-sample): {band['share_inside']:.0%} of "
                      f"{band['cases']} cases inside their {band['level']:.0%} band ({phases})")
    console.print("(cal.) = a cost-model constant was fitted on this case; see hardware/efficiency/<family>.json; "
                  "(hold-out) = stated hold-out, never used to set a constant; (formula) = a formula reproduction: "
                  "the published figure is a paper's closed-form accounting, not a measurement")
    for r in data["cases"]:
        if r["category"] == "codesign":
            console.print(f"codesign {r['id']}: {r['note']}", highlight=False)
    for reason, ids in data.get("codesign_not_reproduced", {}).items():
        console.print(f"codesign, not reproduced ({reason}): {', '.join(ids)}", highlight=False)


def _bias_table(bias: dict[str, dict[str, Any]]) -> Table:
    """Signed error per category and metric: the bias (mean signed error) and how many cases lie over and under."""
    table = Table(title="signed error by category / metric (+ = over-predicted)")
    for col in ("category / metric", "evidence", "cases", "over", "under", "bias (mean)", "median"):
        table.add_column(col, justify="left" if col in ("category / metric", "evidence") else "right")
    for key, b in bias.items():
        evidence = ", ".join("formula reproductions (not measurements)" if e == FORMULA_REPRODUCTION else e + "s"
                             for e in b["evidence"])
        table.add_row(key, evidence, str(b["cases"]), str(b["over"]), str(b["under"]),
                      f"{b['mean_signed_error']:+.1%}", f"{b['median_signed_error']:+.1%}")
    return table
