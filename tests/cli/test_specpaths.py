"""A relative path inside a spec file is read beside that file, from any working folder; ids stay ids."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import coscale.models
import coscale.serve.system
from coscale.cli.serve_options import read_scenario as read_serve_scenario
from coscale.models.registry import load_model
from coscale.report.html.scenario import load_scenario as load_report_scenario
from coscale.serve.system.reader import read_scenario as read_system_scenario
from coscale.serve.traces import shipped_trace
from coscale.specpaths import beside

PRESETS = Path(coscale.models.__file__).parent / "presets"
MOONCAKE = "mooncake_fast25_conversation_head3600.jsonl"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec folder with a trace and a model config in it; the tests run from a different folder."""
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(shipped_trace(MOONCAKE), specs / "chat.jsonl")
    shutil.copy(PRESETS / "bge-large-en-v1.5.json", specs / "embedder.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return specs


def test_beside_resolves_only_relative_paths_that_exist_there(project: Path) -> None:
    spec = project / "s.json"
    assert beside("chat.jsonl", spec) == str(project / "chat.jsonl")
    assert beside("llama-3.1-8b", spec) == "llama-3.1-8b"  # an id: no such file beside the spec
    absolute = str(project.parent / "x.csv")
    assert beside(absolute, spec) == absolute
    assert beside("missing.csv", spec) == "missing.csv"  # left for the reader to report (or found from the CWD)


def test_a_serve_scenario_reads_its_trace_and_model_beside_it(project: Path) -> None:
    f = project / "s.json"
    f.write_text(json.dumps({"trace": "chat.jsonl", "model": "llama-3.1-8b", "prefill": {"hardware": "h100-sxm"}}))
    data = read_serve_scenario(str(f))
    assert data["trace"] == str(project / "chat.jsonl") and data["model"] == "llama-3.1-8b"
    assert data["prefill"] == {"hardware": "h100-sxm"}
    f.write_text(json.dumps({"trace": "chat.jsonl"}))
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--scenario", str(f), "--num-requests",
                        "5", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["completed"] == 5


def test_a_system_scenario_reads_a_model_config_beside_it(project: Path) -> None:
    agent = Path(coscale.serve.system.__file__).parent / "scenarios" / "agent.toml"
    text = agent.read_text().replace('model = "llama-3.1-8b"', 'model = "embedder.json"')
    (project / "agent.toml").write_text(text)
    sc = read_system_scenario(project / "agent.toml")
    assert sc.pools[0].model == str(project / "embedder.json") and sc.pools[0].hardware == "h100-sxm"
    assert load_model(sc.pools[0].model).name


def test_a_report_scenario_reads_models_beside_it(project: Path) -> None:
    (project / "r.toml").write_text('models = ["embedder.json", "qwen3-30b-a3b"]\nhardware = ["h100-sxm"]\n')
    sc = load_report_scenario(project / "r.toml")
    assert sc.models == (str(project / "embedder.json"), "qwen3-30b-a3b") and sc.hardware == ("h100-sxm",)
