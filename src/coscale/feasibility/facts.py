"""The few numbers of a model that layout rules look at, read once so arrays of layouts are cheap."""

from __future__ import annotations

from dataclasses import dataclass

from coscale.specs.model import AttentionSpec, Mamba2Spec, ModelSpec, MoESpec


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelFacts:
    name: str
    query_heads: tuple[int, ...]  # distinct counts over attention layers, in layer order
    kv_heads: tuple[int, ...]  # distinct counts over non-MLA attention layers (MLA has no KV heads to shard)
    mamba_heads: tuple[int, ...]  # Mamba-2 heads; Mamba-1 (Jamba) shards its inner channels
    mamba_version: int  # 0 when the model has no Mamba layer
    experts: tuple[int, ...]  # distinct expert counts over MoE layers
    num_layers: int
    max_context: int | None

    @property
    def has_mamba(self) -> bool:
        return bool(self.mamba_heads)

    @property
    def has_experts(self) -> bool:
        return bool(self.experts)


def _distinct(values: list[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(values))


def model_facts(model: ModelSpec) -> ModelFacts:
    attn = [layer.mixer for layer in model.layers if isinstance(layer.mixer, AttentionSpec)]
    mamba = [layer.mixer for layer in model.layers if isinstance(layer.mixer, Mamba2Spec)]
    moe = [layer.ffn for layer in model.layers if isinstance(layer.ffn, MoESpec)]
    return ModelFacts(
        name=model.name,
        query_heads=_distinct([a.num_heads for a in attn]),
        kv_heads=_distinct([a.num_kv_heads for a in attn if a.mla is None]),
        mamba_heads=_distinct([m.num_heads for m in mamba]),
        mamba_version=max((m.version for m in mamba), default=0),
        experts=_distinct([f.num_experts for f in moe]),
        num_layers=model.num_layers,
        max_context=model.max_position_embeddings,
    )


def pipeline_chunks_ok(num_layers: int, chunks: int) -> bool:
    """Layers are split into chunks of ceil(L / chunks) (train/memory.py, cost/inference_memory.py);
    every chunk holds a layer iff the first chunks - 1 of them leave at least one layer over."""
    size = -(-num_layers // chunks)
    return size * (chunks - 1) < num_layers
