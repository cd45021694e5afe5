"""Disaggregation cases of the serving validation (`serving_disagg_cases.json`, category `serving_disagg`).

- `decode_saturated`: a decode pool's output tokens/s per node with its instances kept full
  (`coscale.serve.disagg.saturation`).
- `prefill_saturated`: a prefill pool's prompt tokens/s per node with prompts queued (the same module).
- `pd_ratio`: the prefill:decode node split (of those the source swept) with the highest
  rate-matched capacity (`coscale.serve.disagg.screen`).
- `goodput_ratio`: `coscale serve compare`'s best disaggregated over best aggregated per-GPU capacity.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from coscale.serve.compare import CompareSpec, compare
from coscale.serve.disagg.deployment import DisaggDeployment, build_disagg
from coscale.serve.disagg.saturation import decode_saturated, prefill_saturated
from coscale.serve.disagg.screen import decode_rate, prefill_rate
from coscale.serve.scenario import Deployment, WorkloadSpec, build

MODEL_PREFIX = "validation:"


def load_disagg_cases() -> list[dict[str, Any]]:
    text = resources.files("coscale.validation").joinpath("serving_disagg_cases.json").read_text()
    return json.loads(text)["cases"]


def _built(case: dict[str, Any]):
    dep = case["deployment"]
    return build_disagg(DisaggDeployment(prefill=Deployment(**dep["prefill"]), decode=Deployment(**dep["decode"]),
                                         kv_link=dep["kv_link"]))


def _prefill_saturated(case: dict[str, Any]) -> tuple[float, str]:
    b = _built(case)
    r = prefill_saturated(b, case["input_tokens"])
    per_node = r["tok_s"] * case["gpus_per_node"] / (b.prefill.parallel.tp * b.prefill.parallel.pp)
    return per_node, (f"{r['tok_s']:.0f} prompt tok/s per attention-DP rank, steps of {r['step_tokens']} tokens "
                      f"in {r['step_s']:.2f} s")


def _decode_saturated(case: dict[str, Any]) -> tuple[float, str]:
    b = _built(case)
    r = decode_saturated(b, case["input_tokens"], case["output_tokens"])
    per_instance_gpus = b.decode.parallel.tp * b.decode.parallel.pp
    per_node = r["tok_s"] * case["gpus_per_node"] / per_instance_gpus
    return per_node, (f"{r['tok_s']:.0f} tok/s per attention-DP rank at batch {r['batch']} (KV holds "
                      f"{r['kv_limited_batch']}), step {r['step_s'] * 1e3:.0f} ms")


def _pd_ratio(case: dict[str, Any]) -> tuple[float, str]:
    base = Deployment(model=case["model"], hardware=case["hardware"], gpus=case["tp"], tp=case["tp"])
    b = build(base)
    new_tokens = case["mean_input"] * (1 - case["prefix_share"])
    rp = prefill_rate(b, new_tokens)
    rd, batch = decode_rate(b, case["mean_input"], case["mean_output"], case["tpot_s"])
    caps = {x: min(x * rp, (case["nodes"] - x) * rd) for x in case["sweep"]}
    best = max(caps, key=lambda x: (caps[x], -abs(x - case["nodes"] / 2)))
    return best / (case["nodes"] - best), (f"{best}P{case['nodes'] - best}D best; per node prefill {rp:.3g} req/s, "
                                          f"decode {rd:.3g} req/s (batch {batch}); rate-matched capacity by split "
                                          + ", ".join(f"{x}P:{caps[x]:.3g}" for x in case["sweep"]))


def _model(name: str) -> str:
    """A `validation:` model names a config shipped in coscale/validation/configs."""
    if name.startswith(MODEL_PREFIX):
        return str(resources.files("coscale.validation").joinpath("configs", name[len(MODEL_PREFIX):] + ".json"))
    return name


def _goodput_ratio(case: dict[str, Any]) -> tuple[float, str]:
    c = dict(case["compare"])
    c["tps"] = tuple(c["tps"])
    c["model"] = _model(c["model"])
    out = compare(CompareSpec(**c), WorkloadSpec(**case["workload"]))
    agg, dis = out["aggregated"], out["disaggregated"]
    if agg is None or dis is None:
        return float("nan"), "one mode met the SLO at no rate"
    ratio = dis["throughput_tok_s_per_gpu"] / agg["throughput_tok_s_per_gpu"]
    dd = dis["deployment"]
    return ratio, (f"disaggregated {dd['p_to_d_gpus']} P:D GPUs (TP{dd['prefill']['tp']}/TP{dd['decode']['tp']}) "
                   f"{dis['capacity_rps']:.3g} req/s (saturated {dis['saturated_rps']:.3g}, SLO attainment "
                   f"{dis['slo_attainment']:.0%}) vs aggregated {agg['deployment']['gpus']} GPUs TP"
                   f"{agg['deployment']['tp']} {agg['capacity_rps']:.3g} req/s (saturated {agg['saturated_rps']:.3g}, "
                   f"attainment {agg['slo_attainment']:.0%})")


# Reported beside the aggregated `serving` cases (same `coscale validate` run, `--no-serving` skips both),
# under their own label so each category's median error describes one kind of prediction.
CATEGORY = "serving_disagg"
KINDS = {"decode_saturated": _decode_saturated, "prefill_saturated": _prefill_saturated, "pd_ratio": _pd_ratio,
         "goodput_ratio": _goodput_ratio}


def run_disagg_cases(ids: tuple[str, ...] | None = None) -> list:
    from coscale.validation.runner import CaseResult

    out = []
    for case in load_disagg_cases():
        if ids is not None and case["id"] not in ids:
            continue
        predicted, note = KINDS[case["kind"]](case)
        out.append(CaseResult(id=case["id"], category=CATEGORY, calibration=False, description=case["description"],
                              source=case["source"], predicted=predicted, published=float(case["published"]),
                              unit=case["unit"], note=f"{note}. Assumptions: {case['assumptions']}"))
    return out
