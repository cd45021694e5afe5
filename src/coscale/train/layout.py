"""A training layout (TP x CP x PP x DP, EP carved out of TP x CP x DP) and the run's batch shape.

Rank order follows Megatron-Core's default `tp-cp-ep-dp-pp`: TP is innermost (consecutive GPUs, so
inside one NVLink domain when it fits), then CP, then DP, with PP outermost. Validation raises
`CoscaleError` with the fix, since a bad layout is user input, not a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coscale.errors import CoscaleError

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
        for name in ("gpus", "tp", "pp", "vp", "dp", "cp", "ep", "micro_batch", "global_batch", "seq_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise CoscaleError(f"--{name.replace('_', '-')} must be a positive integer, got {value}.")
        if self.recompute not in RECOMPUTE_MODES:
            raise CoscaleError(f"--recompute must be one of {', '.join(RECOMPUTE_MODES)}, got '{self.recompute}'.")
        if self.zero not in (0, 1, 2, 3):
            raise CoscaleError(f"--zero must be 0, 1, 2 or 3, got {self.zero}.")
        model_gpus = self.tp * self.cp * self.pp * self.dp
        if model_gpus != self.gpus:
            raise CoscaleError(
                f"--gpus {self.gpus} != tp*cp*pp*dp = {self.tp}*{self.cp}*{self.pp}*{self.dp} = {model_gpus}; "
                f"pick degrees whose product is {self.gpus} (or omit --dp to derive it)."
            )
        if self.ep > 1 and (self.ep % self.tp or (self.tp * self.cp * self.dp) % self.ep):
            raise CoscaleError(
                f"--ep {self.ep} must be a multiple of --tp {self.tp} and divide tp*cp*dp = "
                f"{self.tp * self.cp * self.dp} (experts are sharded over the data-parallel ranks)."
            )
        if self.vp > 1 and self.pp == 1:
            raise CoscaleError("--vp > 1 (interleaved pipeline) needs --pp > 1; set --vp 1.")
        per_step = self.dp * self.micro_batch
        if self.global_batch % per_step:
            lower = self.global_batch // per_step * per_step
            fits = f"{lower} or {lower + per_step}" if lower else f"a multiple of {per_step}"
            raise CoscaleError(
                f"--global-batch {self.global_batch} is not divisible by dp*micro-batch = {self.dp}*"
                f"{self.micro_batch} = {per_step}; use {fits}."
            )
        if self.seq_len % (2 * self.cp) and self.cp > 1:
            raise CoscaleError(f"--seq-len {self.seq_len} must be divisible by 2*cp = {2 * self.cp} "
                               f"(load-balanced ring attention splits each sequence into 2*cp chunks).")
        if self.vp > 1 and self.num_microbatches % self.pp:
            raise CoscaleError(
                f"interleaved pipeline needs micro-batches per step ({self.num_microbatches}) to be a "
                f"multiple of --pp {self.pp}; change --global-batch or use --vp 1."
            )

    def check_layers(self, num_layers: int) -> None:
        """Every pipeline chunk (pp*vp of them) must hold at least one layer."""
        chunks = self.pp * self.vp
        size = -(-num_layers // chunks)
        if size * (chunks - 1) >= num_layers:
            raise CoscaleError(
                f"--pp {self.pp} x --vp {self.vp} = {chunks} pipeline chunks leave some of the model's "
                f"{num_layers} layers' chunks empty; use pp*vp <= {num_layers} with pp*vp dividing it evenly.")

    @property
    def num_microbatches(self) -> int:
        """Gradient-accumulation steps per optimizer step on each data-parallel replica."""
        return self.global_batch // (self.dp * self.micro_batch)

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch * self.seq_len

    @property
    def expert_dp(self) -> int:
        """Replicas of each expert: experts are sharded over `ep` of the tp*cp*dp ranks."""
        return self.tp * self.cp * self.dp // self.ep

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
