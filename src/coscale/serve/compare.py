"""`coscale serve compare`: the best aggregated deployment against the best disaggregated one for one
workload and one GPU (or cost) budget, each measured by the simulator at the SLO, and why one wins.

Aggregated: every instance layout (a tensor-parallel degree that fits one scale-up domain, and for a
MoE model an expert-parallel degree of `eps`, whose attention-DP ranks step in lock-step) that fits
the model, replicas filling the budget; each gets an MLPerf-style capacity search (highest Poisson
rate meeting the p99 TTFT and TPOT limits). Disaggregated: every (prefill layout, decode layout) and
every prefill:decode instance split within the budget is ranked by rate matching (`disagg.screen`,
from the step-cost contract); the best `candidates` are measured by the same capacity search on the
disaggregated simulator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.serve.capacity_search import UNSTABLE_GROWTH, RatePoint, evaluate, queue_growth, search_rate
from coscale.serve.disagg.deployment import DisaggBuilt, DisaggDeployment, build_disagg
from coscale.serve.disagg.link import kv_path
from coscale.serve.disagg.run import run_disagg
from coscale.serve.disagg.saturation import disagg_saturated_rate
from coscale.serve.disagg.screen import decode_rate, prefill_rate
from coscale.serve.engine import Overloaded
from coscale.serve.metrics import Slo
from coscale.serve.scenario import (
    MAX_INSTANCES,
    Deployment,
    WorkloadSpec,
    build,
    make_workload,
    saturated_rate,
    with_rate,
)
from coscale.serve.workload import OpenLoop


@dataclass(frozen=True, kw_only=True, slots=True)
class CompareSpec:
    model: str = "llama-3.1-8b"
    hardware: str = "h100-sxm"  # the aggregated deployment's chip
    prefill_hardware: str | None = None  # default: `hardware`
    decode_hardware: str | None = None
    gpus: int | None = None  # GPU budget (each side uses at most this many)
    budget_usd_per_hour: float | None = None  # or a cost budget ...
    prices: tuple[tuple[str, float], ...] = ()  # ... with $/GPU-hour per chip id
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: str = "vllm"
    max_batched_tokens: int | None = None  # the engines' step token budget (None: the engine preset's)
    chunked_prefill: bool | None = None  # None: the engine preset's
    kv_link: str = "infiniband"
    kv_link_efficiency: float | None = None
    tps: tuple[int, ...] = (1, 2, 4, 8)
    # expert-parallel degrees (MoE models; 1: experts sharded by TP): an EP instance spans max(TP, EP) GPUs
    eps: tuple[int, ...] = (1,)
    candidates: int = 3
    slo_ttft_p99_s: float = 2.0
    slo_tpot_p99_s: float = 0.2
    # None: both p99 limits (MLPerf); a share (DistServe: 0.9): that share of requests meets both limits
    attainment: float | None = None

    def __post_init__(self) -> None:
        if (self.gpus is None) == (self.budget_usd_per_hour is None):
            raise CoscaleError("give exactly one of --gpus (a GPU budget) or --budget-usd-per-hour (a cost budget).")
        if self.gpus is not None and self.gpus < 2:
            raise CoscaleError(f"--gpus must be >= 2 (a prefill and a decode GPU), got {self.gpus}.")
        if self.budget_usd_per_hour is not None and not 0 < self.budget_usd_per_hour < math.inf:
            raise CoscaleError(f"--budget-usd-per-hour must be a finite number > 0, got {self.budget_usd_per_hour}.")
        for chip in {self.hardware, self.prefill_chip, self.decode_chip}:
            self.max_gpus(chip)  # a price for each chip under a cost budget; the budget within bounds
        if self.attainment is not None and not 0 < self.attainment <= 1:
            raise CoscaleError(f"--attainment must be in (0, 1], got {self.attainment}.")
        if self.candidates < 1:
            raise CoscaleError(f"--candidates must be >= 1, got {self.candidates}.")
        for flag, limit in (("--slo-ttft-p99", self.slo_ttft_p99_s), ("--slo-tpot-p99", self.slo_tpot_p99_s)):
            if not 0 < limit < math.inf:
                raise CoscaleError(f"{flag} must be a finite number of seconds > 0, got {limit}.")
        if self.max_batched_tokens is not None and self.max_batched_tokens < 1:
            raise CoscaleError(f"--max-batched-tokens must be >= 1, got {self.max_batched_tokens}.")
        # the link between the pools, as the disaggregated simulator resolves it (one GPU a side: the
        # pools' sizes are searched; a split too large for the link is skipped there)
        kv_path(self.kv_link, load_hardware(self.prefill_chip), 1, 1, load_hardware(self.decode_chip), 1, 1,
                self.kv_link_efficiency)

    @property
    def prefill_chip(self) -> str:
        return self.prefill_hardware or self.hardware

    @property
    def decode_chip(self) -> str:
        return self.decode_hardware or self.hardware

    def price(self, chip: str) -> float:
        for c, p in self.prices:
            if c == chip:
                if not p > 0:
                    raise CoscaleError(f"the price of {chip} must be > 0 $/GPU-hour, got {p}.")
                return p
        raise CoscaleError(f"no $/GPU-hour for {chip}; give --prices {chip}=USD (comma-separated chip=price pairs).")

    def max_gpus(self, chip: str) -> int:
        n = self.gpus if self.gpus is not None else int(self.budget_usd_per_hour // self.price(chip))  # type: ignore[operator]
        if n > MAX_INSTANCES:
            raise CoscaleError(f"the budget buys {n:,} GPUs of {chip}; a comparison searches at most "
                               f"{MAX_INSTANCES:,}: lower --gpus or --budget-usd-per-hour (a slice of the deployment "
                               f"compares the same).")
        return n

    def fits(self, prefill_gpus: int, decode_gpus: int) -> bool:
        if self.gpus is not None:
            return prefill_gpus + decode_gpus <= self.gpus
        cost = prefill_gpus * self.price(self.prefill_chip) + decode_gpus * self.price(self.decode_chip)
        return cost <= self.budget_usd_per_hour * (1 + 1e-12)  # type: ignore[operator]

    def usd_per_hour(self, chip_gpus: list[tuple[str, int]]) -> float | None:
        if not self.prices:
            return None
        try:
            return sum(self.price(c) * n for c, n in chip_gpus)
        except CoscaleError:
            return None


def _pool(spec: CompareSpec, chip: str, instances: int, layout: Layout) -> Deployment:
    tp, ep = layout
    return Deployment(model=spec.model, hardware=chip, gpus=instances * max(tp, ep), tp=tp, ep=ep,
                      precision=spec.precision, kv_precision=spec.kv_precision, engine=spec.engine,
                      max_batched_tokens=spec.max_batched_tokens, chunked_prefill=spec.chunked_prefill)


def _lengths(spec: CompareSpec, w: WorkloadSpec) -> tuple[float, float]:
    wl = make_workload(with_rate(w, 1.0) if w.trace is None else w, load_model(spec.model))
    if not isinstance(wl, OpenLoop):
        raise CoscaleError("serve compare needs an open-loop workload (lengths or a trace), not --concurrency.")
    return (float(np.mean([r.input_tokens for r in wl.requests])),
            float(np.mean([r.output_tokens for r in wl.requests])))


Layout = tuple[int, int]  # an instance's (TP, EP)


def instance_layouts(spec: CompareSpec, chip: str, limit: int) -> list[Layout]:
    """(TP, EP) of one instance within `limit` GPUs: TP inside one scale-up domain; EP 1 (experts
    sharded by TP) or a multiple of TP above it (attention-DP + EP, which may span domains)."""
    dom = load_hardware(chip).links.scaleup.domain_size
    return [(t, e) for t in spec.tps if t <= limit and t <= dom
            for e in spec.eps if e == 1 or (e > t and e % t == 0 and e <= limit)]


def _pool_layouts(spec: CompareSpec, chip: str, role: str) -> list[Layout]:
    """`instance_layouts` of one pool of the disaggregated search; none is an error naming the flags."""
    limit = spec.max_gpus(chip)
    out = instance_layouts(spec, chip, limit)
    if not out:
        dom = load_hardware(chip).links.scaleup.domain_size
        raise CoscaleError(f"no --tps/--eps degree fits one {role} instance on {chip}: --tps "
                           f"{','.join(map(str, spec.tps))} and --eps {','.join(map(str, spec.eps))} against at most "
                           f"{min(limit, dom)} GPUs (the budget, and TP within a {dom}-GPU scale-up domain); give "
                           f"smaller degrees or raise the budget.")
    return out


def layout_name(layout: Layout) -> str:
    tp, ep = layout
    return f"TP{tp}" + (f" EP{ep}" if ep > 1 else "")


# the capacity search bisects to 2 % (`search_rate`'s rel_tol): a capacity within twice that of the
# saturated completion rate is the saturation cap, not an SLO limit
SATURATION_BAND = 0.04


def _outcome(spec: CompareSpec, best: RatePoint, tried: list[RatePoint], gpus: int,
             usd_per_hour: float | None, saturated_rps: float) -> dict[str, object]:
    rep = best.report or {}
    tok = best.rate * rep["throughput_tok_s"] / rep["request_throughput_rps"]  # type: ignore[operator]
    ttft, tpot = rep["ttft_s"]["p99"], rep["tpot_s"]["p99"]  # type: ignore[index]
    # goodput at the capacity rate: the offered rate times the share of requests meeting both limits
    # (DistServe's); the trial run's own completions per second count its drain after the last arrival
    out = {"capacity_rps": best.rate, "throughput_tok_s": tok, "throughput_tok_s_per_gpu": tok / gpus,
           "goodput_rps": best.rate * rep["slo_attainment"], "slo_attainment": rep["slo_attainment"],  # type: ignore[operator]
           "ttft_p99_s": ttft,
           "tpot_p99_s": tpot, "gpus": gpus, "usd_per_hour": usd_per_hour,
           "usd_per_million_output_tokens": usd_per_hour / 3600 / tok * 1e6 if usd_per_hour and tok else None,
           "binds": "ttft" if ttft / spec.slo_ttft_p99_s >= tpot / spec.slo_tpot_p99_s else "tpot",
           "saturated_rps": saturated_rps, "saturation_bound": best.rate * (1 + SATURATION_BAND) >= saturated_rps,
           "runs": len(tried), "at_capacity": rep}
    return out


def best_aggregated(spec: CompareSpec, w: WorkloadSpec, start_rps: float) -> dict[str, object] | None:
    chip = spec.hardware
    n = spec.max_gpus(chip)
    best: dict[str, object] | None = None
    tried_layouts = []
    for layout in instance_layouts(spec, chip, n):
        tp, ep = layout
        d = _pool(spec, chip, n // max(tp, ep), layout)
        try:
            built = build(d)
        except CoscaleError as e:
            tried_layouts.append({"tp": tp, "ep": ep, "skipped": str(e)})
            continue
        sat = saturated_rate(built, w, d.router)
        try:
            cap, tried = search_rate(lambda rate, d=d, built=built, sat=sat: _judge(spec, evaluate(
                d, w, built, rate, spec.slo_ttft_p99_s, spec.slo_tpot_p99_s, capacity_rps=sat)),
                spec.slo_ttft_p99_s, spec.slo_tpot_p99_s, start_rps=start_rps)
        except CoscaleError as e:
            tried_layouts.append({"tp": tp, "ep": ep, "skipped": str(e)})
            continue
        gpus = built.parallel.gpus
        o = _outcome(spec, cap, tried, gpus, spec.usd_per_hour([(chip, gpus)]), sat)
        o["deployment"] = {"hardware": chip, "gpus": gpus, "tp": tp, "ep": ep, "replicas": built.replicas}
        tried_layouts.append({"tp": tp, "ep": ep, "capacity_rps": cap.rate, "saturated_rps": sat})
        if best is None or o["capacity_rps"] > best["capacity_rps"]:  # type: ignore[operator]
            best = o
    if best is not None:
        best["layouts"] = tried_layouts
    return best


def _judge(spec: CompareSpec, p: RatePoint) -> RatePoint:
    """A probed rate judged by the compare SLO: `capacity_search.evaluate`'s refusals (above the
    saturated completion rate, an overloaded or growing queue) stand; a complete run with a stable
    queue passes when it meets both p99 limits, or, with `attainment`, when that share of requests
    meets both limits (DistServe's goodput)."""
    if p.report is None or p.report.get("queue_growth", 0.0) > UNSTABLE_GROWTH:
        return p
    ok = _ok(p.report, spec)
    why = "" if ok else ("a p99 limit is missed" if spec.attainment is None else
                         f"SLO attainment {p.report['slo_attainment']:.1%} below {spec.attainment:.0%}")
    return replace(p, ok=ok, why=why)


def _disagg_probe(spec: CompareSpec, d: DisaggDeployment, w: WorkloadSpec, b: DisaggBuilt, slo: Slo,
                  capacity_rps: float):
    """`evaluate`'s checks on the disaggregated simulator: a rate above the saturated completion rate
    is refused without a run, an overloaded run or a growing queue fails, then the SLO decides."""

    def probe(rate: float) -> RatePoint:
        if rate > capacity_rps:
            return RatePoint(rate=rate, ok=False, report=None, capacity_rps=capacity_rps,
                             why=f"above the saturated completion rate {capacity_rps:.4g} requests/s")
        try:
            res, rep = run_disagg(d, with_rate(w, rate), slo, built=b)
        except Overloaded as e:
            return RatePoint(rate=rate, ok=False, report=None, capacity_rps=e.capacity_rps, why=str(e))
        growth = queue_growth(res.sim)
        rep["queue_growth"] = growth
        if growth > UNSTABLE_GROWTH:
            return RatePoint(rate=rate, ok=False, report=rep, capacity_rps=capacity_rps,
                             why=f"the queue grows (queueing delay +{growth:.1%} of the elapsed time)")
        return _judge(spec, RatePoint(rate=rate, ok=True, report=rep, capacity_rps=capacity_rps))

    return probe


def _ok(rep: dict, spec: CompareSpec) -> bool:
    if spec.attainment is not None:
        return bool(rep["slo_attainment"] >= spec.attainment)
    return bool(rep["ttft_s"]["p99"] <= spec.slo_ttft_p99_s and rep["tpot_s"]["p99"] <= spec.slo_tpot_p99_s)


def screen_disaggregated(spec: CompareSpec, mean_in: float, mean_out: float) -> list[dict[str, object]]:
    """Every (prefill layout, decode layout, prefill instances, decode instances) within the budget,
    ranked by the rate-matched estimate (the smaller of the two pools' rates), best first."""
    pc, dc = spec.prefill_chip, spec.decode_chip
    pre, dec = {}, {}
    refused: list[str] = []  # why layouts could not be built (the first is the message when none can)
    for layout in _pool_layouts(spec, pc, "prefill"):
        try:
            pre[layout] = prefill_rate(build(_pool(spec, pc, 1, layout)), mean_in)
        except CoscaleError as e:
            refused.append(f"prefill {layout_name(layout)} on {pc}: {e}")
    for layout in _pool_layouts(spec, dc, "decode"):
        try:
            dec[layout] = decode_rate(build(_pool(spec, dc, 1, layout)), mean_in, mean_out, spec.slo_tpot_p99_s)[0]
        except CoscaleError as e:
            refused.append(f"decode {layout_name(layout)} on {dc}: {e}")
    if refused and (not pre or not dec):
        raise CoscaleError(f"no {'prefill' if not pre else 'decode'} instance of {spec.model} can be built; "
                           f"{refused[0]}")
    rows = matched_layouts(spec, pre, dec)
    if not rows:
        raise CoscaleError(f"no disaggregated layout of {spec.model} fits the budget on {pc} + {dc}; raise the "
                           f"budget or relax --slo-tpot-p99.")
    rows.sort(key=lambda r: (-r["estimate_rps"], r["gpus"]))  # type: ignore[operator]
    return rows


def matched_layouts(spec: CompareSpec, pre: dict[Layout, float], dec: dict[Layout, float]) -> list[dict[str, object]]:
    """Every (prefill layout, decode layout, prefill instances, decode instances) within the budget,
    from the per-instance prefill and decode rates by (TP, EP) layout (`disagg.screen`): the pair's
    estimate is the smaller of the two pools' rates (rate matching). Unsorted; a decode rate of 0 (no
    batch meets the TPOT limit) gives no layout."""
    pc, dc = spec.prefill_chip, spec.decode_chip
    rows: list[dict[str, object]] = []
    for (tp_p, ep_p), rp in pre.items():
        g_p = max(tp_p, ep_p)
        for (tp_d, ep_d), rd in dec.items():
            g_d = max(tp_d, ep_d)
            if rd <= 0:
                continue
            for n_p in range(1, spec.max_gpus(pc) // g_p + 1):
                for n_d in range(1, spec.max_gpus(dc) // g_d + 1):
                    if spec.fits(n_p * g_p, n_d * g_d):
                        rows.append({"prefill_tp": tp_p, "prefill_ep": ep_p, "prefill_instances": n_p,
                                     "decode_tp": tp_d, "decode_ep": ep_d, "decode_instances": n_d,
                                     "prefill_rps": n_p * rp, "decode_rps": n_d * rd,
                                     "estimate_rps": min(n_p * rp, n_d * rd), "gpus": n_p * g_p + n_d * g_d})
    return rows


def best_disaggregated(spec: CompareSpec, w: WorkloadSpec, rows: list[dict[str, object]]) -> dict[str, object] | None:
    best: dict[str, object] | None = None
    measured = []
    slo = Slo(ttft_s=spec.slo_ttft_p99_s, tpot_s=spec.slo_tpot_p99_s)
    for row in rows:
        if len(measured) >= spec.candidates:
            break
        lay_p = (int(row["prefill_tp"]), int(row["prefill_ep"]))  # type: ignore[call-overload]
        lay_d = (int(row["decode_tp"]), int(row["decode_ep"]))  # type: ignore[call-overload]
        d = DisaggDeployment(prefill=_pool(spec, spec.prefill_chip, int(row["prefill_instances"]), lay_p),  # type: ignore[call-overload]
                             decode=_pool(spec, spec.decode_chip, int(row["decode_instances"]), lay_d),  # type: ignore[call-overload]
                             kv_link=spec.kv_link, kv_link_efficiency=spec.kv_link_efficiency)
        g_p, g_d = int(d.prefill.gpus), int(d.decode.gpus)  # type: ignore[arg-type]
        try:
            b = build_disagg(d)
        except CoscaleError as e:
            measured.append({**row, "skipped": str(e)})
            continue
        sat = disagg_saturated_rate(b, w, d.prefill.router)
        try:
            cap, tried = search_rate(_disagg_probe(spec, d, w, b, slo, sat), spec.slo_ttft_p99_s, spec.slo_tpot_p99_s,
                                     start_rps=max(float(row["estimate_rps"]) / 2, 1e-2))  # type: ignore[arg-type]
        except CoscaleError as e:
            measured.append({**row, "skipped": str(e)})
            continue
        o = _outcome(spec, cap, tried, g_p + g_d,
                     spec.usd_per_hour([(spec.prefill_chip, g_p), (spec.decode_chip, g_d)]), sat)
        o["deployment"] = {"prefill": {"hardware": spec.prefill_chip, "gpus": g_p, "tp": lay_p[0], "ep": lay_p[1]},
                           "decode": {"hardware": spec.decode_chip, "gpus": g_d, "tp": lay_d[0], "ep": lay_d[1]},
                           "p_to_d_gpus": f"{g_p}:{g_d}", "kv_link": spec.kv_link}
        measured.append({**row, "capacity_rps": cap.rate, "saturated_rps": sat})
        if best is None or o["capacity_rps"] > best["capacity_rps"]:  # type: ignore[operator]
            best = o
    if best is not None:
        best["measured"] = measured
    return best


def why(spec: CompareSpec, agg: dict | None, dis: dict | None) -> list[str]:
    """Plain sentences: who wins, which phase binds each, what the KV transfer costs."""
    if agg is None and dis is None:
        return ["neither mode meets the SLO at any rate within the budget."]
    lines = []
    if agg is None or dis is None:
        lines.append(f"only {'disaggregated' if agg is None else 'aggregated'} serving meets the SLO in this budget.")
    else:
        key, what = _merit(spec)
        a, b = _value(agg, key), _value(dis, key)
        win, gain = ("disaggregated", b / a - 1) if b > a else ("aggregated", a / b - 1)
        lines.append(f"{win} wins: {gain:+.0%} {what} at the SLO (disaggregated {dis['capacity_rps']:.3g} req/s on "
                     f"{dis['gpus']} GPUs vs aggregated {agg['capacity_rps']:.3g} req/s on {agg['gpus']} GPUs).")
    if agg is not None:
        at = agg["at_capacity"]
        how = (" (prefill chunks share decode steps, stretching TPOT)" if agg["binds"] == "tpot" else
               " (prompts queue behind running batches)")
        dep = agg["deployment"]
        lines.append(f"aggregated ({dep['gpus']} GPUs, {layout_name((dep['tp'], dep['ep']))}) is " + _cap(agg)
                     + f"{agg['binds'].upper()}-bound: p99 TTFT {agg['ttft_p99_s']:.3g} s of {spec.slo_ttft_p99_s} s, "
                     f"p99 TPOT {agg['tpot_p99_s'] * 1e3:.3g} ms of {spec.slo_tpot_p99_s * 1e3:.3g} ms" + how
                     + f"; KV use {at['kv_utilization_mean']:.0%}.")
    if dis is not None:
        at = dis["at_capacity"]
        dep = dis["deployment"]
        pool = "prefill" if dis["binds"] == "ttft" else "decode"
        tr = at["transfer"]
        pools = "/".join(layout_name((dep[p]["tp"], dep[p]["ep"])) for p in ("prefill", "decode"))
        lines.append(
            f"disaggregated ({dep['p_to_d_gpus']} prefill:decode GPUs, {pools}) " + _cap(dis)
            + f"binds on the {pool} pool: p99 TTFT {dis['ttft_p99_s']:.3g} s, "
            f"p99 TPOT {dis['tpot_p99_s'] * 1e3:.3g} ms; busy share prefill {at['prefill']['utilization']:.0%}, "
            f"decode {at['decode']['utilization']:.0%} at a mean decode batch of "
            f"{at['decode']['batch_seqs_mean']:.3g}.")
        lines.append(
            f"KV transfer over {dep['kv_link']}: {tr['bytes_per_request']['mean'] / 1e6:.3g} MB per request, "
            f"{tr['time_s']['mean'] * 1e3:.3g} ms on the link ({at['kv_link']['achieved_GBps']:.3g} GB/s achieved), "
            f"{tr['exposed_after_prefill_s']['mean'] * 1e3:.3g} ms exposed after the prefill (layer-wise streaming), "
            f"link busy {tr['link_utilization']:.0%}; the KV waits "
            f"{at['kv_wait_for_decode_blocks_s']['mean'] * 1e3:.3g} ms for decode blocks, decode admission "
            f"{at['decode_admission_wait_s']['mean'] * 1e3:.3g} ms.")
    return lines


def _cap(o: dict) -> str:
    """'capped at ... ; otherwise ' when the capacity is the saturated completion rate, not an SLO limit."""
    if not o["saturation_bound"]:
        return ""
    return (f"capped at its saturated completion rate ({o['saturated_rps']:.3g} req/s; the SLO still holds there), "
            f"nearest limit ")


def compare(spec: CompareSpec, w: WorkloadSpec) -> dict[str, object]:
    mean_in, mean_out = _lengths(spec, w)
    rows = screen_disaggregated(spec, mean_in, mean_out)
    start = max(float(rows[0]["estimate_rps"]) / 2, 1e-2)  # type: ignore[arg-type]
    agg = best_aggregated(spec, w, start)
    dis = best_disaggregated(spec, w, rows)
    return {"model": spec.model, "mean_input_tokens": mean_in, "mean_output_tokens": mean_out,
            "budget": {"gpus": spec.gpus, "usd_per_hour": spec.budget_usd_per_hour, "prices": dict(spec.prices)},
            "slo": {"ttft_p99_s": spec.slo_ttft_p99_s, "tpot_p99_s": spec.slo_tpot_p99_s},
            "aggregated": agg, "disaggregated": dis, "screened": rows[:20], "why": why(spec, agg, dis),
            "winner": _winner(spec, agg, dis), "decided_by": _merit(spec)[1]}


def _merit(spec: CompareSpec) -> tuple[str, str]:
    """What decides: output tokens/s per GPU under a GPU budget, per $/hour under a cost budget."""
    if spec.budget_usd_per_hour is not None:
        return "throughput_tok_s_per_usd_hour", "output tokens/s per $/hour"
    return "throughput_tok_s_per_gpu", "output tokens/s per GPU"


def _value(o: dict, key: str) -> float:
    if key == "throughput_tok_s_per_usd_hour":
        return o["throughput_tok_s"] / o["usd_per_hour"]
    return o[key]


def _winner(spec: CompareSpec, agg: dict | None, dis: dict | None) -> str | None:
    if agg is None or dis is None:
        return None if agg is dis else ("aggregated" if dis is None else "disaggregated")
    key, _ = _merit(spec)
    return "disaggregated" if _value(dis, key) > _value(agg, key) else "aggregated"

