"""Lab model and training hyper-parameters as frozen values, and the flat preset registry.

A lab model is a Nemotron-H style hybrid described by a layer-pattern string: each character is one
pre-norm residual block (`M` Mamba-2, `*` attention, `-` dense MLP, `E` MoE). Keeping the pattern as
the single source of layer order lets `to_model_spec` describe the very same model to the predictor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from coscale.errors import CoscaleError

LAYER_KINDS = {"M": "mamba2", "*": "attention", "-": "mlp", "E": "moe"}


@dataclass(frozen=True, kw_only=True, slots=True)
class LabModelConfig:
    """Sizes of a small hybrid decoder LM (all widths in elements)."""

    pattern: str  # e.g. "M*-E": one character per block
    d_model: int
    vocab_size: int = 256  # byte-level tokens by default
    n_heads: int = 4
    n_kv_heads: int = 2  # GQA: n_heads must be a multiple
    head_dim: int = 32
    rope_theta: float = 10_000.0
    mlp_hidden: int = 256
    mlp_activation: Literal["swiglu", "relu2"] = "relu2"
    n_experts: int = 4
    top_k: int = 2
    expert_hidden: int = 128
    moe_aux_coef: float = 0.01  # Switch-Transformer load-balancing loss weight
    mamba_expand: int = 2
    mamba_head_dim: int = 32
    mamba_d_state: int = 16
    mamba_groups: int = 1
    mamba_conv: int = 4
    mamba_chunk: int = 32

    def __post_init__(self) -> None:
        bad = sorted({c for c in self.pattern} - set(LAYER_KINDS))
        if not self.pattern or bad:
            raise CoscaleError(
                f"layer pattern {self.pattern!r} has unknown kinds {bad}; use only M (Mamba-2), "
                "* (attention), - (MLP), E (MoE)"
            )
        if self.n_heads % self.n_kv_heads:
            raise CoscaleError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}")
        if self.top_k > self.n_experts:
            raise CoscaleError(f"top_k={self.top_k} exceeds n_experts={self.n_experts}")
        if (self.mamba_expand * self.d_model) % self.mamba_head_dim:
            raise CoscaleError("mamba_expand * d_model must be a multiple of mamba_head_dim")

    @property
    def mamba_d_inner(self) -> int:
        return self.mamba_expand * self.d_model

    @property
    def mamba_heads(self) -> int:
        return self.mamba_d_inner // self.mamba_head_dim


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig:
    """Optimisation and data budget of one run. Master weights and AdamW state are FP32."""

    steps: int
    batch_size: int
    seq_len: int
    lr: float = 3e-3
    # cosine decay floor, as a share of `lr`: 0, so the last updates are near zero and the final weights
    # are not the arbitrary point of a still-fluctuating trajectory that a 10 % floor leaves (measured by
    # benchmarks/lab_gap_spread.py). Source: Llama 3 (arXiv 2407.21783, sec. 3.4) decays by cosine to
    # 1 % of the peak, then anneals the learning rate linearly to 0 over the final 40M tokens.
    min_lr_ratio: float = 0.0
    warmup_steps: int = 20
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 25
    eval_batches: int = 8
    compare_val_batches: int = 16  # the larger validation set `lab compare` scores the final models on
    checkpoint_every: int = 50
    data_bytes: int = 2_000_000  # bytes of stdlib source read for the corpus
    val_fraction: float = 0.1
    threads: int = 2
    device: Literal["cpu", "cuda", "auto"] = "cpu"

    def __post_init__(self) -> None:
        if self.steps <= 0 or self.batch_size <= 0 or self.seq_len <= 0:
            raise CoscaleError("steps, batch_size and seq_len must be positive; pass e.g. --steps 100")


@dataclass(frozen=True, kw_only=True, slots=True)
class Preset:
    name: str
    description: str
    model: LabModelConfig
    train: TrainConfig


def _ci() -> Preset:
    # ends in a small MLP block, so nvfp4's BF16-kept last block is ~11 % of the parameters (the
    # published recipe keeps ~15 % of the linear layers in BF16), not the MoE's 38 % it was
    model = LabModelConfig(pattern="M*E-M-", d_model=128, mlp_hidden=256, expert_hidden=128, mamba_chunk=32)
    train = TrainConfig(
        steps=60,
        batch_size=8,
        seq_len=128,
        lr=3e-3,
        warmup_steps=10,
        eval_every=20,
        eval_batches=4,
        compare_val_batches=24,
        checkpoint_every=30,
        data_bytes=1_000_000,
    )
    return Preset(
        name="ci", description="6 tiny blocks, 60 steps: a smoke test of every recipe", model=model, train=train
    )


def _default() -> Preset:
    model = LabModelConfig(
        pattern="M-M*-ME-", d_model=128, mlp_hidden=384, expert_hidden=128, n_experts=4, top_k=2, mamba_chunk=32
    )
    train = TrainConfig(
        steps=300,
        batch_size=8,
        seq_len=256,
        lr=3e-3,
        warmup_steps=30,
        eval_every=50,
        eval_batches=8,
        compare_val_batches=24,
        checkpoint_every=50,
        data_bytes=8_000_000,
    )
    return Preset(
        name="default", description="8 hybrid blocks, 300 steps: a few CPU minutes per recipe", model=model, train=train
    )


def _gpu() -> Preset:
    model = LabModelConfig(
        pattern="M-M*-ME-M-M*-ME-",
        d_model=512,
        n_heads=8,
        n_kv_heads=2,
        head_dim=64,
        mlp_hidden=1536,
        expert_hidden=512,
        n_experts=8,
        top_k=2,
        mamba_head_dim=64,
        mamba_d_state=64,
        mamba_chunk=64,
    )
    train = TrainConfig(
        steps=1500,
        batch_size=32,
        seq_len=512,
        lr=2e-3,
        warmup_steps=100,
        eval_every=100,
        eval_batches=32,
        compare_val_batches=32,
        checkpoint_every=250,
        data_bytes=40_000_000,
        device="auto",
        threads=8,
    )
    return Preset(name="gpu", description="16 blocks, d=512: sized for one GPU", model=model, train=train)


PRESETS = {"ci": _ci, "default": _default, "gpu": _gpu}


def get_preset(name: str, *, steps: int | None = None) -> Preset:
    """Look a preset up by name; `steps` overrides the run length (warm-up and cadences scale down)."""
    if name not in PRESETS:
        raise CoscaleError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    preset = PRESETS[name]()
    if steps is None:
        return preset
    if steps <= 0:
        raise CoscaleError(f"--steps must be positive, got {steps}")
    t = preset.train
    train = replace(
        t,
        steps=steps,
        warmup_steps=min(t.warmup_steps, max(1, steps // 5)),
        eval_every=min(t.eval_every, steps),
        checkpoint_every=min(t.checkpoint_every, steps),
    )
    return replace(preset, train=train)
