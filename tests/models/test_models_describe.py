"""`describe` / `list_models` output, and loading the same config from a preset, a file or a directory."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from coscale.cli.describe_cmd import describe, list_models
from coscale.models import list_presets, load_model
from coscale.report.models import model_to_dict

PRESET_DIR = Path(__file__).parents[2] / "src" / "coscale" / "models" / "presets"


@pytest.mark.parametrize("pid", ["llama-3.1-8b", "gpt-oss-20b", "nemotron-3-nano-30b-a3b", "mamba2-2.7b"])
def test_path_and_directory_load_like_the_preset(tmp_path: Path, pid: str) -> None:
    shutil.copy(PRESET_DIR / f"{pid}.json", tmp_path / "config.json")
    from_dir = load_model(str(tmp_path))
    from_file = load_model(str(tmp_path / "config.json"))
    preset = load_model(pid)
    assert from_dir == from_file
    assert replace(from_dir, name="", source="") == replace(preset, name="", source="")


def test_describe_json_is_one_object_with_required_keys(capsys: pytest.CaptureFixture[str]) -> None:
    describe("deepseek-v3", ["bf16", "fp8", "mxfp4", "nvfp4"], True)
    data = json.loads(capsys.readouterr().out)
    for key in (
        "model",
        "architecture",
        "layers",
        "params_total",
        "params_active",
        "kv_bytes_per_token",
        "ssm_state_bytes_per_sequence",
        "max_position_embeddings",
    ):
        assert key in data
    assert data["layers"] == {"mla+mlp": 3, "mla+moe": 58}
    kv = data["kv_bytes_per_token"]
    assert kv["bf16"] == 70272 and kv["fp8"] == 35136
    assert kv["mxfp4"] == pytest.approx(35136 * (0.5 + 1 / 32))  # 4 bits + one E8M0 byte per 32
    assert kv["nvfp4"] == pytest.approx(35136 * (0.5 + 1 / 16))  # 4 bits + one E4M3 byte per 16
    assert data["ssm_state_bytes_per_sequence"]["bf16"] == 0
    assert data["published"]["params_total"] == pytest.approx(data["params_total"], rel=0.01)


def test_describe_hybrid_reports_state(capsys: pytest.CaptureFixture[str]) -> None:
    data = model_to_dict("nemotron-h-8b", load_model("nemotron-h-8b"), ["bf16"])
    assert data["ssm_state_bytes_per_sequence"] == {"bf16": 51806208}
    assert data["layers"] == {"mamba2": 24, "mlp": 24, "attention": 4}
    assert data["kv_bytes_per_sequence_at_max_context"] == {"bf16": 16384 * 8192}


@pytest.mark.parametrize("pid", sorted(["llama-3.1-8b", "gpt-oss-120b", "jamba-1.5-mini", "gpt3-175b"]))
def test_describe_table_prints(capsys: pytest.CaptureFixture[str], pid: str) -> None:
    describe(pid, [], False)
    out = capsys.readouterr().out
    assert "params total" in out and "KV bytes / token" in out


def test_list_models(capsys: pytest.CaptureFixture[str]) -> None:
    list_models(True)
    rows = json.loads(capsys.readouterr().out)["models"]
    assert [r["id"] for r in rows] == list_presets()
    oss = next(r for r in rows if r["id"] == "gpt-oss-20b")
    assert oss["params_active_published_convention"] < oss["params_active"]
    list_models(False)
    assert "deepseek-v3" in capsys.readouterr().out
