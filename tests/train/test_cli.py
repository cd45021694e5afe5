"""The two commands end to end through the root app's error handling: JSON output and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The real entry point with the real wiring of cli/app.py (nothing re-registered here), so a command
# missing from app.py fails these tests.
_RUN = "from coscale.cli.app import main; main()"


def _coscale(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _RUN, *args], check=False, capture_output=True, text=True,
                          timeout=120)


def test_predict_train_json_has_the_promised_fields() -> None:
    r = _coscale("predict", "train", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "8", "--cp", "2",
                 "--global-batch", "128", "--seq-len", "8192", "--recompute", "none", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("step_time_s", "tokens_per_s_per_gpu", "model_tflops_per_gpu", "mfu", "hfu", "memory_per_gpu_bytes",
                "memory_breakdown_bytes", "time_breakdown_s", "defaults"):
        assert key in out
    assert out["layout"]["dp"] == 4 and out["defaults"] == {"dp": "gpus/(tp*pp*cp)"}
    assert set(out["time_breakdown_s"]["exposed_comm"]) == {"tp", "cp", "ep", "pp_p2p", "dp"}
    assert 0.3 < out["mfu"] < 0.9
    assert out["tokens_per_s_per_gpu"] == pytest.approx(128 * 8192 / out["step_time_s"] / 8)


@pytest.mark.parametrize("args,needle", [
    (["--gpus", "12", "--tp", "8"], "not divisible by tp*pp*cp"),
    (["--gpus", "8", "--global-batch", "100", "--micro-batch", "8"], "not divisible by dp*micro-batch"),
    (["--gpus", "8", "--recompute", "most"], "--recompute must be one of"),
    (["--gpus", "8", "--precision", "fp9"], "unknown training precision"),
])
def test_bad_input_is_one_line_and_exit_code_2(args: list[str], needle: str) -> None:
    base = {"--model": "llama-3.1-8b", "--hardware": "h100-sxm", "--global-batch": "64", "--seq-len": "4096"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    r = _coscale("predict", "train", *[x for kv in base.items() for x in kv], "--json")
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3  # one message, possibly soft-wrapped by rich


def test_plan_train_ranks_fitting_layouts() -> None:
    r = _coscale("plan", "train", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--gpus", "8",
                 "--seq-len", "4096", "--global-batch", "64", "--top", "3", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    times = [p["step_time_s"] for p in out["ranked"]]
    assert len(times) == 3 and times == sorted(times)
    assert all(p["fits"] for p in out["ranked"])
    assert out["why_best"] and out["evaluated"] >= out["fitting"] > 0


def test_plan_nothing_fits_suggests_more_gpus() -> None:
    r = _coscale("plan", "train", "--model", "llama-3.1-405b", "--hardware", "h100-sxm", "--gpus", "8",
                 "--seq-len", "8192", "--global-batch", "64")
    assert r.returncode == 3  # valid request, answer "does not fit" (README: exit codes)
    assert "nothing fits" in r.stderr and "would fit on" in r.stderr and "Traceback" not in r.stderr
