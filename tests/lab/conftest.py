"""Shared fixtures: a tiny preset and a small stdlib corpus, so the default lab tests stay fast."""

from __future__ import annotations

import dataclasses

import pytest

from coscale.lab.config import LabModelConfig, Preset, TrainConfig
from coscale.lab.data import load_corpus


@pytest.fixture(scope="session")
def tiny_preset() -> Preset:
    model = LabModelConfig(
        pattern="M*-E",
        d_model=64,
        n_heads=4,
        n_kv_heads=2,
        head_dim=16,
        mlp_hidden=128,
        expert_hidden=64,
        n_experts=4,
        top_k=2,
        mamba_head_dim=16,
        mamba_d_state=8,
        mamba_chunk=16,
    )
    train = TrainConfig(
        steps=8,
        batch_size=4,
        seq_len=64,
        lr=3e-3,
        warmup_steps=2,
        eval_every=4,
        eval_batches=2,
        checkpoint_every=4,
        data_bytes=200_000,
    )
    return Preset(name="tiny", description="test preset", model=model, train=train)


@pytest.fixture(scope="session")
def corpus(tiny_preset):
    return load_corpus(data_dir=None, max_bytes=tiny_preset.train.data_bytes, val_fraction=0.1)


def with_steps(preset: Preset, steps: int) -> Preset:
    return dataclasses.replace(preset, train=dataclasses.replace(preset.train, steps=steps))
