"""Bad input: one line naming the problem and the fix, exit code 2, and no file (partial or not) left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.errors import CoscaleError
from coscale.report.html.scenario import load_scenario, parse_scenario
from coscale.report.html.write import write_atomic

BASE = 'models = ["qwen3-30b-a3b"]\nhardware = ["h100-sxm"]\nprecisions = ["fp8"]\ninput_len = 512\noutput_len = 128\n'


@pytest.mark.parametrize("text, message", [
    (BASE + "modles = 1\n", "did you mean 'models'"),
    (BASE + "[slo]\nttft = 1.0\n", "did you mean 'ttft_s'"),
    (BASE.replace("input_len = 512", 'input_len = "long"'), "input_len as a positive integer"),
    (BASE.replace('precisions = ["fp8"]', 'precisions = "fp8"'), "precisions as a non-empty list"),
    (BASE.replace('models = ["qwen3-30b-a3b"]\n', ""), "scenario has no models"),
    (BASE.replace("qwen3-30b-a3b", "qwen3-30b-a3"), "qwen3-30b-a3"),
    (BASE.replace("h100-sxm", "h100-sx"), "h100-sx"),
    (BASE + "concurrency = 0\n", "concurrency as a positive integer"),
    (BASE + "concurrency = 8\nbatch = 8\n", "give only one"),
    (BASE + "concurrency = 1000000000\n", "above max_batch 256"),
    (BASE + "concurrency = 300\nmax_batch = 299\n", "raise max_batch"),
    (BASE + "[answers]\nshort = -3\n", "short as a positive integer"),
    ("models = [", "not valid TOML"),
    (BASE + '[serve]\nlength_dist = "azure-con"\n', "did you mean 'azure-conv'"),
    (BASE + "[serve]\nenabled = 1\n", "enabled as true/false"),
    (BASE.replace('["fp8"]', '["fp8", "bf16", "fp8"]'), "lists 'fp8' twice in precisions; list each once"),
    (BASE.replace('["fp8"]', '["fp8", "fp8-tensor"]'), "lists 'fp8' and 'fp8-tensor' (the same one) in precisions"),
    (BASE.replace('["h100-sxm"]', '["h100-sxm", "h100-sxm"]'), "lists 'h100-sxm' twice in hardware"),
])
def test_malformed_scenarios_raise_one_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(CoscaleError) as err:
        load_scenario(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_scenario_file(tmp_path: Path):
    with pytest.raises(CoscaleError, match="does not exist"):
        load_scenario(tmp_path / "nope.toml")


def _invoke(args: list[str]):
    return CliRunner().invoke(app, ["report", *args])


def test_nothing_fits_leaves_no_file(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text('models = ["llama-3.1-405b"]\nhardware = ["l4", "h100-sxm"]\nprecisions = ["bf16"]\n')
    out = tmp_path / "r.html"
    r = _invoke(["--scenario", str(path), "--out", str(out)])
    assert isinstance(r.exception, CoscaleError)
    assert "nothing in scenario" in str(r.exception) and "\n" not in str(r.exception)
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("out", ["missing-dir/r.html", "afile/r.html", "."])
def test_unwritable_output(tmp_path: Path, out: str):
    (tmp_path / "afile").write_text("x")
    before = sorted(tmp_path.iterdir())
    with pytest.raises(CoscaleError, match="--out"):
        write_atomic(tmp_path / out if out != "." else tmp_path, "<html></html>")
    assert sorted(tmp_path.iterdir()) == before


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch):
    out = tmp_path / "r.html"
    out.write_text("old")

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(CoscaleError, match="could not write"):
        write_atomic(out, "new")
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_parse_scenario_defaults():
    sc = parse_scenario({"models": ["llama-3.1-8b"]})
    assert sc.hardware == ("h100-sxm",) and sc.batch is None and sc.slo.ttft_s > 0


def test_cli_exit_code_2_one_line(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text(BASE + "modles = 1\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    r = subprocess.run([sys.executable, "-m", "coscale", "report", "--scenario", str(path), "--out",
                        str(tmp_path / "r.html")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "did you mean 'models'" in r.stderr
    assert not (tmp_path / "r.html").exists()


def test_readme_scenario_example_parses():
    import re
    import tomllib

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.search(r"```toml\n(title = \"my comparison\".*?)```", readme, re.S).group(1)
    sc = parse_scenario(tomllib.loads(block))
    assert sc.models == ("qwen3-30b-a3b", "llama-3.1-8b") and sc.answers == (("short", 300),)
    assert sc.length_dist == "azure-conv" and sc.serve
