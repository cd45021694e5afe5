"""Slow, obviously correct reference: build the model's modules in torch (on the meta device, so
nothing is allocated) exactly as the HF/mamba_ssm code lays them out, and sum `numel()`."""

from __future__ import annotations

import torch
from torch import nn


def _attention(h: int, heads: int, kv: int, hd: int, *, qkv_bias: bool, qk_norm: bool) -> list[nn.Module]:
    mods: list[nn.Module] = [
        nn.Linear(h, heads * hd, bias=qkv_bias),
        nn.Linear(h, kv * hd, bias=qkv_bias),
        nn.Linear(h, kv * hd, bias=qkv_bias),
        nn.Linear(heads * hd, h, bias=False),
    ]
    if qk_norm:
        mods += [nn.RMSNorm(hd), nn.RMSNorm(hd)]
    return mods


def _swiglu(h: int, width: int) -> list[nn.Module]:
    return [nn.Linear(h, width, bias=False), nn.Linear(h, width, bias=False), nn.Linear(width, h, bias=False)]


def llama_like(cfg: dict) -> int:
    """Llama / Qwen2 / Qwen3 / Mixtral layouts."""
    h, n, v = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // heads
    arch = cfg["architectures"][0]
    with torch.device("meta"):
        mods: list[nn.Module] = [nn.Embedding(v, h), nn.RMSNorm(h)]
        if not cfg.get("tie_word_embeddings", False):
            mods.append(nn.Linear(h, v, bias=False))
        for _ in range(n):
            mods += [nn.RMSNorm(h), nn.RMSNorm(h)]
            mods += _attention(
                h, heads, kv, hd, qkv_bias=arch == "Qwen2ForCausalLM", qk_norm=arch == "Qwen3ForCausalLM"
            )
            if arch == "MixtralForCausalLM":
                mods.append(nn.Linear(h, cfg["num_local_experts"], bias=False))
                for _ in range(cfg["num_local_experts"]):
                    mods += _swiglu(h, cfg["intermediate_size"])
            else:
                mods += _swiglu(h, cfg["intermediate_size"])
        return sum(p.numel() for m in mods for p in m.parameters())


def gpt2(cfg: dict) -> int:
    h, v = cfg["n_embd"], cfg["vocab_size"]
    width = cfg.get("n_inner") or 4 * h
    with torch.device("meta"):
        mods: list[nn.Module] = [nn.Embedding(v, h), nn.Embedding(cfg["n_positions"], h), nn.LayerNorm(h)]
        for _ in range(cfg["n_layer"]):
            mods += [nn.LayerNorm(h), nn.Linear(h, 3 * h), nn.Linear(h, h), nn.LayerNorm(h)]
            mods += [nn.Linear(h, width), nn.Linear(width, h)]
        return sum(p.numel() for m in mods for p in m.parameters())


class _Mamba2(nn.Module):
    """The parameter layout of mamba_ssm's Mamba2 (and HF NemotronH's mixer)."""

    def __init__(self, h: int, d_inner: int, heads: int, groups: int, d_state: int, d_conv: int) -> None:
        super().__init__()
        conv_dim = d_inner + 2 * groups * d_state
        self.in_proj = nn.Linear(h, 2 * d_inner + 2 * groups * d_state + heads, bias=False)
        self.conv1d = nn.Conv1d(conv_dim, conv_dim, d_conv, groups=conv_dim, bias=True)
        self.dt_bias = nn.Parameter(torch.empty(heads))
        self.A_log = nn.Parameter(torch.empty(heads))
        self.D = nn.Parameter(torch.empty(heads))
        self.norm = nn.RMSNorm(d_inner)
        self.out_proj = nn.Linear(d_inner, h, bias=False)


def mamba2_ssm(cfg: dict, d_state: int = 128, headdim: int = 64, groups: int = 1) -> int:
    h = cfg["d_model"]
    mult = cfg.get("pad_vocab_size_multiple", 1)
    vocab = -(-cfg["vocab_size"] // mult) * mult
    with torch.device("meta"):
        mods: list[nn.Module] = [nn.Embedding(vocab, h), nn.RMSNorm(h)]
        for _ in range(cfg["n_layer"]):
            mods += [nn.RMSNorm(h), _Mamba2(h, 2 * h, 2 * h // headdim, groups, d_state, 4)]
        return sum(p.numel() for m in mods for p in m.parameters())
