"""What one GPU computes in one forward pass: the step's token groups, sharding and formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from coscale.specs.precision import STORAGE_FORMATS, StorageFormat
from coscale.workload.ops import CollectiveBackend, DeepEPMode
from coscale.workload.shape import Array, StepShape, TokenGroup

Phase = Literal["prefill", "decode"]
OUTPUT_BYTES = 2.0  # GEMM outputs and residual-stream activations are written in BF16
EMBEDDING_BYTES = 2.0  # embedding table and LM head stay BF16 in quantised checkpoints (ModelOpt, TRT-LLM)


@dataclass(frozen=True, kw_only=True, slots=True, eq=False)
class ForwardPass:
    """One forward pass as seen by one GPU of a model instance.

    `shape` holds the decode and prefill groups of this GPU's attention-DP rank. Attention, Mamba
    and dense layers see those tokens; MoE experts see the tokens of all `attention_dp` ranks
    (`shape.group_tokens`, else every rank taken to carry this one's), spread over `ep` GPUs. Shapes
    may be arrays (a sweep of steps).
    """

    shape: StepShape
    tp: int = 1
    ep: int = 1
    attention_dp: int = 1
    weights: StorageFormat
    activations: StorageFormat
    kv_cache: StorageFormat
    ssm_state: StorageFormat = STORAGE_FORMATS["bf16"]  # Mamba conv + SSM state (the recipe's ssm_state role)
    gemm_class: str  # tensor-core class GEMMs run in on this chip (resolved against the hardware)
    attention_class: str
    head_class: str = "bf16"  # the embedding table and LM head stay BF16 in quantised checkpoints
    # the serving engine casts each GEMM's BF16 input to the activation format in a kernel of its own
    # (`coscale.workload.quantize`); training passes add their own casts (train.passes)
    quantize_gemm_inputs: bool = False
    # who runs the MoE all-to-all (`workload.ops.CollectiveBackend`): "nccl" moves BF16 rows both ways
    # (Megatron's all-to-all dispatcher; engines that quantize after the exchange); "deepep" dispatches
    # each routed token in the expert GEMMs' input format, quantized once before it, and combines BF16
    # rows ("FP8 dispatch / BF16 combine", DeepEP's measured setting)
    moe_a2a: CollectiveBackend = "nccl"
    deepep_mode: DeepEPMode = "auto"  # which DeepEP kernels a pass runs (`workload.ops.DeepEPMode`)
    # GPUs of one scale-up domain (NVLink island) of the chip: where DeepEP's high-throughput kernels
    # switch from NVLink to RDMA (0: unknown, the EP group taken as one domain)
    scaleup_domain: int = 0

    @staticmethod
    def single(phase: Phase, seqs: float, new_tokens: float, context: float, **kwargs: object) -> ForwardPass:
        """A one-phase pass: `seqs` sequences each adding `new_tokens` on top of `context` tokens."""
        group = TokenGroup.of(seqs, new_tokens, context)
        empty = TokenGroup.of(np.zeros(0), 1.0, 0.0)
        shape = StepShape(decode=group if phase == "decode" else empty, prefill=group if phase == "prefill" else empty)
        return ForwardPass(shape=shape, **kwargs)  # type: ignore[arg-type]

    def groups(self) -> tuple[tuple[Phase, TokenGroup], ...]:
        """The non-empty token groups (a member axis of length 0 is statically empty)."""
        out: list[tuple[Phase, TokenGroup]] = []
        if self.shape.decode.seqs.shape[-1]:
            out.append(("decode", self.shape.decode))
        if self.shape.prefill.seqs.shape[-1]:
            out.append(("prefill", self.shape.prefill))
        return tuple(out)

    @property
    def tokens(self) -> Array:
        """Tokens through the dense and attention layers of this GPU."""
        return self.shape.tokens

    @property
    def num_seqs(self) -> Array:
        return self.shape.num_seqs

    @property
    def weight_bpe(self) -> float:
        return self.weights.bytes_per_element

    @property
    def act_bpe(self) -> float:
        return self.activations.bytes_per_element

    @property
    def dispatch_bpe(self) -> float:
        """Bytes per element of the rows the MoE dispatch all-to-all moves."""
        return self.act_bpe if self.moe_a2a == "deepep" else OUTPUT_BYTES

    @property
    def kv_bpe(self) -> float:
        return self.kv_cache.bytes_per_element

    def gemm_bytes(self, m: Array, n: float, k: float) -> tuple[Array, Array]:
        """(weight bytes, activation bytes) of y[m,n] = x[m,k] @ W[k,n] on this GPU; a GEMM with no
        rows (a token group empty in this step) launches no kernel and reads nothing."""
        weights = np.where(np.asarray(m) > 0, n * k * self.weight_bpe, 0.0)[()]
        return weights, m * k * self.act_bpe + m * n * OUTPUT_BYTES
