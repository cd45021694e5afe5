"""A training layout (TP x CP x PP x DP, EP carved out of TP x CP x DP) and the run's batch shape.

Rank order follows Megatron-Core's default `tp-cp-ep-dp-pp`: TP is innermost (consecutive GPUs, so
inside one NVLink domain when it fits), then CP, then DP, with PP outermost. Validation applies
the shared rules of `coscale.feasibility` and raises `InfeasibleError` (a CoscaleError) with the
fix, since a bad layout is user input, not a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coscale.errors import CoscaleError
from coscale.feasibility import ModelFacts, Violation, layout_violations, raise_if_any
from coscale.specs.model import ModelSpec

Recompute = Literal["none", "selective", "full"]
RECOMPUTE_MODES: tuple[Recompute, ...] = ("none", "selective", "full")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainLayout:
    gpus: int
    tp: int = 1
    pp: int = 1
    vp: int = 1  # virtual pipeline chunks per stage (interleaved 1F1B)
    dp: int = 1
    cp: int = 1
    ep: int = 1
    micro_batch: int = 1
    global_batch: int
    seq_len: int
    recompute: Recompute = "selective"
    zero: int = 1  # 0: replicated; 1: optimizer sharded; 2: + gradients; 3: + weights (FSDP)

    def __post_init__(self) -> None:
        if self.recompute not in RECOMPUTE_MODES:
            raise CoscaleError(f"train.recompute must be one of {', '.join(RECOMPUTE_MODES)}, got '{self.recompute}'.")
        if self.zero not in (0, 1, 2, 3):
            raise CoscaleError(f"train.zero must be 0, 1, 2 or 3, got {self.zero}.")
        raise_if_any(self.violations())

    def violations(self, model: ModelSpec | ModelFacts | None = None) -> list[Violation]:
        """The shared feasibility rules (coscale.feasibility) for this layout, on `model` if given."""
        return layout_violations(model, tp=self.tp, pp=self.pp, ep=self.ep, cp=self.cp, vp=self.vp, dp=self.dp,
                                 gpus=self.gpus, seq_len=self.seq_len, global_batch=self.global_batch,
                                 micro_batch=self.micro_batch)

    def check_model(self, model: ModelSpec) -> None:
        """Raise `InfeasibleError` if `model` cannot be sharded this way (heads, experts, CP, layers)."""
        raise_if_any(self.violations(model))

    @property
    def num_microbatches(self) -> int:
        """Gradient-accumulation steps per optimizer step on each data-parallel replica."""
        return self.global_batch // (self.dp * self.micro_batch)

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch * self.seq_len

    @property
    def expert_dp(self) -> int:
        """Replicas of each expert shard: experts are sharded over `ep` of the tp*cp*dp ranks, or over
        `tp` when ep == 1 (then each TP shard is replicated over cp*dp ranks, not tp*cp*dp)."""
        return self.tp * self.cp * self.dp // (self.ep if self.ep > 1 else self.tp)

    def describe(self) -> str:
        return (f"TP{self.tp} CP{self.cp} PP{self.pp} VP{self.vp} DP{self.dp} EP{self.ep} "
                f"mb{self.micro_batch} {self.recompute} ZeRO-{self.zero}")


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainOptions:
    """Implementation choices that change memory and time but are not the layout itself."""

    sequence_parallel: bool = True  # shard norms/dropout over TP (Korthikanti et al. 2022)
    flash_attention: bool = True  # False: the s^2 softmax tensors are stored (pre-FlashAttention Megatron)
    dropout: bool = False  # 1-byte dropout masks after attention and MLP (GPT-3-era Megatron runs)
    fp32_grad_accum: bool = True  # Megatron main_grad: 18 instead of 16 bytes/param
    tp_comm_overlap: bool = True  # Megatron --tp-comm-overlap (userbuffers pipelining)
    dp_overlap: bool = True  # --overlap-grad-reduce / --overlap-param-gather
    cp_overlap: bool = True  # ring attention P2P hidden behind the attention kernel
    # dropless MoE waits on the host for its per-expert token counts (Megatron TEGroupedMLP and the
    # all-to-all dispatcher; train.host); False: a sync-free stack (device-side splits), where the
    # host runs ahead and only the excess of its issue time over the device time shows
    moe_host_sync: bool = True
    # the distributed optimizer keeps FP8 parameters and all-gathers them in FP8 (Megatron
    # --fp8-param-gather, NeMo fp8_params, TE's FP8 primary weights): the parameter all-gather moves
    # the recipe's low-precision weight bytes instead of 16-bit ones, and no 16-bit working copy is
    # held; only meaningful with a low-precision GEMM recipe
    fp8_param_gather: bool = False
    # without sequence parallelism, each TP rank sends 1/tp of the activation between pipeline stages
    # and the next stage all-gathers it over NVLink (Megatron-LM 2021-2023
    # --scatter-gather-tensors-in-pipeline, on by default; Narayanan et al. 2021 Sec. 4.1: cuts the
    # inter-node volume by tp). Megatron-Core without sequence parallelism sends the full tensor.
    p2p_scatter_gather: bool = False
    # the loss as one fused kernel (TE / Megatron --cross-entropy-loss-fusion, NeMo and Megatron-Bridge
    # recipes); False: Megatron's unfused FP32 vocab-parallel cross-entropy (train.backward)
    cross_entropy_fusion: bool = True
    # Megatron-Core selective recompute of named modules besides (or instead of) the core attention
    # (--recompute-modules; Megatron-Bridge performance recipes set e.g. ["layernorm", "moe_act"] for
    # GPT-OSS, ["mla_up_proj"] for DeepSeek-V3): their forward operators run again in the backward.
    # Names: train.recompute_modules.RECOMPUTE_MODULES
    recompute_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from coscale.train.recompute_modules import check_modules  # layout stays import-light
        object.__setattr__(self, "recompute_modules", check_modules(self.recompute_modules))
