"""Reason codes, in the order the rules are checked: the scalar form reports every broken rule in
this order and the array form reports the first one's index + 1 (0 = feasible)."""

from __future__ import annotations

CODES: tuple[str, ...] = (
    "not_positive",  # a degree or size below 1
    "gpus_instance",  # inference: GPUs not a multiple of one instance, max(tp, ep) * pp
    "gpus_product",  # training: GPUs != tp * cp * pp * dp
    "ep_tp",  # EP not a multiple of TP (attention-DP groups / Megatron's expert-tensor layout)
    "ep_dp",  # training: EP does not divide tp * cp * dp (experts shard over the data-parallel ranks)
    "vp_pp",  # interleaved pipeline without a pipeline
    "cp_seq",  # sequence not divisible into 2 * cp load-balanced chunks
    "batch_dp",  # global batch not divisible by dp * micro-batch
    "vp_microbatches",  # interleaved 1F1B needs the micro-batch count to be a multiple of pp
    "tp_heads",  # TP does not divide the query heads
    "tp_kv_heads",  # TP and the KV heads divide neither one another
    "tp_mamba_heads",  # TP does not divide the Mamba heads (Mamba-1: inner channels)
    "ep_dense",  # EP > 1 on a model without experts
    "ep_experts",  # EP does not divide the experts
    "cp_mamba",  # CP on a model with a token mixer that cannot use it (Mamba)
    "pp_layers",  # some pipeline chunk would hold no layer
    "context",  # prompt + output (training: the sequence) longer than max_position_embeddings
)

OK = 0

SUMMARY: dict[str, str] = {
    "not_positive": "a degree or size below 1",
    "gpus_instance": "GPUs not a multiple of one instance",
    "gpus_product": "GPUs != tp*cp*pp*dp",
    "ep_tp": "EP not a multiple of TP",
    "ep_dp": "EP not dividing tp*cp*dp",
    "vp_pp": "interleaving without a pipeline",
    "cp_seq": "sequence not divisible into 2*cp chunks",
    "batch_dp": "global batch not divisible by dp*micro-batch",
    "vp_microbatches": "micro-batches not a multiple of pp for interleaving",
    "tp_heads": "TP not dividing the attention heads",
    "tp_kv_heads": "TP and KV heads dividing neither one another",
    "tp_mamba_heads": "TP not dividing the Mamba heads",
    "ep_dense": "EP on a dense model",
    "ep_experts": "EP not dividing the experts",
    "cp_mamba": "CP on a model with Mamba layers",
    "pp_layers": "an empty pipeline chunk",
    "context": "prompt + output (or training sequence) beyond the model's context",
}


def code_index(code: str) -> int:
    """The integer the array form uses for `code` (index + 1; 0 means feasible)."""
    return CODES.index(code) + 1
