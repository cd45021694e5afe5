"""Every `--json` output is exactly one strict JSON object on stdout (and nothing else)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.report.console import json_safe

TRAIN = ["--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "8", "--global-batch", "64",
         "--seq-len", "4096"]

COMMANDS = [
    ["describe", "--model", "deepseek-v3"],
    ["describe", "--model", "lab:default"],
    ["list", "models"],
    ["list", "hardware"],
    ["predict", "inference"],
    ["predict", "inference", "--model", "lab:gpu"],
    ["predict", "train", *TRAIN],
    ["plan", "train", *TRAIN, "--top", "2"],
    ["validate", "--no-serving"],  # the serving simulations' JSON: tests/serve/test_serve_validation.py (slow)
    ["numerics", "formats"],
    ["numerics", "schemes"],
    ["numerics", "error", "--scheme", "mxfp8_e4m3", "--n", "4096"],
    ["lab", "recipes"],
    ["lab", "describe", "--preset", "ci"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:3]))
def test_json_is_one_object(args: list[str]) -> None:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout.strip()
    assert "\n" not in out
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert isinstance(data, dict) and data


def test_non_finite_numbers_become_strings() -> None:
    data = json_safe({"a": [math.inf, 1.5, {"b": -math.inf}], "c": math.nan, "d": "x"})
    assert data == {"a": ["inf", 1.5, {"b": "-inf"}], "c": "nan", "d": "x"}
    json.dumps(data, allow_nan=False)
