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
        (("train", "--tokenizer", "bpe", "--vocab", "0"), "--vocab must exceed"),
    ],
)
def test_bad_input_is_exit_2_without_traceback(run, args, message, tmp_path):
    result = run(*args, "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()  # a refused run leaves no run folder behind


def test_empty_data_dir_and_corrupt_checkpoint(run, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "too little text" in result.stderr and not (tmp_path / "o").exists()
    (tmp_path / "kept").mkdir()  # a folder the user made stays, with what it holds
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    result = run("train", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "kept"))
    assert result.returncode == 2 and (tmp_path / "kept" / "notes.txt").read_text() == "mine"
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


def test_interrupted_train_exits_130_and_resumes(run, tmp_path, monkeypatch):
    from coscale.lab.interrupt import GracefulStop

    out = tmp_path / "run"
    monkeypatch.setattr(GracefulStop, "__call__", lambda self, step: step >= 2)  # Ctrl-C after step 2
    stopped = run("train", "--preset", "ci", "--steps", "4", "--out", str(out), "--json")
    assert stopped.returncode == 130 and "rerun the same command to resume" in stopped.stderr
    assert json.loads(stopped.stdout)["steps"] == 2
    monkeypatch.undo()
    resumed = run("train", "--preset", "ci", "--steps", "4", "--out", str(out), "--json")
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["resumed_from"] == 2


def test_interrupted_compare_exits_130(run, tmp_path, monkeypatch):
    from coscale.lab.interrupt import GracefulStop

    monkeypatch.setattr(GracefulStop, "__call__", lambda self, step: step >= 1)
    result = run("compare", "--preset", "ci", "--steps", "2", "--seeds", "1", "--recipes", "bf16",
                 "--out", str(tmp_path / "c"), "--json")
    assert result.returncode == 130 and "rerun the same command to resume" in result.stderr
    assert "expected duration" in result.stderr and "torch threads" in result.stderr


@pytest.mark.parametrize(("args", "message"), [(("--seeds", "0"), "--seeds must be"),
                                               (("--gpus", "3"), "multiple of 2"),
                                               (("--fp8-backend", "fast"), "--fp8-backend"),
                                               (("--hardware", "nochip"), "nochip")])
def test_bad_compare_options_are_exit_2(run, tmp_path, args, message):
    result = run("compare", "--preset", "ci", "--steps", "1", *args, "--out", str(tmp_path / "c"))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "message"), [(("--widths", "40,64"), "use a multiple of 64"),
                                               (("--widths", "64"), "at least two widths"),
                                               (("--seeds", "1"), "--seeds must be between 2"),
                                               (("--recipes", "bf16"), "at least one recipe besides bf16"),
                                               (("--recipes", "bf16,fp3"), "unknown recipe")])
def test_bad_scaling_options_are_exit_2(run, tmp_path, args, message):
    result = run("scaling", "--steps", "2", *args, "--out", str(tmp_path / "s"))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_scaling_cli_runs_a_small_grid(run, tmp_path):
    result = run("scaling", "--widths", "64,128", "--steps", "2", "--seeds", "2", "--recipes", "fp8-tensor",
                 "--out", str(tmp_path / "s"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "expected duration" in result.stderr
    record = json.loads(result.stdout)
    assert [p["width"] for p in record["points"]] == [64, 128] and record["trends"][0]["along"] == "width"
    assert json.loads((tmp_path / "s" / "scaling.json").read_text())["points"] == record["points"]


@pytest.mark.slow
def test_compare_ci_end_to_end(tmp_path):
    """The ci comparison with 3 seeds: real properties, no wall-clock limit (a loaded machine is slow)."""
    result = subprocess.run(
        [*CMD, "compare", "--preset", "ci", "--seeds", "3", "--json", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(result.stdout)
    runs = {r["recipe"]: r for r in record["runs"]}
    assert next(iter(runs)) == "bf16" and {"fp8-tensor", "fp8-delayed", "fp8-block", "mxfp8", "nvfp4"} <= set(runs)
    assert not [name for name, r in runs.items() if r["diverged"]]  # no recipe diverged on any seed
    for name, r in runs.items():
        assert r["val_loss"] > 0 and r["tokens_per_s"] > 0 and r["state_bytes"]["optimizer"] > 0
        assert len(r["gap_pct"]["per_seed"]) == len(r["tail_gap_pct"]["per_seed"]) == 3
        if name != "bf16":  # the paired tail gap is computed per seed, not zero by construction
            assert all(g != 0.0 for g in r["tail_gap_pct"]["per_seed"])
            assert r["val_sampling_se_pct"] < (r["gap_pct"]["ci95_high"] - r["gap_pct"]["ci95_low"]) / 2
    for name in ("fp8-tensor", "fp8-delayed", "fp8-block", "mxfp8"):  # FP8 training: within seed noise
        assert runs[name]["gap_within_noise"], (name, runs[name]["gap_pct"])
    assert runs["nvfp4"]["low_precision_share"]["weights"] > 0.7  # nvfp4 quantizes most of the model
    ptq = {q["scheme"]: q["gap_pct"]["mean"] for q in record["ptq"]}
    assert min(ptq["int4_group128"], ptq["mxfp4"], ptq["nvfp4"]) > max(ptq["int8_channel"], ptq["fp8_e4m3_tensor"])
    assert (tmp_path / "loss_curves.png").stat().st_size > 10_000
    assert "plotly" in (tmp_path / "loss_curves.html").read_text()[:200_000].lower()
