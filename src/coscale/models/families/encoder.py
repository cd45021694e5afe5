"""Encoder-only transformers: BERT, RoBERTa and XLM-RoBERTa (embedding models and cross-encoder rerankers).

Post-LayerNorm layers (weight + bias, two per layer), learned absolute positions
(`max_position_embeddings` rows; RoBERTa's two padding offsets included), bidirectional MHA with
biased Q/K/V/O, a biased GELU MLP of width `intermediate_size`. The output head replaces an LM head:
`*Model` ends in the pooler (dense hidden -> hidden), `*ForSequenceClassification` in a classifier
(BERT: pooler + hidden -> labels; RoBERTa/XLM-R: dense hidden -> hidden + out_proj hidden -> labels),
both costed as one dense layer of `hidden + labels` outputs. The token-type table (1-2 rows) is left
out of the count. A pass over a sequence is one prefill with no decode: the engine keeps no KV.
"""

from __future__ import annotations

from dataclasses import replace

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, head_dim
from coscale.specs.model import AttentionSpec, LayerSpec, MLPSpec, ModelSpec

ARCHITECTURES = ("BertModel", "BertForSequenceClassification", "RobertaModel", "RobertaForSequenceClassification",
                 "XLMRobertaModel", "XLMRobertaForSequenceClassification")


def num_labels(r: ConfigReader) -> int:
    """`num_labels`, else the size of `id2label` (HF's convention), else 2 (HF's default)."""
    if r.has("num_labels"):
        return r.pos_int("num_labels")
    labels = r.data.get("id2label")
    if labels is None:
        return 2
    if not isinstance(labels, dict) or not labels:
        raise CoscaleError(f"{r.where}: 'id2label' must be a non-empty object, got {labels!r}; fix the config.json")
    return len(labels)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    hidden = r.pos_int("hidden_size")
    heads = r.pos_int("num_attention_heads")
    act = r.string("hidden_act", default="gelu")
    if not act.startswith("gelu"):
        raise CoscaleError(f"{r.where}: hidden_act={act!r} is not supported for an encoder (expected a gelu variant)")
    hd = head_dim(r, hidden, heads)
    attn = AttentionSpec(num_heads=heads, num_kv_heads=heads, head_dim=hd, v_head_dim=hd, qkv_bias=True,
                         out_bias=True, causal=False)
    mlp = MLPSpec(intermediate_size=r.pos_int("intermediate_size"), activation="gelu", bias=True)
    layers = [LayerSpec(mixer=attn, ffn=mlp)] * r.pos_int("num_hidden_layers")
    classifier = architecture.endswith("ForSequenceClassification")
    head = hidden + num_labels(r) if classifier else hidden
    spec = build_model(r, name=name, architecture=architecture, layers=layers, tie_default=True,
                       max_pos=r.pos_int("max_position_embeddings"), learned_positions=True, norm="layernorm",
                       notes=("encoder-only: bidirectional attention, no decode; "
                              + ("classifier head" if classifier else "pooler head"),))
    return replace(spec, head_outputs=head)
