"""Per-sequence inference state: the attention KV cache and the Mamba conv + SSM state.

Full-attention layers store K and V for every past token. Sliding-window layers store at most
`sliding_window` tokens. MLA layers store one `kv_lora_rank` latent plus one shared
`qk_rope_head_dim` key per token (no per-head K/V). Mamba layers keep a fixed-size state whatever
the context: the last conv_kernel - 1 inputs of the conv channels and the SSM state. Sizes are in
bytes; `bytes_per_element` may be fractional (4-bit formats with block scales).
"""

from __future__ import annotations

import numpy as np

from coscale.errors import CoscaleError
from coscale.specs.model import AttentionSpec, Mamba2Spec, ModelSpec


def kv_elements_per_token(a: AttentionSpec) -> int:
    """Cached elements per token for one attention layer."""
    if a.mla is not None:
        return a.mla.kv_lora_rank + a.mla.qk_rope_head_dim
    return a.num_kv_heads * (a.head_dim + a.v_head_dim)


def _attention_layers(model: ModelSpec) -> list[AttentionSpec]:
    """Self-attention layers (cross-attention over an encoder memory caches per sequence, not per token)."""
    return [layer.mixer for layer in model.layers
            if isinstance(layer.mixer, AttentionSpec) and layer.mixer.memory_tokens is None]


def cross_kv_bytes_per_sequence(model: ModelSpec, bytes_per_element: float) -> float:
    """K/V of the encoder memory every cross-attention layer keeps for one sequence (Whisper's
    decoder: 1500 audio positions per layer), whatever the sequence's own length."""
    _check(bytes_per_element)
    return sum((layer.mixer.memory_tokens or 0) * kv_elements_per_token(layer.mixer) for layer in model.layers
               if isinstance(layer.mixer, AttentionSpec)) * bytes_per_element


def _check(bytes_per_element: float) -> None:
    if not bytes_per_element > 0:
        raise CoscaleError(f"bytes_per_element must be positive, got {bytes_per_element}")


def kv_cache_bytes_per_token(model: ModelSpec, bytes_per_element: float) -> float:
    """Bytes each new token adds to the cache in full-attention layers (sliding layers excluded:
    beyond their window they add nothing, so their cost is in `kv_cache_bytes_per_sequence`)."""
    _check(bytes_per_element)
    elems = sum(kv_elements_per_token(a) for a in _attention_layers(model) if a.sliding_window is None)
    return elems * bytes_per_element


def kv_cache_bytes_per_sequence(model: ModelSpec, context_len: int | np.ndarray, bytes_per_element: float
                                ) -> float | np.ndarray:
    """KV cache for one sequence of `context_len` tokens (an int, or an array of them); sliding
    layers capped at their window."""
    _check(bytes_per_element)
    if np.any(np.asarray(context_len) < 0):
        raise CoscaleError(f"context_len must be >= 0, got {context_len}")
    elems: int | np.ndarray = 0
    for a in _attention_layers(model):
        tokens = context_len if a.sliding_window is None else np.minimum(context_len, a.sliding_window)
        elems = elems + tokens * kv_elements_per_token(a)
    return elems * bytes_per_element


def ssm_state_elements(m: Mamba2Spec) -> tuple[int, int]:
    """(conv state, SSM state) elements of one Mamba layer."""
    if m.version == 1:
        return m.d_inner * (m.conv_kernel - 1), m.d_inner * m.d_state
    conv = (m.d_inner + 2 * m.n_groups * m.d_state) * (m.conv_kernel - 1)
    return conv, m.num_heads * m.head_dim * m.d_state


def ssm_state_bytes_per_sequence(model: ModelSpec, bytes_per_element: float) -> float:
    """Constant per-sequence state of all Mamba layers (0 for a pure transformer)."""
    _check(bytes_per_element)
    elems = sum(sum(ssm_state_elements(layer.mixer)) for layer in model.layers if isinstance(layer.mixer, Mamba2Spec))
    return elems * bytes_per_element
