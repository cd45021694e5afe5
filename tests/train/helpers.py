"""Shared builders for the training-planner tests."""

from __future__ import annotations

from coscale.hardware.catalog import load_hardware
from coscale.models.loader import parse_config
from coscale.specs.hardware import System
from coscale.specs.model import ModelSpec
from coscale.train.context import TrainingContext
from coscale.train.layout import TrainOptions
from coscale.train.precision import get_training_precision


def gpt(h: int, layers: int, heads: int, vocab: int = 51200, seq: int = 2048) -> ModelSpec:
    """A Megatron-paper GPT: LayerNorm, GELU 4h MLP, learned positions, tied embeddings."""
    return parse_config({"architectures": ["GPT2LMHeadModel"], "n_embd": h, "n_layer": layers, "n_head": heads,
                         "vocab_size": vocab, "n_positions": seq, "activation_function": "gelu_new",
                         "tie_word_embeddings": True}, name=f"gpt-{h}", where="test")


def context(model: ModelSpec, hardware: str = "h100-sxm", gpus: int = 8, precision: str = "bf16",
            options: TrainOptions | None = None) -> TrainingContext:
    return TrainingContext(model=model, system=System(hardware=load_hardware(hardware), num_gpus=gpus),
                           precision=get_training_precision(precision), options=options or TrainOptions())
