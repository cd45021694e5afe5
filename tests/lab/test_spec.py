"""A lab model described as a ModelSpec: same layer order, same parameter count as the torch model."""

from __future__ import annotations

import pytest

from coscale.lab.config import PRESETS, LabModelConfig
from coscale.lab.model import LabLM, count_parameters
from coscale.lab.spec import to_model_spec
from coscale.models.params import count_params

KIND = {"M": "mamba2", "*": "attention", "-": "mlp", "E": "moe"}


@pytest.mark.parametrize("name", ["ci", "default"])
def test_spec_matches_torch_model(name):
    cfg = PRESETS[name]().model
    spec = to_model_spec(cfg, name=name)
    assert [layer.kind for layer in spec.layers] == [KIND[c] for c in cfg.pattern]
    assert count_params(spec).total == count_parameters(LabLM(cfg))


@pytest.mark.parametrize("activation", ["swiglu", "relu2"])
def test_spec_param_count_with_groups_and_swiglu(activation):
    cfg = LabModelConfig(
        pattern="ME*-", d_model=64, mlp_activation=activation, mamba_groups=2, head_dim=16, mamba_head_dim=16
    )
    assert count_params(to_model_spec(cfg)).total == count_parameters(LabLM(cfg))


def test_lab_models_resolve_by_id_for_describe_and_predict():
    from coscale.resolve import resolve_model

    spec = resolve_model("lab:default")
    assert count_params(spec).total == count_parameters(LabLM(PRESETS["default"]().model))
