"""Pure state-space LMs: mamba_ssm's `MambaLMHeadModel` config and HF `Mamba2ForCausalLM`/`MambaForCausalLM`.

The state-spaces checkpoints (e.g. state-spaces/mamba2-2.7b) ship a mamba_ssm config that has no
`architectures` key: `d_model`, `n_layer`, `vocab_size`, `ssm_cfg` ({"layer": "Mamba2"} or Mamba-1
by default), `d_intermediate` (0: no MLP) and `pad_vocab_size_multiple`. The loader recognises it
by those keys and names it `MambaLMHeadModel`. mamba_ssm pads the embedding to a multiple of
`pad_vocab_size_multiple`, so the counted table is the padded one (50277 -> 50288 for Mamba-2).
Mamba-2 defaults follow mamba_ssm's Mamba2 module (d_state 128, d_conv 4, expand 2, headdim 64,
ngroups 1, chunk 256); Mamba-1 defaults follow its Mamba module (d_state 16, dt_rank ceil(d/16)).
"""

from __future__ import annotations

import math
from dataclasses import replace

from coscale.errors import CoscaleError
from coscale.models.config_io import ConfigReader
from coscale.models.families.common import build_model
from coscale.specs.model import LayerSpec, Mamba2Spec, MLPSpec, ModelSpec

MAMBA_SSM = "MambaLMHeadModel"
ARCHITECTURES = (MAMBA_SSM, "Mamba2ForCausalLM", "MambaForCausalLM")


def looks_like_mamba_ssm(data: dict) -> bool:
    """mamba_ssm configs carry `d_model` + `n_layer` + `ssm_cfg` and no `architectures`."""
    return "architectures" not in data and {"d_model", "n_layer"} <= data.keys()


def mamba1(
    d_model: int,
    *,
    d_state: int,
    d_conv: int,
    expand: int,
    dt_rank: int | str | None,
    bias: bool,
    conv_bias: bool,
    where: str,
) -> Mamba2Spec:
    """A Mamba-1 selective-scan mixer; `dt_rank` 'auto' or None means ceil(d_model / 16)."""
    if dt_rank in (None, "auto"):
        rank = math.ceil(d_model / 16)
    elif isinstance(dt_rank, int) and not isinstance(dt_rank, bool) and dt_rank > 0:
        rank = dt_rank
    else:
        raise CoscaleError(f"{where}: dt_rank must be a positive integer or 'auto', got {dt_rank!r}")
    d_inner = expand * d_model
    return Mamba2Spec(
        d_inner=d_inner,
        d_state=d_state,
        num_heads=d_inner,
        head_dim=1,
        n_groups=1,
        conv_kernel=d_conv,
        version=1,
        dt_rank=rank,
        bias=bias,
        conv_bias=conv_bias,
    )


def _mamba2(r: ConfigReader, d_model: int) -> Mamba2Spec:
    """Mamba-2 mixer from mamba_ssm (`headdim`, `ngroups`, `d_conv`) or HF (`head_dim`, ...) spellings."""
    expand = r.pos_int("expand", default=2)
    head_dim = r.pos_int("headdim", "head_dim", default=64)
    d_inner = expand * d_model
    heads = r.pos_int("num_heads", default=r.divide(d_inner, head_dim, "d_inner / headdim"))
    if heads * head_dim != d_inner:
        raise CoscaleError(f"{r.where}: num_heads*head_dim={heads * head_dim} != expand*hidden_size={d_inner}")
    return Mamba2Spec(
        d_inner=d_inner,
        d_state=r.pos_int("d_state", "state_size", default=128),
        num_heads=heads,
        head_dim=head_dim,
        n_groups=r.pos_int("ngroups", "n_groups", default=1),
        conv_kernel=r.pos_int("d_conv", "conv_kernel", default=4),
        chunk_size=r.pos_int("chunk_size", default=256),
        bias=r.flag("bias", r.flag("use_bias", False)),
        conv_bias=r.flag("conv_bias", r.flag("use_conv_bias", True)),
    )


def _parse_mamba_ssm(r: ConfigReader, name: str) -> ModelSpec:
    d_model = r.pos_int("d_model")
    n_layer = r.pos_int("n_layer")
    if r.int_list("attn_layer_idx"):
        raise CoscaleError(f"{r.where}: mamba_ssm hybrid attention layers (attn_layer_idx) are not supported yet")
    ssm = r.sub("ssm_cfg")
    kind = ssm.string("layer", default="Mamba1")
    if kind == "Mamba2":
        mixer = _mamba2(ssm, d_model)
    elif kind == "Mamba1":
        mixer = mamba1(
            d_model,
            d_state=ssm.pos_int("d_state", default=16),
            d_conv=ssm.pos_int("d_conv", default=4),
            expand=ssm.pos_int("expand", default=2),
            dt_rank=ssm.data.get("dt_rank"),
            bias=ssm.flag("bias", False),
            conv_bias=ssm.flag("conv_bias", True),
            where=ssm.where,
        )
    else:
        raise CoscaleError(f"{ssm.where}: layer={kind!r} is unknown; expected 'Mamba1' or 'Mamba2'")
    width = r.nonneg_int("d_intermediate", default=0)
    # with d_intermediate > 0 each mamba_ssm Block adds a norm + GatedMLP after the mixer
    mlp = MLPSpec(intermediate_size=width, activation="swiglu") if width else None
    layers = [LayerSpec(mixer=mixer, ffn=mlp)] * n_layer
    multiple = r.pos_int("pad_vocab_size_multiple", default=1)
    vocab = r.pos_int("vocab_size")
    padded = -(-vocab // multiple) * multiple
    note = f"embedding padded from {vocab} to {padded} rows (pad_vocab_size_multiple={multiple})"
    spec = build_model(
        r,
        name=name,
        architecture=MAMBA_SSM,
        layers=layers,
        tie_default=True,
        hidden_key="d_model",
        vocab_size=padded,
        notes=(note,) if padded != vocab else (),
    )
    # mamba_ssm spells the flag `tie_embeddings` (default true)
    return spec if r.has("tie_word_embeddings") else replace(spec, tie_word_embeddings=r.flag("tie_embeddings", True))


def parse(r: ConfigReader, name: str, architecture: str) -> ModelSpec:
    if architecture == MAMBA_SSM:
        return _parse_mamba_ssm(r, name)
    hidden = r.pos_int("hidden_size")
    if architecture == "Mamba2ForCausalLM":
        mixer = _mamba2(r, hidden)
        tie_default = False
    else:
        mixer = mamba1(
            hidden,
            d_state=r.pos_int("state_size", default=16),
            d_conv=r.pos_int("conv_kernel", default=4),
            expand=r.pos_int("expand", default=2),
            dt_rank=r.data.get("time_step_rank"),
            bias=r.flag("use_bias", False),
            conv_bias=r.flag("use_conv_bias", True),
            where=r.where,
        )
        tie_default = True
    layers = [LayerSpec(mixer=mixer, ffn=None)] * r.pos_int("num_hidden_layers")
    return build_model(r, name=name, architecture=architecture, layers=layers, tie_default=tie_default)
