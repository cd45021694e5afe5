"""`describe` sizes the Mamba state in the format the predictor keeps it in (the recipe's `ssm_state`,
BF16), not in each KV-cache format: the two commands agree on every hybrid preset."""

from __future__ import annotations

import pytest

from coscale.cost.inference_memory import ServingMemoryModel
from coscale.models.registry import load_model
from coscale.report.models import model_to_dict
from coscale.specs.execution import Parallelism
from coscale.specs.precision import get_precision

HYBRIDS = ["nemotron-h-8b", "jamba-1.5-mini"]
KV = ["bf16", "fp8", "nvfp4", "mxfp4"]


@pytest.mark.parametrize("pid", HYBRIDS)
def test_describe_state_is_what_predict_counts_for_every_kv_precision(pid: str) -> None:
    spec = load_model(pid)
    data = model_to_dict(pid, spec, KV)
    assert data["ssm_state_format"] == "bf16"
    (described,) = data["ssm_state_bytes_per_sequence"].values()  # one figure, not one per KV format
    assert described > 0
    for kv in KV:
        recipe = get_precision("fp8", kv)
        core = ServingMemoryModel.of(spec, Parallelism(gpus=1, tp=1, pp=1, ep=1), recipe, 80 * 2**30).ssm_per_seq
        assert core == described, kv
    assert set(data["kv_bytes_per_token"]) == set(KV)
    assert data["kv_bytes_per_token"]["nvfp4"] < data["kv_bytes_per_token"]["bf16"]  # the KV cache does shrink


def test_nemotron_h_state_is_bf16_bytes_of_its_elements() -> None:
    """Nemotron-H 8B: 24 Mamba-2 layers; conv (d_inner + 2 G N) (k - 1) + SSM H P N elements, 2 bytes each
    (config.json: hidden 4096, expand 2, 8 groups, state 128, 128 heads x 64, conv kernel 4)."""
    per_layer = (8192 + 2 * 8 * 128) * 3 + 128 * 64 * 128
    data = model_to_dict("nemotron-h-8b", load_model("nemotron-h-8b"), ["nvfp4"])
    assert data["ssm_state_bytes_per_sequence"] == {"bf16": 24 * per_layer * 2}
