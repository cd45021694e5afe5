"""What one GPU computes in one forward pass: phase, shapes, sharding and formats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coscale.specs.precision import StorageFormat

Phase = Literal["prefill", "decode"]
OUTPUT_BYTES = 2.0  # GEMM outputs and residual-stream activations are written in BF16
# Mamba conv + SSM state stays BF16 whatever the KV-cache format (vLLM's mamba_ssm_cache_dtype
# defaults to the model dtype; KV-cache quantization does not apply to it)
SSM_STATE_BYTES = 2.0
EMBEDDING_BYTES = 2.0  # embedding table and LM head stay BF16 in quantised checkpoints (ModelOpt, TRT-LLM)


@dataclass(frozen=True, kw_only=True, slots=True)
class ForwardPass:
    """One forward pass as seen by one GPU of a model instance.

    `seqs` sequences each add `new_tokens` tokens on top of `context` cached tokens (prefill:
    new_tokens = prompt, context = 0; decode: new_tokens = 1). Attention, Mamba and dense layers
    see the `seqs` of this GPU's attention-DP group; MoE experts see the tokens of all
    `attention_dp` groups, spread over `ep` GPUs.
    """

    phase: Phase
    seqs: int
    new_tokens: int
    context: int
    tp: int = 1
    ep: int = 1
    attention_dp: int = 1
    weights: StorageFormat
    activations: StorageFormat
    kv_cache: StorageFormat
    gemm_class: str  # tensor-core class GEMMs run in on this chip (resolved against the hardware)
    attention_class: str
    head_class: str = "bf16"  # the embedding table and LM head stay BF16 in quantised checkpoints

    @property
    def tokens(self) -> int:
        """Tokens through the dense and attention layers of this GPU."""
        return self.seqs * self.new_tokens

    @property
    def weight_bpe(self) -> float:
        return self.weights.bytes_per_element

    @property
    def act_bpe(self) -> float:
        return self.activations.bytes_per_element

    @property
    def kv_bpe(self) -> float:
        return self.kv_cache.bytes_per_element

    def gemm_bytes(self, m: float, n: float, k: float) -> tuple[float, float]:
        """(weight bytes, activation bytes) of y[m,n] = x[m,k] @ W[k,n] on this GPU."""
        return n * k * self.weight_bpe, m * k * self.act_bpe + m * n * OUTPUT_BYTES
