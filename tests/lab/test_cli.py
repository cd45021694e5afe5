"""`coscale lab` end to end in a subprocess: JSON output, and bad input -> one line, exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coscale.cli.app import main

CMD = [sys.executable, "-c", "from coscale.cli.app import main; main()", "lab"]


@pytest.fixture
def run(capsys, monkeypatch):
    """Run `coscale lab ...` in-process through the real entry point (exit code, stdout, stderr)."""

    def invoke(*args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", ["coscale", "lab", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return invoke


def test_train_json_and_resume(run, tmp_path):
    out = tmp_path / "run"
    first = run("train", "--preset", "ci", "--steps", "2", "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    record = json.loads(first.stdout)
    assert record["steps"] == 2 and record["recipe"] == "bf16" and record["val_loss"] > 0
    again = run("train", "--preset", "ci", "--steps", "2", "--out", str(out), "--json")
    assert json.loads(again.stdout)["resumed_from"] == 2
    longer = run("train", "--preset", "ci", "--steps", "3", "--out", str(out), "--json")
    assert longer.returncode == 2 and "resume with --steps 2" in longer.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "--preset", "huge"), "unknown preset"),
        (("train", "--recipe", "fp3"), "unknown recipe"),
        (("compare", "--recipes", "bf16,nope"), "unknown recipe"),
        (("train", "--steps", "0"), "--steps must be positive"),
        (("train", "--data", "/nonexistent/dir"), "does not exist"),
    ],
)
def test_bad_input_is_exit_2_without_traceback(run, args, message, tmp_path):
    result = run(*args, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_empty_data_dir_and_corrupt_checkpoint(run, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "too little text" in result.stderr
    out = tmp_path / "bad"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x00garbage")
    result = run("train", "--steps", "2", "--out", str(out))
    assert result.returncode == 2 and "corrupt" in result.stderr and "Traceback" not in result.stderr
    assert (out / "checkpoint.pt").read_bytes() == b"\x00garbage"


def test_recipes_and_describe_json(run):
    recipes = json.loads(run("recipes", "--json").stdout)["recipes"]
    assert {"bf16", "fp8-tensor", "fp8-delayed", "fp8-block", "mxfp8", "nvfp4"} <= {r["name"] for r in recipes}
    described = json.loads(run("describe", "--preset", "default", "--json").stdout)
    assert described["layers"][0] == "mamba2" and described["parameters"] > 0


@pytest.mark.slow
def test_compare_ci_end_to_end(tmp_path):
    result = subprocess.run(
        [*CMD, "compare", "--preset", "ci", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout)
    names = [r["recipe"] for r in record["runs"]]
    assert names[0] == "bf16" and {"fp8-tensor", "fp8-delayed", "fp8-block", "mxfp8", "nvfp4"} <= set(names)
    assert record["runs"][0]["gap_pct"] == 0.0
    for r in record["runs"]:
        assert r["diverged"] or (r["val_loss"] > 0 and r["tokens_per_s"] > 0 and r["state_bytes"]["optimizer"] > 0)
    assert {q["scheme"] for q in record["ptq"]} >= {
        "int8_channel",
        "int4_group128",
        "fp8_e4m3_tensor",
        "mxfp4",
        "nvfp4",
        "gptq_int4_group128",
    }
    assert all(q["val_loss"] > 0 for q in record["ptq"])
    assert (tmp_path / "loss_curves.png").stat().st_size > 10_000
    assert "plotly" in (tmp_path / "loss_curves.html").read_text()[:200_000].lower()
