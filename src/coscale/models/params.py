"""Parameter counts from a ModelSpec, in the convention vendors publish.

Counted: token embedding, untied LM head (an encoder's pooler / classifier head instead when it
has one), an encoder-decoder model's whole encoder, learned position table, every norm (RMSNorm weight, or
LayerNorm weight + bias), every bias, attention sinks, routers (+ router bias), and the Mamba
A_log, D, dt_bias, conv weights/bias and gated-norm weights. `active` is what one token touches:
everything except the routed experts it is not sent to (top_k of num_experts stay, shared experts
stay). Whether the *input* embedding counts as active differs by vendor (gpt-oss excludes it), so
both figures are returned and the caller picks the published convention.
"""

from __future__ import annotations

from dataclasses import dataclass

from coscale.specs.model import AttentionSpec, LayerSpec, Mamba2Spec, MLPSpec, ModelSpec, MoESpec


@dataclass(frozen=True, kw_only=True, slots=True)
class KindCount:
    """All layers of one kind (e.g. 'attention+moe'): how many, and their summed parameters."""

    kind: str
    layers: int
    total: int
    active: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ParamCount:
    total: int
    active: int  # per token, input embedding included
    embedding: int  # token table
    lm_head: int  # 0 when tied
    positions: int  # learned absolute position table (GPT-2 style)
    final_norm: int
    by_kind: tuple[KindCount, ...]

    @property
    def active_excluding_input_embedding(self) -> int:
        return self.active - self.embedding

    @property
    def non_embedding(self) -> int:
        return self.total - self.embedding - self.lm_head - self.positions


def _norm(model: ModelSpec, width: int) -> int:
    return 2 * width if model.norm == "layernorm" else width


def attention_params(h: int, a: AttentionSpec) -> int:
    if a.mla is not None:
        m = a.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        q = (
            h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * a.num_heads * qk
            if m.q_lora_rank
            else h * a.num_heads * qk
        )
        kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        kv += m.kv_lora_rank * a.num_heads * (m.qk_nope_head_dim + m.v_head_dim)
        out = a.num_heads * m.v_head_dim * h
        return q + kv + out + (h if a.out_bias else 0)
    q_width = a.num_heads * a.head_dim
    kv_width = a.num_kv_heads * (a.head_dim + a.v_head_dim)
    n = h * (q_width + kv_width) + a.num_heads * a.v_head_dim * h
    if a.qkv_bias:
        n += q_width + kv_width
    if a.out_bias:
        n += h
    if a.qk_norm:
        n += 2 * a.head_dim
    if a.sinks:
        n += a.num_heads
    return n


def mamba_params(h: int, m: Mamba2Spec) -> int:
    if m.version == 1:
        d = m.d_inner
        n = h * 2 * d + d * m.conv_kernel + d * (m.dt_rank + 2 * m.d_state)
        n += m.dt_rank * d + d  # dt_proj weight + bias
        n += d * m.d_state + d  # A_log, D
        n += d * h
        n += (d if m.conv_bias else 0) + (2 * d + h if m.bias else 0)
        return n
    conv_dim = m.d_inner + 2 * m.n_groups * m.d_state
    in_width = m.d_inner + conv_dim + m.num_heads  # z, xBC, dt
    n = h * in_width + conv_dim * m.conv_kernel + 3 * m.num_heads + m.d_inner + m.d_inner * h
    n += (conv_dim if m.conv_bias else 0) + (in_width + h if m.bias else 0)
    return n


def mlp_params(h: int, width: int, activation: str, bias: bool) -> int:
    gated = activation == "swiglu"
    n = (3 if gated else 2) * h * width
    return n + ((2 if gated else 1) * width + h if bias else 0)


def ffn_params(h: int, f: MLPSpec | MoESpec) -> tuple[int, int]:
    """(total, active) for one FFN block."""
    if isinstance(f, MLPSpec):
        n = mlp_params(h, f.intermediate_size, f.activation, f.bias)
        return n, n
    expert = mlp_params(h, f.expert_intermediate_size, f.activation, f.expert_bias)
    shared = mlp_params(h, f.shared_intermediate_size, f.activation, f.expert_bias) if f.shared_intermediate_size else 0
    router = h * f.num_experts + (f.num_experts if f.router_bias else 0)
    return f.num_experts * expert + shared + router, f.top_k * expert + shared + router


def layer_params(model: ModelSpec, layer: LayerSpec) -> tuple[int, int]:
    """(total, active) for one layer, its pre-norms included (one per sub-block)."""
    h = model.hidden_size
    total = active = 0
    for block in (layer.mixer, layer.ffn):
        if block is None:
            continue
        n = _norm(model, h)
        total, active = total + n, active + n
    if isinstance(layer.mixer, AttentionSpec):
        n = attention_params(h, layer.mixer)
        total, active = total + n, active + n
    elif isinstance(layer.mixer, Mamba2Spec):
        n = mamba_params(h, layer.mixer)
        total, active = total + n, active + n
    if layer.ffn is not None:
        t, a = ffn_params(h, layer.ffn)
        total, active = total + t, active + a
    return total, active


def count_params(model: ModelSpec) -> ParamCount:
    h = model.hidden_size
    kinds: dict[str, list[int]] = {}
    for layer in model.layers:
        t, a = layer_params(model, layer)
        entry = kinds.setdefault(layer.kind, [0, 0, 0])
        entry[0] += 1
        entry[1] += t
        entry[2] += a
    embedding = model.vocab_size * h
    if model.head_outputs:  # an encoder's pooler / classifier: dense layer with bias
        lm_head = h * model.head_outputs + model.head_outputs
    else:
        lm_head = 0 if model.tie_word_embeddings else model.vocab_size * h
    positions = (model.max_position_embeddings or 0) * h if model.learned_positions else 0
    final_norm = _norm(model, h)
    fixed = embedding + lm_head + positions + final_norm
    encoder = count_params(model.encoder).total if model.encoder is not None else 0
    return ParamCount(
        total=fixed + encoder + sum(v[1] for v in kinds.values()),
        active=fixed + encoder + sum(v[2] for v in kinds.values()),
        embedding=embedding,
        lm_head=lm_head,
        positions=positions,
        final_norm=final_norm,
        by_kind=tuple(KindCount(kind=k, layers=v[0], total=v[1], active=v[2]) for k, v in kinds.items()),
    )
