"""Weight bytes per GPU and the KV share, worked by hand for Llama-3.1-8B from its config.json
(hidden 4096, 32 layers, 32 query / 8 KV heads of 128, FFN 14336 SwiGLU, vocabulary 128256, untied
embeddings): per layer 4096 x (4096 + 2 x 1024 + 4096) attention + 3 x 4096 x 14336 MLP weights, plus
the input embedding and the LM head (kept 16-bit); norms are too small to count."""

from __future__ import annotations

import pytest

from coscale.cost.inference_memory import kv_share_per_gpu, weight_bytes_per_gpu
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.precision import get_precision

MODEL = load_model("llama-3.1-8b")
LINEAR = 32 * (4096 * (4096 + 2 * 1024 + 4096) + 3 * 4096 * 14336)  # 6,979,321,856
EMBED = 2 * 128256 * 4096  # input embedding + LM head: 1,050,673,152


@pytest.mark.parametrize(("precision", "linear_bytes"), [
    ("bf16", 2.0),
    ("fp8", 1.0),
    ("int4-weight-only", 0.5 + 2 / 128),  # 4 bits + one 16-bit scale per group of 128 (AWQ / GPTQ)
])
@pytest.mark.parametrize("tp", [1, 2, 8])
def test_weight_bytes(precision: str, linear_bytes: float, tp: int) -> None:
    want = (LINEAR * linear_bytes + EMBED * 2) / tp
    assert weight_bytes_per_gpu(MODEL, Parallelism(gpus=tp, tp=tp), get_precision(precision)) == pytest.approx(want)


def test_weight_bytes_of_the_fullest_pipeline_stage() -> None:
    """PP 2: 16 layers each; the first stage holds the embedding, the last the LM head (equal here)."""
    want = LINEAR / 2 * 2 + EMBED / 2 * 2
    assert weight_bytes_per_gpu(MODEL, Parallelism(gpus=2, pp=2), get_precision("bf16")) == pytest.approx(want)


@pytest.mark.parametrize(("tp", "share"), [(1, 1.0), (2, 0.5), (8, 0.125), (16, 0.125)])
def test_kv_heads_split_over_tp_until_each_gpu_holds_one(tp: int, share: float) -> None:
    assert kv_share_per_gpu(MODEL, tp) == share  # 8 KV heads: beyond TP 8 they are replicated
