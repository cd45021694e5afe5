"""`coscale serve simulate --mode disaggregated` and `coscale serve compare`: prefill and decode on
separate pools joined by a KV link, and the best aggregated vs the best disaggregated deployment."""

from __future__ import annotations

import typer
from rich.table import Table

from coscale.cli.engine_flags import check_deployment_flags
from coscale.cli.serve_options import check_options, check_overlap_weight, check_value, check_workload_mode
from coscale.commalist import comma_numbers
from coscale.errors import CoscaleError
from coscale.report.console import make_console, print_json
from coscale.serve.compare import CompareSpec, compare, layout_name
from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.link import KV_LINKS
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo
from coscale.serve.parquet import write_disagg_parquet
from coscale.serve.scenario import Deployment, WorkloadSpec
from coscale.tomlfile import check_keys

MODES = ("aggregated", "disaggregated")
# scenario keys that only a disaggregated deployment reads (besides its `prefill` / `decode` sections)
DISAGG_ONLY_KEYS = (*(f"{p}_{k}" for p in ("prefill", "decode") for k in ("hardware", "gpus", "tp", "pp", "ep")),
                    "prefill_kv_offload", "decode_kv_offload", "kv_link", "kv_link_efficiency", "decode_prefix_reuse")
POOL_FIELDS = ("hardware", "gpus", "tp", "pp", "ep", "kv_offload")
SHARED_FIELDS = ("model", "precision", "kv_precision", "engine", "max_num_seqs", "max_batched_tokens", "block_size",
                 "gpu_memory_utilization", "num_gpu_blocks", "host_overhead_s", "router", "router_overlap_weight",
                 "admission", "admission_ttft_s", "gemm_input_casts", "moe_a2a_backend",
                 "chunked_prefill")


def check_mode(mode: str | None) -> str:
    m = mode or "aggregated"
    if m not in MODES:
        raise CoscaleError(f"unknown --mode '{m}'; use aggregated or disaggregated.")
    return m


def _disagg_keys_in(f: dict) -> list[str]:
    """The scenario file's keys that only a disaggregated deployment reads."""
    return [k for k in (*DISAGG_ONLY_KEYS, "prefill", "decode") if k in f]


def check_aggregated(f: dict, disagg_flags: dict) -> None:
    """An aggregated run refuses the options that only a disaggregated deployment reads (a flag given,
    or a file key)."""
    flags = [k for k, v in disagg_flags.items() if v is not None]
    keys = _disagg_keys_in(f)
    if flags or keys:
        name = "--" + flags[0].replace("_", "-") if flags else repr(keys[0])
        raise CoscaleError(f"{name} applies to disaggregated serving only; add --mode disaggregated (or mode in the "
                           f"scenario file) or drop it.")


def check_no_aggregated_layout(f: dict, layout_flags: dict) -> None:
    """A disaggregated run refuses the aggregated instance layout (`--gpus`, `--tp`, `--pp`, `--ep`, as
    flags or file keys): each pool has its own, and a value that would be ignored must not pass silently."""
    given = [k for k, v in layout_flags.items() if v is not None] + [k for k in layout_flags if k in f]
    if given:
        k = given[0]
        raise CoscaleError(f"--{k} sets an aggregated deployment's layout; a disaggregated one takes --prefill-{k} and "
                           f"--decode-{k} (or prefill_{k} / decode_{k} in the scenario file).")


def _check_pool_section(pool: str, section: dict) -> None:
    """A scenario file's `prefill` / `decode` object: known fields, each of its option's type."""
    check_keys(section, frozenset(POOL_FIELDS), f"the scenario file's '{pool}'")
    for k, v in section.items():
        if k != "kv_offload":  # a tier list or an object, read by serve.tiers.config.offload_config
            check_value(f"{pool}_{k}", v, f"the scenario file's {pool}.{k}")


def aggregated_only(f: dict, command: str) -> None:
    """`serve capacity` / `serve sweep` run aggregated deployments: a scenario file asking for
    disaggregated serving is refused, not silently run aggregated."""
    given = (["mode"] if f.get("mode", "aggregated") != "aggregated" else []) + _disagg_keys_in(f)
    if given:
        raise CoscaleError(f"serve {command} runs aggregated deployments only (the scenario file sets "
                           f"'{given[0]}'); for prefill/decode pools use serve compare (capacity at the SLO) or "
                           f"serve simulate --mode disaggregated.")


def disagg_deployment(f: dict, shared: dict, pools: dict, kv_link: str | None,
                      kv_link_efficiency: float | None, decode_prefix_reuse: bool | None = None) -> DisaggDeployment:
    """Shared engine settings (flags win over the scenario file) plus per-pool chip and layout from
    `--prefill-*` / `--decode-*` flags or the scenario file's `prefill_*` / `decode_*` keys (or its
    `prefill` / `decode` objects); a pool's chip defaults to --hardware; the KV tiers (`--kv-offload`
    flags, or the file's top-level `kv_offload`) go to the prefill pool unless a pool names its own."""
    # the shared settings and the pools' default chip: a flag wins over the scenario file
    picked = {k: shared.get(k) if shared.get(k) is not None else f.get(k) for k in (*SHARED_FIELDS, "hardware")}
    base = {k: v for k, v in picked.items() if v is not None}
    out = {}
    for pool in ("prefill", "decode"):
        section = f.get(pool, {})
        if not isinstance(section, dict):
            raise CoscaleError(f"the scenario file's '{pool}' must be an object of {', '.join(POOL_FIELDS)}.")
        _check_pool_section(pool, section)
        fields = dict(base)
        for k in POOL_FIELDS:
            # where the file may set it (the top-level tiers serve prefix reuse: the prefill pool's)
            places = {f"{pool}_{k}": (f, f"{pool}_{k}"), f"{pool}.{k}": (section, k)}
            if (pool, k) == ("prefill", "kv_offload"):
                places["kv_offload"] = (f, "kv_offload")
            given = {name: table[key] for name, (table, key) in places.items() if key in table}
            if len(given) > 1:
                raise CoscaleError(f"the scenario file sets the {pool} pool's {k} twice ({' and '.join(given)}); "
                                   f"keep one.")
            v = pools.get(f"{pool}_{k}")
            if v is None and given:
                v = next(iter(given.values()))
            if v is not None:
                fields[k] = v
        out[pool] = Deployment(**fields)
    link = kv_link if kv_link is not None else f.get("kv_link", "infiniband")
    eff = kv_link_efficiency if kv_link_efficiency is not None else f.get("kv_link_efficiency")
    reuse = decode_prefix_reuse if decode_prefix_reuse is not None else f.get("decode_prefix_reuse", False)
    check_overlap_weight(base.get("router"), base.get("router_overlap_weight"), decode_prefix_reuse=reuse)
    check_deployment_flags(out["prefill"], base, (out["prefill"].ep, out["decode"].ep))
    return DisaggDeployment(prefill=out["prefill"], decode=out["decode"], kv_link=link, kv_link_efficiency=eff,
                            decode_prefix_reuse=reuse)


def simulate_disaggregated(d: DisaggDeployment, w: WorkloadSpec, slo: Slo, as_json: bool, progress=None,
                           usd_per_gpu_hour: float | None = None, out: str | None = None) -> None:
    res, rep = run_disagg(d, w, slo, progress=progress, usd_per_gpu_hour=usd_per_gpu_hour)
    rep = {"feasible": True, **rep}  # as an aggregated run (README, "Exit codes"); overload exits 3 upstream
    if out is not None:
        rep["parquet"] = [str(p) for p in write_disagg_parquet(res, out)]
    if as_json:
        print_json(rep)
        return
    print_disagg(rep)


def print_disagg(rep: dict) -> None:
    c = make_console()
    p, dc, link = rep["prefill"], rep["decode"], rep["kv_link"]
    t = Table(title=f"coscale serve simulate --mode disaggregated: prefill {p['gpus']}x {p['hardware']} TP{p['tp']} "
                    f"EP{p['ep']} ({p['instances']} inst.), decode {dc['gpus']}x {dc['hardware']} TP{dc['tp']} "
                    f"EP{dc['ep']} ({dc['instances']} inst.), KV over {link['kind']}")
    t.add_column("metric")
    for q in ("mean", "p50", "p90", "p95", "p99"):
        t.add_column(q, justify="right")
    tr = rep["transfer"]
    for label, s in (("TTFT (s)", rep["ttft_s"]), ("TPOT (s)", rep["tpot_s"]), ("ITL (s)", rep["itl_s"]),
                     ("E2E (s)", rep["e2e_s"]), ("queueing (s)", rep["queue_s"]), ("KV transfer (s)", tr["time_s"]),
                     ("exposed after prefill (s)", tr["exposed_after_prefill_s"]),
                     ("decode admission wait (s)", rep["decode_admission_wait_s"])):
        t.add_row(label, *(f"{s[q]:.4g}" for q in ("mean", "p50", "p90", "p95", "p99")))
    c.print(t)
    c.print(f"completed {rep['completed']} requests; output {rep['throughput_tok_s']:,.0f} tok/s "
            f"({rep['throughput_tok_s'] / rep['gpus']:,.0f} per GPU), {rep['request_throughput_rps']:.3g} req/s, "
            f"goodput {rep['goodput_rps']:.3g} req/s (SLO attainment {rep['slo_attainment']:.1%})")
    c.print(f"KV: {tr['bytes_per_request']['mean'] / 1e6:,.1f} MB per request, link {link['achieved_GBps']:.3g} GB/s "
            f"achieved ({link['paths']} x {link['per_gpu_line_rate_GBps']:.3g} GB/s x {link['efficiency']:.2f}), "
            f"busy {tr['link_utilization']:.1%}")
    reuse = tr["decode_prefix_reuse"]
    if reuse["enabled"]:
        c.print(f"decode prefix reuse: {reuse['requests_with_hit']} requests found {reuse['tokens_reused']:,} prompt "
                f"tokens cached on their decode instance; {reuse['bytes_saved'] / 1e9:,.3g} GB not sent "
                f"({reuse['share_of_bytes_saved']:.1%} of the prompts' KV)")
    c.print(f"utilisation: prefill {p['utilization']:.1%} (KV {p['kv_utilization_mean']:.1%}), decode "
            f"{dc['utilization']:.1%} (KV {dc['kv_utilization_mean']:.1%}); preemptions {rep['preemptions']}")
    c.print(f"energy {energy_line(rep)}")
    c.print(f"simulated {rep['simulated_s']:.1f} s in {rep['wall_s']:.2f} s wall ({rep['speedup_vs_real_time']:,.0f}x "
            f"real time)")


def energy_line(rep: dict) -> str:
    """Energy per output token: the passes' own, plus the GPUs' idle draw between passes, and the mean power."""
    line = f"{rep['energy_j_per_output_token']:.3g} J/output token in passes"
    if "idle_energy_j_per_output_token" in rep:
        line += (f" + {rep['idle_energy_j_per_output_token']:.3g} idle between them (mean "
                 f"{rep['power_w_per_gpu_mean']:.0f} W per GPU)")
    return line


def _prices(text: str | None) -> tuple[tuple[str, float], ...]:
    if not text:
        return ()
    out = []
    for part in text.split(","):
        chip, sep, val = part.partition("=")
        try:
            out.append((chip.strip(), float(val)))
        except ValueError:
            sep = ""
        if not sep or not chip.strip():
            raise CoscaleError(f"--prices must be comma-separated chip=USD pairs (h100-sxm=2.5,b200=4), got '{text}'.")
    return tuple(out)


def compare_cmd(
    model: str = typer.Option("llama-3.1-8b", "--model", help="Preset id or config.json path."),
    hardware: str = typer.Option("h100-sxm", "--hardware", help="Aggregated chip (and the pools' default)."),
    prefill_hardware: str = typer.Option(None, "--prefill-hardware", help="Chip of the prefill pool."),
    decode_hardware: str = typer.Option(None, "--decode-hardware", help="Chip of the decode pool."),
    gpus: int = typer.Option(None, "--gpus", help="GPU budget."),
    budget_usd_per_hour: float = typer.Option(None, "--budget-usd-per-hour", help="Cost budget instead of --gpus."),
    prices: str = typer.Option(None, "--prices", help="$/GPU-hour per chip: h100-sxm=2.5,b200=4."),
    precision: str = typer.Option("bf16", "--precision", help="Precision recipe."),
    kv_precision: str = typer.Option(None, "--kv-precision", help="KV-cache format."),
    engine: str = typer.Option("vllm", "--engine", help="vllm, vllm-v0 (no chunked prefill), sglang or trtllm."),
    max_batched_tokens: int = typer.Option(None, "--max-batched-tokens", help="Step token budget of every engine."),
    chunked_prefill: bool = typer.Option(None, "--chunked-prefill/--no-chunked-prefill",
                                         help="Split long prompts across steps (default the engine's)."),
    kv_link: str = typer.Option("infiniband", "--kv-link", help=f"Link between the pools: {', '.join(KV_LINKS)}."),
    kv_link_efficiency: float = typer.Option(None, "--kv-link-efficiency", help="Achieved share of line rate."),
    tps: str = typer.Option("1,2,4,8", "--tps", help="Tensor-parallel degrees to search per pool."),
    eps: str = typer.Option("1", "--eps", help="Expert-parallel degrees to search per pool (MoE: attention-DP "
                            "ranks in lock-step; 1: experts sharded by TP)."),
    candidates: int = typer.Option(3, "--candidates", help="Disaggregated layouts measured by simulation."),
    input_len: int = typer.Option(None, "--input-len", help="Mean prompt tokens (default 1024)."),
    output_len: int = typer.Option(None, "--output-len", help="Mean output tokens (default 256)."),
    length_dist: str = typer.Option("fixed", "--length-dist", help="fixed, exponential, lognormal, or a preset."),
    trace: str = typer.Option(None, "--trace", hidden=True),  # refused below, with what to give instead
    duration: float = typer.Option(30.0, "--duration", help="Simulated seconds of arrivals per trial run."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    slo_ttft_p99: float = typer.Option(2.0, "--slo-ttft-p99", help="TTFT p99 limit, s."),
    slo_tpot_p99: float = typer.Option(0.2, "--slo-tpot-p99", help="TPOT p99 limit, s."),
    attainment: float = typer.Option(None, "--attainment", help="Share of requests meeting both limits "
                                     "(DistServe goodput; default: both p99 limits)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Best aggregated vs best disaggregated deployment for a workload and a GPU or cost budget."""
    tp_list, ep_list = comma_numbers(tps, "--tps", integer=True), comma_numbers(eps, "--eps", integer=True)
    check_options({"seed": seed, "input_len": input_len, "output_len": output_len, "duration_s": duration,
                   "max_batched_tokens": max_batched_tokens, "gpus": gpus})
    if trace is not None:
        raise CoscaleError("serve compare searches Poisson rates; give --length-dist (a trace preset such as "
                           "azure-conv) instead of --trace.")
    spec = CompareSpec(model=model, hardware=hardware, prefill_hardware=prefill_hardware,
                       decode_hardware=decode_hardware, gpus=gpus, budget_usd_per_hour=budget_usd_per_hour,
                       prices=_prices(prices), precision=precision, kv_precision=kv_precision, engine=engine,
                       kv_link=kv_link, kv_link_efficiency=kv_link_efficiency, tps=tp_list, eps=ep_list,
                       candidates=candidates, slo_ttft_p99_s=slo_ttft_p99, slo_tpot_p99_s=slo_tpot_p99,
                       attainment=attainment, max_batched_tokens=max_batched_tokens,
                       chunked_prefill=chunked_prefill)
    if kv_link not in KV_LINKS:
        raise CoscaleError(f"unknown --kv-link '{kv_link}'; use one of {', '.join(KV_LINKS)}.")
    check_workload_mode({"rate": 1.0, "input_len": input_len, "output_len": output_len, "length_dist": length_dist})
    w = WorkloadSpec(rate=1.0, input_len=1024 if input_len is None else input_len,
                     output_len=256 if output_len is None else output_len, length_dist=length_dist,
                     duration_s=duration, seed=seed)
    out = compare(spec, w)
    if as_json:
        print_json(out)
        return
    c = make_console()
    t = Table(title=f"coscale serve compare: {model}, budget "
                    f"{f'{gpus} GPUs' if gpus else f'${budget_usd_per_hour}/h'}, SLO p99 TTFT {slo_ttft_p99} s / "
                    f"TPOT {slo_tpot_p99 * 1e3:g} ms")
    for col in ("mode", "deployment", "capacity req/s", "output tok/s/GPU", "goodput req/s", "$/M tokens"):
        t.add_column(col, justify="right")
    for mode in ("aggregated", "disaggregated"):
        o = out[mode]
        if o is None:
            t.add_row(mode, "none meets the SLO", "", "", "", "")
            continue
        dep = o["deployment"]
        pools = (dep,) if mode == "aggregated" else (dep["prefill"], dep["decode"])
        desc = " + ".join(f"{tag}{p['gpus']}x {p['hardware']} {layout_name((p['tp'], p['ep']))}"
                          for tag, p in zip(("",) if mode == "aggregated" else ("P ", "D "), pools, strict=True))
        usd = o["usd_per_million_output_tokens"]
        t.add_row(mode, desc, f"{o['capacity_rps']:.3g}", f"{o['throughput_tok_s_per_gpu']:,.0f}",
                  f"{o['goodput_rps']:.3g}", "-" if usd is None else f"{usd:.3g}")
    c.print(t)
    for line in out["why"]:
        c.print(f"- {line}")
