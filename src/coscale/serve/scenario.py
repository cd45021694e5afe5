"""A serving scenario (deployment + engine + workload + SLO) and how it becomes a simulation."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from coscale.cost.plan import build_plan
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.serve.capacity import KvBudget, block_bytes_per_gpu, kv_blocks
from coscale.serve.core_cost import CoreStepCost
from coscale.serve.cost_model import StepCostModel
from coscale.serve.dispatch import simulate_auto
from coscale.serve.engine import SimResult, simulate
from coscale.serve.kv import BlockPool
from coscale.serve.lockstep import attach_lockstep
from coscale.serve.metrics import Slo, report
from coscale.serve.presets import EnginePreset, get_preset
from coscale.serve.replica import Replica
from coscale.serve.request import Request
from coscale.serve.router import RouterConfig
from coscale.serve.scheduler import SchedulerConfig
from coscale.serve.tiers.config import OffloadConfig, offload_config
from coscale.serve.tiers.media import tier_media
from coscale.serve.tiers.report import tier_report
from coscale.serve.tiers.setup import attach_tiers
from coscale.serve.traces import read_trace
from coscale.serve.workload import (
    ClosedLoop,
    Lengths,
    OpenLoop,
    Workload,
    arrival_times,
    request_columns,
    session_requests,
)
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe, get_precision
from coscale.workload.ops import DeepEPMode

# what one run keeps in memory: every engine instance (replica or attention-DP rank) its own KV block
# pool of a few tens of bytes per block (~2 MB for Llama-3.1-8B on an H100), so 2,048 instances stay
# within a few GiB; a pool's block arrays are bounded the same way (2^24 blocks: ~1 GiB)
MAX_INSTANCES = 2048
MAX_BLOCKS = 2**24
DEFAULT_OVERLOAD_WAIT_S = 600.0  # a request queued this long means the arrival rate exceeds capacity


@dataclass(frozen=True, kw_only=True, slots=True)
class Deployment:
    model: str = "llama-3.1-8b"
    hardware: str = "h100-sxm"
    gpus: int | None = None
    tp: int = 1
    pp: int = 1
    ep: int = 1
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: str = "vllm"
    max_num_seqs: int | None = None
    max_batched_tokens: int | None = None
    # a prompt longer than the step's free budget is split across steps (None: the engine's default)
    chunked_prefill: bool | None = None
    block_size: int | None = None
    gpu_memory_utilization: float | None = None
    num_gpu_blocks: int | None = None
    host_overhead_s: float | None = None
    router: str = "least_loaded"
    prefix_caching: bool = True
    kv_offload: OffloadConfig | None = None  # KV tiers below GPU memory (None: no offload)
    router_overlap_weight: float = 1.0  # kv_aware: weight of blocks to prefill against decode blocks
    admission: str = "none"  # none | reject | queue (when the router predicts a TTFT above admission_ttft_s)
    admission_ttft_s: float | None = None
    # the engine quantizes each low-precision GEMM input in a kernel of its own (TensorRT-LLM's PyTorch
    # backend; TensorRT engines fuse the cast into the kernel before it): priced by `workload.quantize`
    gemm_input_casts: bool = False
    # who runs the MoE all-to-all of an EP pool: nccl (BF16 rows) or deepep (FP8/FP4 dispatch, DeepEP's bandwidth)
    moe_a2a_backend: str = "nccl"

    def __post_init__(self) -> None:
        object.__setattr__(self, "kv_offload", offload_config(self.kv_offload))
        # a value that would change nothing is refused, not silently ignored
        if self.admission == "none" and self.admission_ttft_s is not None:
            raise CoscaleError("--admission-ttft is the limit of admission control; add --admission reject or "
                               "--admission queue, or drop --admission-ttft.")
        if self.num_gpu_blocks is not None and self.gpu_memory_utilization is not None:
            raise CoscaleError("--num-gpu-blocks pins the KV pool, so --gpu-memory-utilization would change nothing; "
                               "give one of them.")


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkloadSpec:
    rate: float | None = None
    arrival: str = "poisson"
    burstiness: float = 1.0
    concurrency: int | None = None
    trace: str | None = None
    input_len: int = 1024
    output_len: int = 256
    length_dist: str = "fixed"
    turns: int = 1  # >1: multi-turn sessions (--rate is then the session start rate)
    think_s: float = 10.0
    length_sigma: float = 1.0
    input_max: int | None = None
    output_max: int | None = None
    num_requests: int | None = None
    duration_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        modes = [self.rate is not None, self.concurrency is not None, self.trace is not None]
        if sum(modes) != 1:
            raise CoscaleError("give exactly one of --rate, --concurrency or --trace.")
        if self.num_requests is not None and self.num_requests < 1:
            raise CoscaleError(f"--num-requests must be >= 1, got {self.num_requests}.")
        if self.duration_s is not None and not self.duration_s > 0:
            raise CoscaleError(f"--duration must be > 0 s, got {self.duration_s}.")


@dataclass(frozen=True, kw_only=True, slots=True)
class Built:
    model: ModelSpec
    system: System
    parallel: Parallelism
    precision: PrecisionRecipe
    preset: EnginePreset
    sched: SchedulerConfig
    block_size: int
    budget: KvBudget | None
    num_blocks: int
    cost: StepCostModel
    offload: OffloadConfig | None = None

    @property
    def replicas(self) -> int:
        """Engine instances; with attention-DP + EP each DP rank schedules its own batch."""
        return self.parallel.replicas * self.ranks_per_instance

    @property
    def ranks_per_instance(self) -> int:
        """Attention-DP ranks of one EP instance, which step in lock-step (1 without EP)."""
        return self.parallel.attention_dp if self.parallel.ep > 1 else 1

    @property
    def idle_w_per_replica(self) -> float:
        """Board power of one engine instance's (or attention-DP rank's) GPUs while they run no pass."""
        return self.system.hardware.power.idle_w * self.parallel.gpus / self.replicas


def build(d: Deployment, cost: StepCostModel | None = None, deepep_mode: DeepEPMode = "auto") -> Built:
    """With `ep > 1` each attention-DP rank is a replica with its own batch and KV pool, the ranks of
    one instance stepping in lock-step (`make_replicas`); `deepep_mode`: DeepEP's kernels when the
    all-to-all runs on DeepEP (`workload.ops.DeepEPMode`)."""
    model = load_model(d.model)
    hw = load_hardware(d.hardware)
    gpus = d.gpus if d.gpus is not None else max(d.tp, d.ep) * d.pp
    par = Parallelism(gpus=gpus, tp=d.tp, pp=d.pp, ep=d.ep)
    instances = par.replicas * (par.attention_dp if par.ep > 1 else 1)
    if instances > MAX_INSTANCES:
        raise CoscaleError(f"{gpus:,} GPUs make {instances:,} engine instances; one run simulates at most "
                           f"{MAX_INSTANCES:,} (each keeps its own KV block pool in memory): simulate a slice of the "
                           f"deployment with its share of the load.")
    recipe = get_precision(d.precision, d.kv_precision)
    preset = get_preset(d.engine)
    seqs_default, tokens_default = preset.batch_limits(hw.memory.hbm.capacity_bytes, hw.name)
    sched = SchedulerConfig(
        policy=preset.policy, victim=preset.victim, reserve_full=preset.reserve_full,
        max_num_seqs=d.max_num_seqs or seqs_default, max_batched_tokens=d.max_batched_tokens or tokens_default,
        prefix_caching=d.prefix_caching,
        chunked_prefill=preset.chunked_prefill if d.chunked_prefill is None else d.chunked_prefill,
        host_overhead_s=preset.host_overhead_s if d.host_overhead_s is None else d.host_overhead_s)
    block = d.block_size or preset.block_size
    if block < 1:
        raise CoscaleError(f"--block-size must be >= 1, got {block}.")
    if d.num_gpu_blocks is not None and block_bytes_per_gpu(model, par, recipe, block) <= 0:
        if d.kv_offload is not None and d.kv_offload.tiers:
            raise CoscaleError(f"{model.name} has no attention KV cache to offload; drop --kv-offload.")
        budget = None  # no KV cache: the pinned pool only bounds the batch (its per-sequence state is costed)
    else:
        budget = kv_blocks(model, par, recipe, hw.memory.hbm.capacity_bytes, preset, block, sched.max_batched_tokens,
                           sched.max_num_seqs, d.gpu_memory_utilization)
    if d.num_gpu_blocks is not None and d.num_gpu_blocks < 1:
        raise CoscaleError(f"--num-gpu-blocks must be >= 1, got {d.num_gpu_blocks}.")
    if d.num_gpu_blocks is not None and d.num_gpu_blocks > MAX_BLOCKS:
        raise CoscaleError(f"--num-gpu-blocks {d.num_gpu_blocks:,} is more than the {MAX_BLOCKS:,} blocks one "
                           f"instance's pool holds in memory; give fewer (or a larger --block-size).")
    system = System(hardware=hw, num_gpus=gpus)
    if d.kv_offload is not None and d.kv_offload.tiers:  # bad tier sizes fail before the cost table is built
        tier_media(d.kv_offload, hw, budget.block_bytes, block, par.gpus // par.replicas, gpus)
    if cost is None:
        # one step holds at most the token budget (decode-first) or a full decode batch (prefill-first)
        tokens = sched.max_batched_tokens + (sched.max_num_seqs if sched.policy != "decode_first" else 0)
        cost = CoreStepCost(plan=build_plan(model, system, par, recipe, gemm_input_casts=d.gemm_input_casts,
                                                moe_a2a=d.moe_a2a_backend, deepep_mode=deepep_mode),
                            max_tokens=tokens, max_seqs=sched.max_num_seqs + 1)
    return Built(model=model, system=system, parallel=par, precision=recipe, preset=preset, sched=sched,
                 block_size=block, budget=budget, num_blocks=d.num_gpu_blocks or budget.blocks, cost=cost,
                 offload=d.kv_offload)


def make_replicas(b: Built, fast_forward: bool = True, hold_kv: bool = False, count: int | None = None
                  ) -> list[Replica]:
    """The deployment's engine instances (the first `count` of them when given; attention-DP ranks joined
    in lock-step), with its KV tiers; `hold_kv`: a prefill pool's, keeping a finished request's blocks
    until its KV has been sent."""
    reps = [Replica(index=i, cfg=b.sched, pool=BlockPool(num_blocks=b.num_blocks, block_size=b.block_size,
                                                         caching=b.sched.prefix_caching),
                    cost=b.cost, fast_forward=fast_forward, hold_kv=hold_kv)
            for i in range(b.replicas if count is None else count)]
    if b.offload is not None and b.offload.tiers and b.budget is not None:
        per = b.parallel.gpus // b.replicas
        attach_tiers(reps, b.offload, b.system.hardware, b.budget.block_bytes, per, b.parallel.gpus)
    attach_lockstep(reps, b.ranks_per_instance, b.idle_w_per_replica)
    return reps


def make_workload(w: WorkloadSpec, model: ModelSpec | None = None) -> Workload:
    rng = np.random.default_rng(w.seed)
    lengths = Lengths(dist=w.length_dist, input_len=w.input_len, output_len=w.output_len, sigma=w.length_sigma,
                      input_max=w.input_max, output_max=w.output_max)
    if w.trace is not None:
        reqs = read_trace(w.trace)
        if w.duration_s is not None:
            reqs = tuple(r for r in reqs if r.arrival_s <= w.duration_s)
        if w.num_requests is not None:
            reqs = reqs[:w.num_requests]
        wl: Workload = OpenLoop(requests=reqs)
        _check_context(reqs, model)
        return wl
    if w.concurrency is not None:
        n = w.num_requests or 10 * w.concurrency
        isl, osl = lengths.sample(rng, n)
        _check_context_arrays(isl, osl, model)
        return ClosedLoop(concurrency=w.concurrency, isl=isl, osl=osl)
    assert w.rate is not None
    n = w.num_requests or (max(math.ceil(w.rate * w.duration_s), 1) if w.duration_s else 1000)
    if w.turns > 1:
        sessions = max(n // w.turns, 1)
        starts = arrival_times(w.arrival, w.rate, sessions, rng, w.burstiness)
        isl, osl = lengths.sample(rng, sessions * w.turns)
        _check_session_context(isl, osl, w.turns, model)  # before the sessions' growing prompts are built
        reqs = session_requests(starts, w.turns, w.think_s, isl, osl, rng)
        return OpenLoop(requests=reqs)
    times = arrival_times(w.arrival, w.rate, n, rng, w.burstiness)
    isl, osl = lengths.sample(rng, n)
    _check_context_arrays(isl, osl, model)
    return OpenLoop(requests=request_columns(times, isl, osl))  # type: ignore[arg-type]


def _check_context(reqs: tuple[Request, ...], model: ModelSpec | None) -> None:
    if reqs:
        _check_context_arrays(np.array([r.input_tokens for r in reqs]), np.array([r.output_tokens for r in reqs]),
                              model)


def _check_session_context(isl: np.ndarray, osl: np.ndarray, turns: int, model: ModelSpec | None) -> None:
    """The context of every turn of the sessions `session_requests` builds (a turn's prompt is the
    conversation so far plus its own tokens), checked before they are built."""
    grown = np.cumsum((isl + osl).reshape(-1, turns), axis=1).ravel()  # conversation after each turn
    limit = model.max_position_embeddings if model is not None else None
    if limit and grown.max() > limit:
        k = int(np.argmax(grown.reshape(-1, turns).max(axis=0) > limit)) + 1
        raise CoscaleError(f"a session reaches {int(grown.max()):,} tokens after {turns} turns (turn {k} already "
                           f"passes the {limit:,}-token context of {model.name}); give fewer --turns or shorter "
                           f"--input-len/--output-len.")


def _check_context_arrays(isl: np.ndarray, osl: np.ndarray, model: ModelSpec | None) -> None:
    limit = model.max_position_embeddings if model is not None else None
    if limit:
        total = isl + osl
        i = int(np.argmax(total))
        if total[i] > limit:
            raise CoscaleError(f"request {i + 1} (in arrival order) has {int(total[i])} tokens, beyond the "
                               f"{limit}-token context of {model.name}; shorten --input-len/--output-len or drop it "
                               f"from the trace.")


def run(d: Deployment, w: WorkloadSpec, slo: Slo, built: Built | None = None, overload: bool = True,
        progress=None, usd_per_gpu_hour: float | None = None,
        engine: str = "auto") -> tuple[SimResult, dict[str, object]]:
    """`engine`: `python` (the reference engine), `compiled` (the numba kernel; an error when the run
    is outside its scope) or `auto` (compiled when `compiled_ineligible` allows it, else Python).
    `SimResult.engine` says which ran."""
    b = built or build(d)
    wl = make_workload(w, b.model)
    open_loop_rate = w.rate is not None
    res = simulate_auto(make_replicas(b), wl, router_config(d),
                        overload_wait_s=DEFAULT_OVERLOAD_WAIT_S if (overload and open_loop_rate) else None,
                        capacity_probe=lambda: saturated_rate(b, w, d.router), progress=progress, engine=engine)
    out = report(res, slo, usd_per_gpu_hour=usd_per_gpu_hour, gpus=b.parallel.gpus,
                 idle_w=[b.idle_w_per_replica] * len(res.replicas))
    if d.admission != "none":
        out["rejected"] = len(res.rejected)
        out["admitted_share"] = out["completed"] / (out["completed"] + len(res.rejected))  # type: ignore[operator]
    tiers = tier_report([r.tiers for r in res.replicas])
    if tiers is not None:
        out["kv_tiers"] = tiers
    out = {"engine": b.preset.name, "engine_version": b.preset.version, "replicas": b.replicas,
           "num_gpu_blocks": b.num_blocks, "block_size": b.block_size, "max_num_seqs": b.sched.max_num_seqs,
           "max_batched_tokens": b.sched.max_batched_tokens,
           "chunked_prefill": b.sched.chunked_prefill, "host_overhead_s": b.sched.host_overhead_s,
           "kv_memory": b.budget.as_dict() if b.budget else None, **out}
    return res, out


def router_config(d: Deployment) -> RouterConfig:
    return RouterConfig(policy=d.router, overlap_weight=d.router_overlap_weight, admission=d.admission,
                        ttft_limit_s=d.admission_ttft_s)


def saturated_rate(b: Built, w: WorkloadSpec, router: str) -> float:
    """Requests/s the deployment completes with every batch slot kept busy: a closed loop of
    max_num_seqs clients per replica over three batches' worth of the workload's lengths."""
    clients = b.sched.max_num_seqs * b.replicas
    res = simulate(make_replicas(b), saturation_loop(w, clients), RouterConfig(policy=router))
    return steady_completion_rate([s.finish_s for s in res.sequences], clients)


def saturation_loop(w: WorkloadSpec, clients: int) -> ClosedLoop:
    """The closed loop a saturated rate is measured on: `clients` clients over three batches' worth
    (at least 300) of the workload's lengths."""
    n = max(3 * clients, 300)
    lengths = Lengths(dist=w.length_dist, input_len=w.input_len, output_len=w.output_len, sigma=w.length_sigma,
                      input_max=w.input_max, output_max=w.output_max)
    isl, osl = lengths.sample(np.random.default_rng(w.seed + 1), n)
    return ClosedLoop(concurrency=clients, isl=isl, osl=osl)


def steady_completion_rate(finish_s: list[float], clients: int) -> float:
    """Completions per second of a saturation loop's steady part: between the first and the last
    batch's worth of completions (the whole run when that span is empty)."""
    finish = np.sort(finish_s)
    n = len(finish)
    lo, hi = finish[clients // 2], finish[-clients // 2 - 1]
    return float((n - clients) / (hi - lo)) if hi > lo else float(n / finish[-1])


def with_rate(w: WorkloadSpec, rate: float) -> WorkloadSpec:
    return replace(w, rate=rate, concurrency=None, trace=None)
