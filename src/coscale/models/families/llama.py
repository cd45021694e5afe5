"""Dense GQA/MHA decoders: Llama 2/3, Mistral, Qwen2, Qwen3 (attention + SwiGLU MLP in every layer).

Family differences that change sizes: Qwen2 hard-codes a q/k/v bias (no config key), Qwen3 adds
per-head RMSNorm on q and k, Mistral may set a sliding window for all layers, and Qwen2/Qwen3 only
slide when `use_sliding_window` is true and only from layer `max_window_layers` on.
"""

from __future__ import annotations

from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model, gated_activation, gqa_attention, layer_windows
from coscale.specs.model import LayerSpec, MLPSpec, ModelSpec

ARCHITECTURES = (
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen3ForCausalLM",
)


def attention_windows(r: ConfigReader, architecture: str, num_layers: int) -> list[int | None]:
    """Sliding-window size per layer, following each family's rule for when the window applies."""
    window = r.opt_pos_int("sliding_window")
    if architecture.startswith("Qwen"):
        if not r.flag("use_sliding_window", False):
            window = None
        if not r.has("layer_types"):
            first = r.nonneg_int("max_window_layers", default=num_layers)
            return [window if i >= first else None for i in range(num_layers)]
    elif architecture == "LlamaForCausalLM":
        window = None
    return layer_windows(r, num_layers, window)


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    num_layers = r.pos_int("num_hidden_layers")
    mlp = MLPSpec(
        intermediate_size=r.pos_int("intermediate_size"),
        activation=gated_activation(r),
        bias=r.flag("mlp_bias", False),
    )
    qkv_bias = architecture == "Qwen2ForCausalLM" or r.flag("attention_bias", False)
    layers = [
        LayerSpec(
            mixer=gqa_attention(
                r,
                sliding_window=window,
                qkv_bias=qkv_bias,
                out_bias=r.flag("attention_bias", False),
                qk_norm=architecture == "Qwen3ForCausalLM",
            ),
            ffn=mlp,
        )
        for window in attention_windows(r, architecture, num_layers)
    ]
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=False)
