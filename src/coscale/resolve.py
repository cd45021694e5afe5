"""Model ids the CLI accepts, resolved above both `coscale.models` and `coscale.lab`.

Preset ids, config.json paths and directories go to `coscale.models.registry.load_model`;
`lab:<preset>` is a model of the training lab (`coscale lab describe`), costed like any other.
The models package does not know about the lab; this module joins them.
"""

from __future__ import annotations

from coscale.models.registry import load_model
from coscale.specs.model import ModelSpec

LAB_PREFIX = "lab:"


def resolve_model(id_or_path: str) -> ModelSpec:
    """A ModelSpec from a preset id, a config.json path, a directory holding one, or `lab:<preset>`."""
    if id_or_path.startswith(LAB_PREFIX):
        from coscale.lab.config import get_preset  # imported on demand: the lab is not needed otherwise
        from coscale.lab.spec import to_model_spec

        name = id_or_path[len(LAB_PREFIX):]
        return to_model_spec(get_preset(name).model, name=f"lab-{name}")
    return load_model(id_or_path)
