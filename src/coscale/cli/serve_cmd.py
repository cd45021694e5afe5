"""`coscale serve simulate | capacity | sweep | compare | system`: request-level serving simulation.

Outcomes (README, "Exit codes"): exit 0 with `"feasible": true`; exit 2 for bad input (unknown names,
malformed traces or scenario files, a request beyond the model's context, conflicting engine flags);
exit 3 with `{"feasible": false, "reason": ...}` for a valid request whose answer is "does not fit /
infeasible": the weights leave no KV memory, a request needs more KV blocks than the pool holds, the
arrival rate overloads the deployment (`capacity_rps` added), or no rate meets the capacity SLO.
A sweep is a curve: its overloaded points are rows with `"overloaded": true`, not an exit 3.
"""

from __future__ import annotations

import math
import sys
import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coscale.cli.engine_flags import check_deployment_flags
from coscale.cli.serve_disagg_cmd import (
    aggregated_only,
    check_aggregated,
    check_mode,
    check_no_aggregated_layout,
    compare_cmd,
    disagg_deployment,
    energy_line,
    simulate_disaggregated,
)
from coscale.cli.serve_options import check_options, check_overlap_weight, check_workload_mode, read_scenario
from coscale.cli.serve_system_cmd import system_cmd
from coscale.commalist import comma_numbers
from coscale.errors import CoscaleError, DoesNotFitError
from coscale.report.console import make_console, print_json
from coscale.serve.capacity_search import MLPERF_MIN_DURATION_S, evaluate, max_rate
from coscale.serve.engine import Overloaded
from coscale.serve.metrics import Slo
from coscale.serve.parquet import check_out_path, write_parquet
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run
from coscale.serve.tiers.compare import versus_no_offload
from coscale.serve.tiers.config import OffloadConfig, parse_tiers

app = typer.Typer(help="Simulate serving: requests arriving, batched, preempted, finished.", no_args_is_help=True)
app.command("compare")(compare_cmd)
app.command("system")(system_cmd)


class _Bar:
    """A progress bar on stderr, shown only once a run has taken more than a second."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.bar: Progress | None = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if time.perf_counter() - self.t0 < 1.0 or not sys.stderr.isatty():
                return
            self.bar = Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                transient=True, console=None)
            self.bar.start()
            self.task = self.bar.add_task("requests", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _scenario_file(path: str | None) -> dict:
    return read_scenario(path)


def _pick(file: dict, key: str, flag):
    """A flag given on the command line wins over the scenario file."""
    value = flag if flag is not None else file.get(key)
    check_options({key: value})
    return value


def _deployment(f: dict, **kw) -> Deployment:
    fields = {k: _pick(f, k, v) for k, v in kw.items()}
    check_options(fields)
    check_overlap_weight(fields.get("router"), fields.get("router_overlap_weight"))
    d = Deployment(**{k: v for k, v in fields.items() if v is not None})
    check_deployment_flags(d, fields, (d.ep,))
    return d


def _offload(f: dict, tiers: str | None, dram: float | None, nvme: float | None, shared: float | None,
             keep: str | None, store: str | None) -> OffloadConfig | None:
    """KV tiers from the flags (any given), else the scenario file's `kv_offload` section."""
    if all(v is None for v in (tiers, dram, nvme, shared, keep, store)):
        return f.get("kv_offload")
    if tiers is None:
        raise CoscaleError("KV tier sizes and policies need --kv-offload naming the tiers, e.g. "
                           "--kv-offload dram,nvme.")
    return OffloadConfig(tiers=parse_tiers(tiers), dram_gib=dram, nvme_gib=nvme, shared_gib=shared,
                         keep=keep or "prompt", store=(store or "on_evict").replace("-", "_"))


# scenario-file keys `serve capacity` and `serve sweep` do not read: they draw Poisson (or closed-loop)
# single-turn workloads over synthetic lengths at the rates or levels they search, with their own SLOs
NOT_READ_BY_SEARCHES = ("trace", "turns", "think_s", "rate", "concurrency", "duration_s", "slo_ttft", "slo_tpot",
                        "usd_per_gpu_hour")


def refuse_unread(f: dict, command: str) -> None:
    """A scenario key the command would ignore is an error, not a silently different workload."""
    unread = [k for k in NOT_READ_BY_SEARCHES if k in f]
    if unread:
        raise CoscaleError(f"serve {command} does not read '{unread[0]}' from the scenario file (it searches rates or "
                           f"levels over synthetic lengths); drop it, or use serve simulate for that workload.")


def _workload(f: dict, **kw) -> WorkloadSpec:
    fields = {k: _pick(f, k, v) for k, v in kw.items()}
    check_options(fields)
    check_workload_mode(fields)
    return WorkloadSpec(**{k: v for k, v in fields.items() if v is not None})


# options shared by every sub-command
MODEL = typer.Option(None, "--model", help="Preset id or config.json path (default llama-3.1-8b).")
HARDWARE = typer.Option(None, "--hardware", help="Catalog id or hardware JSON (default h100-sxm).")
GPUS = typer.Option(None, "--gpus", help="Total GPUs; beyond one instance they run replicas behind a router.")
TP = typer.Option(None, "--tp", help="Tensor-parallel degree.")
PP = typer.Option(None, "--pp", help="Pipeline-parallel degree.")
EP = typer.Option(None, "--ep", help="Expert-parallel degree.")
PRECISION = typer.Option(None, "--precision", help="Precision recipe (bf16, fp8, nvfp4, ...).")
KV_PRECISION = typer.Option(None, "--kv-precision", help="KV-cache format.")
ENGINE = typer.Option(None, "--engine", help="vllm, sglang or trtllm (default vllm).")
MAX_SEQS = typer.Option(None, "--max-num-seqs", help="Batch limit in sequences (engine default otherwise).")
MAX_TOKENS = typer.Option(None, "--max-batched-tokens", help="Token budget of one step.")
CHUNKED = typer.Option(None, "--chunked-prefill/--no-chunked-prefill",
                       help="Split a prompt longer than the step's free token budget across steps (default the "
                            "engine's: on for vllm and sglang, off for vllm-v0 and trtllm, as trtllm-serve).")
BLOCK = typer.Option(None, "--block-size", help="KV block size in tokens.")
UTIL = typer.Option(None, "--gpu-memory-utilization", help="Memory fraction the engine may use.")
BLOCKS = typer.Option(None, "--num-gpu-blocks", help="Pin the KV pool to this many blocks (a measured run's).")
OVERHEAD = typer.Option(None, "--host-overhead", help="Per-step host overhead in seconds (engine preset otherwise).")
ROUTER = typer.Option(None, "--router", help="round_robin, least_loaded (default), kv_aware (Dynamo) or kv_ttft "
                                             "(Mooncake).")
OVERLAP_W = typer.Option(None, "--router-overlap-weight", help="kv_aware: weight of blocks to prefill (default 1).")
ADMISSION = typer.Option(None, "--admission", help="none (default), reject or queue when the TTFT limit is missed.")
ADMISSION_TTFT = typer.Option(None, "--admission-ttft", help="TTFT limit (s) admission control enforces.")
GEMM_CASTS = typer.Option(None, "--gemm-input-casts/--fused-gemm-input-casts",
                          help="The engine casts each FP8/FP4 GEMM input in a kernel of its own (TensorRT-LLM's "
                               "PyTorch backend); default fused into the kernel before it (TensorRT engines).")
A2A_BACKEND = typer.Option(None, "--moe-a2a-backend",
                           help="MoE expert parallelism (in `serve`: the disaggregated pools' --prefill-ep / "
                                "--decode-ep): "
                                "who runs the all-to-all: nccl (default; BF16 rows) or deepep (FP8/FP4 dispatch, "
                                "BF16 combine, DeepEP's bandwidth).")
KV_OFFLOAD = typer.Option(None, "--kv-offload", help="KV tiers below GPU memory, top to bottom: dram[,nvme[,shared]].")
DRAM_GIB = typer.Option(None, "--dram-kv-gib", help="Host DRAM for KV per GPU, GiB (0: off; default the chip's).")
NVME_GIB = typer.Option(None, "--nvme-kv-gib", help="Local NVMe for KV per GPU, GiB (0: off; default the chip's).")
SHARED_GIB = typer.Option(None, "--shared-kv-gib", help="Pod-shared KV storage in all, GiB (0: off).")
KV_KEEP = typer.Option(None, "--kv-keep", help="Blocks kept in the tiers: prompt (default) or prompt+decode.")
KV_STORE = typer.Option(None, "--kv-store", help="on_evict (default: copy out when GPU memory evicts) or "
                                                 "write_through (copy every prefilled block, LMCache).")
ARRIVAL = typer.Option(None, "--arrival", help="poisson (default), gamma or constant.")
BURST = typer.Option(None, "--burstiness", help="CV of the Gamma inter-arrival gaps.")
TRACE = typer.Option(None, "--trace", help="Trace file: Azure CSV, Mooncake JSONL, or plain CSV/JSONL.")
INPUT = typer.Option(None, "--input-len", help="Mean prompt tokens (default 1024).")
OUTPUT = typer.Option(None, "--output-len", help="Mean output tokens (default 256).")
DIST = typer.Option(None, "--length-dist", help="fixed, exponential, lognormal, or a preset (azure-conv, ...).")
NREQ = typer.Option(None, "--num-requests", help="Requests to simulate.")
DURATION = typer.Option(None, "--duration", help="Simulated seconds of arrivals (instead of --num-requests).")
SEED = typer.Option(None, "--seed", help="Random seed (default 0).")
SCENARIO = typer.Option(None, "--scenario", help="JSON file of option values (flags given here win).")
JSON_OUT = typer.Option(False, "--json", help="Print one JSON object.")


@app.command("simulate")
def simulate_cmd(
    model: str = MODEL, hardware: str = HARDWARE, gpus: int = GPUS, tp: int = TP, pp: int = PP, ep: int = EP,
    precision: str = PRECISION, kv_precision: str = KV_PRECISION, engine: str = ENGINE,
    max_num_seqs: int = MAX_SEQS, max_batched_tokens: int = MAX_TOKENS, chunked_prefill: bool = CHUNKED,
    block_size: int = BLOCK,
    gpu_memory_utilization: float = UTIL, num_gpu_blocks: int = BLOCKS, host_overhead: float = OVERHEAD,
    router: str = ROUTER, router_overlap_weight: float = OVERLAP_W, admission: str = ADMISSION,
    admission_ttft: float = ADMISSION_TTFT, gemm_input_casts: bool = GEMM_CASTS,
    moe_a2a_backend: str = A2A_BACKEND,
    kv_offload: str = KV_OFFLOAD, dram_kv_gib: float = DRAM_GIB,
    nvme_kv_gib: float = NVME_GIB, shared_kv_gib: float = SHARED_GIB, kv_keep: str = KV_KEEP, kv_store: str = KV_STORE,
    rate: float = typer.Option(None, "--rate", help="Open-loop arrival rate, requests/s."),
    arrival: str = ARRIVAL, burstiness: float = BURST,
    concurrency: int = typer.Option(None, "--concurrency", help="Closed loop: clients each with one request."),
    trace: str = TRACE, input_len: int = INPUT, output_len: int = OUTPUT, length_dist: str = DIST,
    turns: int = typer.Option(None, "--turns", help="Multi-turn sessions of this many turns (--rate: sessions/s)."),
    think_time: float = typer.Option(None, "--think-time", help="Mean seconds between a session's turns."),
    num_requests: int = NREQ, duration: float = DURATION, seed: int = SEED,
    slo_ttft: float = typer.Option(None, "--slo-ttft", help="TTFT limit (s) for goodput / SLO attainment."),
    slo_tpot: float = typer.Option(None, "--slo-tpot", help="TPOT limit (s) for goodput / SLO attainment."),
    usd_per_gpu_hour: float = typer.Option(None, "--usd-per-gpu-hour", help="Price for cost per million tokens."),
    out: str = typer.Option(None, "--out", help="Per-request records to FILE.parquet (+ FILE.steps.parquet)."),
    scenario: str = SCENARIO, as_json: bool = JSON_OUT,
    mode: str = typer.Option(None, "--mode", help="aggregated (default) or disaggregated (prefill/decode pools)."),
    prefill_hardware: str = typer.Option(None, "--prefill-hardware", help="Disaggregated: prefill pool chip."),
    prefill_gpus: int = typer.Option(None, "--prefill-gpus", help="Disaggregated: prefill pool GPUs."),
    prefill_tp: int = typer.Option(None, "--prefill-tp", help="Disaggregated: prefill TP."),
    prefill_pp: int = typer.Option(None, "--prefill-pp", help="Disaggregated: prefill PP."),
    prefill_ep: int = typer.Option(None, "--prefill-ep", help="Disaggregated: prefill EP (attention-DP ranks)."),
    decode_hardware: str = typer.Option(None, "--decode-hardware", help="Disaggregated: decode pool chip."),
    decode_gpus: int = typer.Option(None, "--decode-gpus", help="Disaggregated: decode pool GPUs."),
    decode_tp: int = typer.Option(None, "--decode-tp", help="Disaggregated: decode TP."),
    decode_pp: int = typer.Option(None, "--decode-pp", help="Disaggregated: decode PP."),
    decode_ep: int = typer.Option(None, "--decode-ep", help="Disaggregated: decode EP (attention-DP ranks)."),
    kv_link: str = typer.Option(None, "--kv-link", help="nvlink, infiniband (default), roce, ethernet or pcie."),
    kv_link_efficiency: float = typer.Option(None, "--kv-link-efficiency", help="Achieved share of line rate."),
    decode_prefix_reuse: bool = typer.Option(
        None, "--decode-prefix-reuse/--no-decode-prefix-reuse",
        help="Disaggregated: the decode side pulls only the prompt blocks it does not cache (vLLM NixlConnector); "
             "decode instances picked by Dynamo's KV-router cost."),
) -> None:
    """Simulate one workload on one deployment: latency percentiles, throughput, goodput, KV use."""
    f = _scenario_file(scenario)
    if out is not None:
        check_out_path(out)  # before anything runs: a bad path must not cost a simulation
    if check_mode(_pick(f, "mode", mode)) == "disaggregated":
        check_no_aggregated_layout(f, dict(gpus=gpus, tp=tp, pp=pp, ep=ep))
        dd = disagg_deployment(
            f, dict(model=model, hardware=hardware, precision=precision, kv_precision=kv_precision, engine=engine,
                    max_num_seqs=max_num_seqs, max_batched_tokens=max_batched_tokens, chunked_prefill=chunked_prefill,
                    block_size=block_size,
                    gpu_memory_utilization=gpu_memory_utilization, num_gpu_blocks=num_gpu_blocks,
                    host_overhead_s=host_overhead, router=router,
                    gemm_input_casts=gemm_input_casts, moe_a2a_backend=moe_a2a_backend,
                    router_overlap_weight=router_overlap_weight, admission=admission,
                    admission_ttft_s=admission_ttft),
            dict(prefill_hardware=prefill_hardware, prefill_gpus=prefill_gpus, prefill_tp=prefill_tp,
                 prefill_pp=prefill_pp, prefill_ep=prefill_ep, decode_hardware=decode_hardware,
                 decode_gpus=decode_gpus, decode_tp=decode_tp, decode_pp=decode_pp, decode_ep=decode_ep,
                 prefill_kv_offload=_offload({}, kv_offload, dram_kv_gib, nvme_kv_gib, shared_kv_gib, kv_keep,
                                             kv_store)), kv_link, kv_link_efficiency, decode_prefix_reuse)
        w = _workload(f, rate=rate, arrival=arrival, burstiness=burstiness, concurrency=concurrency, trace=trace,
                      input_len=input_len, output_len=output_len, length_dist=length_dist,
                      num_requests=num_requests, duration_s=duration, seed=seed, turns=turns, think_s=think_time)
        slo = Slo(ttft_s=_pick(f, "slo_ttft", slo_ttft), tpot_s=_pick(f, "slo_tpot", slo_tpot))
        bar = _Bar()
        try:
            simulate_disaggregated(dd, w, slo, as_json, progress=bar, out=out,
                                   usd_per_gpu_hour=_pick(f, "usd_per_gpu_hour", usd_per_gpu_hour))
        except Overloaded as e:  # as aggregated: the deployment cannot keep up, exit 3
            raise DoesNotFitError(str(e), capacity_rps=e.capacity_rps) from None
        finally:
            bar.close()
        return
    pool_flags = dict(prefill_hardware=prefill_hardware, prefill_gpus=prefill_gpus, prefill_tp=prefill_tp,
                      prefill_pp=prefill_pp, prefill_ep=prefill_ep, decode_hardware=decode_hardware,
                      decode_gpus=decode_gpus, decode_tp=decode_tp, decode_pp=decode_pp, decode_ep=decode_ep,
                      kv_link=kv_link,
                      kv_link_efficiency=kv_link_efficiency, decode_prefix_reuse=decode_prefix_reuse)
    check_aggregated(f, pool_flags)
    d = _deployment(f, model=model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep, precision=precision,
                    kv_precision=kv_precision, engine=engine, max_num_seqs=max_num_seqs,
                    max_batched_tokens=max_batched_tokens, chunked_prefill=chunked_prefill,
                    block_size=block_size,
                    gpu_memory_utilization=gpu_memory_utilization, num_gpu_blocks=num_gpu_blocks,
                    host_overhead_s=host_overhead, router=router, router_overlap_weight=router_overlap_weight,
                    admission=admission, admission_ttft_s=admission_ttft, gemm_input_casts=gemm_input_casts,
                    moe_a2a_backend=moe_a2a_backend,
                    kv_offload=_offload(f, kv_offload, dram_kv_gib, nvme_kv_gib, shared_kv_gib, kv_keep, kv_store))
    w = _workload(f, rate=rate, arrival=arrival, burstiness=burstiness, concurrency=concurrency, trace=trace,
                  input_len=input_len, output_len=output_len, length_dist=length_dist, num_requests=num_requests,
                  duration_s=duration, seed=seed, turns=turns, think_s=think_time)
    slo = Slo(ttft_s=_pick(f, "slo_ttft", slo_ttft), tpot_s=_pick(f, "slo_tpot", slo_tpot))
    bar = _Bar()
    try:
        res, rep = run(d, w, slo, progress=bar, usd_per_gpu_hour=_pick(f, "usd_per_gpu_hour", usd_per_gpu_hour))
    except Overloaded as e:  # a valid request; the answer is "this deployment cannot keep up": exit 3
        raise DoesNotFitError(str(e), capacity_rps=e.capacity_rps) from None
    finally:
        bar.close()
    if d.kv_offload is not None and d.kv_offload.tiers and "kv_tiers" in rep:
        rep["kv_tiers"]["vs_no_offload"] = versus_no_offload(d, w, slo, rep)
    rep = {"feasible": True, **rep}
    if out is not None:
        paths = write_parquet(res, out)
        rep["parquet"] = [str(p) for p in paths]
    if as_json:
        print_json(rep)
        return
    _print_report(rep)


def _print_report(rep: dict) -> None:
    c = make_console()
    t = Table(title=f"coscale serve simulate ({rep['engine']} {rep['engine_version']}, {rep['replicas']} replica(s), "
                    f"{rep['num_gpu_blocks']} KV blocks of {rep['block_size']})")
    t.add_column("metric")
    for p in ("mean", "p50", "p90", "p95", "p99"):
        t.add_column(p, justify="right")
    for key, label in (("ttft_s", "TTFT (s)"), ("tpot_s", "TPOT (s)"), ("itl_s", "ITL (s)"), ("e2e_s", "E2E (s)"),
                       ("queue_s", "queueing (s)")):
        t.add_row(label, *(f"{rep[key][p]:.4g}" for p in ("mean", "p50", "p90", "p95", "p99")))
    c.print(t)
    c.print(f"completed {rep['completed']} requests; output {rep['throughput_tok_s']:,.0f} tok/s, input "
            f"{rep['input_throughput_tok_s']:,.0f} tok/s, {rep['request_throughput_rps']:.3g} req/s, goodput "
            f"{rep['goodput_rps']:.3g} req/s (SLO attainment {rep['slo_attainment']:.1%})")
    c.print(f"preemptions {rep['preemptions']}, prefix hit rate {rep['prefix_hit_rate']:.1%}, KV utilisation "
            f"{rep['kv_utilization_mean']:.1%}, energy {energy_line(rep)}")
    if "rejected" in rep:
        c.print(f"admission control turned away {rep['rejected']} requests (admitted {rep['admitted_share']:.1%})")
    if "kv_tiers" in rep:
        _print_tiers(c, rep["kv_tiers"])
    c.print(f"simulated {rep['simulated_s']:.1f} s in {rep['wall_s']:.2f} s wall ({rep['speedup_vs_real_time']:,.0f}x "
            f"real time)")


def _print_tiers(c, kt: dict) -> None:
    t = Table(title=f"KV tiers (keep {kt['keep']}, store {kt['store']}; GPU prefix hits {kt['gpu_hit_rate']:.1%} "
                    f"of {kt['lookup_blocks']} prompt blocks)")
    for col in ("tier", "capacity GiB", "hit rate", "loaded", "loaded GB", "written GB", "held blocks"):
        t.add_column(col, justify="right")
    for r in kt["tiers"]:
        where = " (pod)" if r["shared_by_pod"] else f" (x{r['instances']})" if r["instances"] > 1 else ""
        t.add_row(r["tier"] + where, f"{r['capacity_gib']:,.1f}", f"{r['hit_rate']:.1%}", f"{r['load_rate']:.1%}",
                  f"{r['bytes_read'] / 1e9:,.2f}", f"{r['bytes_written'] / 1e9:,.2f}", f"{r['held_blocks']:,}")
    c.print(t)
    c.print(f"GPU waited {kt['load_wait_s']:.3g} s on loads and {kt['store_wait_s']:.3g} s on stores; "
            f"{kt['tier_hits_recomputed_blocks']} tier-held blocks recomputed (cheaper than loading)")
    vs = kt.get("vs_no_offload")
    if vs and vs.get("change"):
        ch = vs["change"]
        c.print(f"vs no offload: TTFT mean {ch['ttft_mean']:+.1%}, TTFT p99 {ch['ttft_p99']:+.1%}, output throughput "
                f"{ch['throughput_tok_s']:+.1%}")


@app.command("capacity")
def capacity_cmd(
    model: str = MODEL, hardware: str = HARDWARE, gpus: int = GPUS, tp: int = TP, pp: int = PP, ep: int = EP,
    precision: str = PRECISION, kv_precision: str = KV_PRECISION, engine: str = ENGINE,
    max_num_seqs: int = MAX_SEQS, max_batched_tokens: int = MAX_TOKENS, chunked_prefill: bool = CHUNKED,
    block_size: int = BLOCK,
    gpu_memory_utilization: float = UTIL, num_gpu_blocks: int = BLOCKS, host_overhead: float = OVERHEAD,
    router: str = ROUTER, router_overlap_weight: float = OVERLAP_W, admission: str = ADMISSION,
    admission_ttft: float = ADMISSION_TTFT, gemm_input_casts: bool = GEMM_CASTS,
    moe_a2a_backend: str = A2A_BACKEND,
    kv_offload: str = KV_OFFLOAD, dram_kv_gib: float = DRAM_GIB,
    nvme_kv_gib: float = NVME_GIB, shared_kv_gib: float = SHARED_GIB, kv_keep: str = KV_KEEP, kv_store: str = KV_STORE,
    arrival: str = ARRIVAL, burstiness: float = BURST,
    input_len: int = INPUT, output_len: int = OUTPUT, length_dist: str = DIST,
    num_requests: int = typer.Option(None, "--num-requests", help="Fewest requests per trial run (default 1000); "
                                     "--min-duration raises it to rate x min-duration."),
    seed: int = SEED,
    slo_ttft_p99: float = typer.Option(2.0, "--slo-ttft-p99", help="TTFT p99 limit, s (MLPerf Llama-2-70B: 2)."),
    slo_tpot_p99: float = typer.Option(0.2, "--slo-tpot-p99", help="TPOT p99 limit, s (MLPerf Llama-2-70B: 0.2)."),
    min_duration: float = typer.Option(MLPERF_MIN_DURATION_S, "--min-duration",
                                       help="Shortest run at a trial rate, s of arrivals (MLPerf: 600)."),
    scenario: str = SCENARIO, as_json: bool = JSON_OUT,
) -> None:
    """The highest Poisson arrival rate meeting both p99 limits, and what the system does there."""
    f = _scenario_file(scenario)
    aggregated_only(f, "capacity")
    refuse_unread(f, "capacity")
    d = _deployment(f, model=model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep, precision=precision,
                    kv_precision=kv_precision, engine=engine, max_num_seqs=max_num_seqs,
                    max_batched_tokens=max_batched_tokens, chunked_prefill=chunked_prefill,
                    block_size=block_size,
                    gpu_memory_utilization=gpu_memory_utilization, num_gpu_blocks=num_gpu_blocks,
                    host_overhead_s=host_overhead, router=router, router_overlap_weight=router_overlap_weight,
                    admission=admission, admission_ttft_s=admission_ttft, gemm_input_casts=gemm_input_casts,
                    moe_a2a_backend=moe_a2a_backend,
                    kv_offload=_offload(f, kv_offload, dram_kv_gib, nvme_kv_gib, shared_kv_gib, kv_keep, kv_store))
    w = _workload(f, rate=1.0, arrival=arrival, burstiness=burstiness, input_len=input_len, output_len=output_len,
                  length_dist=length_dist, num_requests=num_requests or 1000, seed=seed)
    built = build(d)
    best, tried = max_rate(d, w, built, slo_ttft_p99, slo_tpot_p99, min_duration_s=min_duration)
    rep = best.report or {}
    # MLPerf Server: completed tokens/s at the valid rate = rate x output tokens per request
    per_request = rep["throughput_tok_s"] / rep["request_throughput_rps"]
    out = {"feasible": True, "max_rate_rps": best.rate, "throughput_tok_s": best.rate * per_request,
           "ttft_s": rep.get("ttft_s"), "tpot_s": rep.get("tpot_s"), "itl_s": rep.get("itl_s"),
           "e2e_s": rep.get("e2e_s"),
           "slo_ttft_p99_s": slo_ttft_p99, "slo_tpot_p99_s": slo_tpot_p99, "runs": len(tried),
           "tried": [{"rate_rps": p.rate, "ok": p.ok, "why": p.why} for p in tried], "at_max_rate": rep}
    if as_json:
        print_json(out)
        return
    c = make_console()
    c.print(f"capacity: {best.rate:.4g} requests/s ({out['throughput_tok_s']:,.0f} output tok/s) meets TTFT p99 <= "
            f"{slo_ttft_p99} s and TPOT p99 <= {slo_tpot_p99} s ({len(tried)} runs)")
    _print_report(rep)


@app.command("sweep")
def sweep_cmd(
    model: str = MODEL, hardware: str = HARDWARE, gpus: int = GPUS, tp: int = TP, pp: int = PP, ep: int = EP,
    precision: str = PRECISION, kv_precision: str = KV_PRECISION, engine: str = ENGINE,
    max_num_seqs: int = MAX_SEQS, max_batched_tokens: int = MAX_TOKENS, chunked_prefill: bool = CHUNKED,
    block_size: int = BLOCK,
    gpu_memory_utilization: float = UTIL, num_gpu_blocks: int = BLOCKS, host_overhead: float = OVERHEAD,
    router: str = ROUTER, router_overlap_weight: float = OVERLAP_W, admission: str = ADMISSION,
    admission_ttft: float = ADMISSION_TTFT, gemm_input_casts: bool = GEMM_CASTS,
    moe_a2a_backend: str = A2A_BACKEND,
    kv_offload: str = KV_OFFLOAD, dram_kv_gib: float = DRAM_GIB,
    nvme_kv_gib: float = NVME_GIB, shared_kv_gib: float = SHARED_GIB, kv_keep: str = KV_KEEP, kv_store: str = KV_STORE,
    arrival: str = ARRIVAL, burstiness: float = BURST,
    rates: str = typer.Option(None, "--rates", help="Comma-separated arrival rates (requests/s)."),
    concurrency_levels: str = typer.Option(None, "--concurrency-levels", help="Comma-separated client counts."),
    input_len: int = INPUT, output_len: int = OUTPUT, length_dist: str = DIST, num_requests: int = NREQ,
    seed: int = SEED, scenario: str = SCENARIO, as_json: bool = JSON_OUT,
) -> None:
    """The latency-throughput curve over arrival rates or concurrency levels."""
    f = _scenario_file(scenario)
    aggregated_only(f, "sweep")
    refuse_unread(f, "sweep")
    d = _deployment(f, model=model, hardware=hardware, gpus=gpus, tp=tp, pp=pp, ep=ep, precision=precision,
                    kv_precision=kv_precision, engine=engine, max_num_seqs=max_num_seqs,
                    max_batched_tokens=max_batched_tokens, chunked_prefill=chunked_prefill,
                    block_size=block_size,
                    gpu_memory_utilization=gpu_memory_utilization, num_gpu_blocks=num_gpu_blocks,
                    host_overhead_s=host_overhead, router=router, router_overlap_weight=router_overlap_weight,
                    admission=admission, admission_ttft_s=admission_ttft, gemm_input_casts=gemm_input_casts,
                    moe_a2a_backend=moe_a2a_backend,
                    kv_offload=_offload(f, kv_offload, dram_kv_gib, nvme_kv_gib, shared_kv_gib, kv_keep, kv_store))
    if (rates is None) == (concurrency_levels is None):
        raise CoscaleError("give exactly one of --rates or --concurrency-levels.")
    levels = comma_numbers(rates if rates is not None else concurrency_levels,
                           "--rates" if rates is not None else "--concurrency-levels", integer=rates is None)
    built = build(d)
    rows = []
    for x in levels:
        kind = {"rate": x} if rates is not None else {"concurrency": int(x)}
        w = _workload(f, arrival=arrival, burstiness=burstiness, input_len=input_len, output_len=output_len,
                      length_dist=length_dist, num_requests=num_requests, seed=seed, **kind)
        if rates is not None:
            p = evaluate(d, w, built, x, math.inf, math.inf)
            rows.append({"rate_rps": x, "overloaded": p.report is None, "capacity_rps": p.capacity_rps,
                         **(p.report or {})})
        else:
            _, rep = run(d, w, Slo(), built=built)
            rows.append({"concurrency": int(x), "overloaded": False, **rep})
    if as_json:
        print_json({"feasible": True, "points": rows})
        return
    c = make_console()
    t = Table(title="coscale serve sweep")
    for col in ("level", "req/s", "output tok/s", "TTFT mean", "TTFT p99", "TPOT mean", "TPOT p99", "preempt"):
        t.add_column(col, justify="right")
    for r in rows:
        level = f"{r['rate_rps']:g} req/s" if "rate_rps" in r else f"{r['concurrency']} clients"
        if r["overloaded"]:
            t.add_row(level, f"overloaded (capacity ~{r['capacity_rps']:.3g} req/s)", "", "", "", "", "", "")
            continue
        t.add_row(level, f"{r['request_throughput_rps']:.3g}", f"{r['throughput_tok_s']:,.0f}",
                  f"{r['ttft_s']['mean']:.3g}", f"{r['ttft_s']['p99']:.3g}", f"{r['tpot_s']['mean']:.3g}",
                  f"{r['tpot_s']['p99']:.3g}", str(r["preemptions"]))
    c.print(t)
