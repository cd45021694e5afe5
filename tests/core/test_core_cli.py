"""The CLI: JSON output and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coscale", *args], capture_output=True, text=True, timeout=120)


def test_predict_inference_json_has_the_contract_keys():
    r = run("predict", "inference", "--model", "qwen3-30b-a3b", "--hardware", "h200-sxm", "--batch", "auto",
            "--input-len", "512", "--output-len", "128", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("ttft_s", "tpot_s", "throughput_tok_s", "batch", "memory_per_gpu_bytes", "memory_breakdown_bytes",
                "bound", "energy_j_per_token"):
        assert key in d
    assert d["prefill"]["operators"] and d["decode"]["operators"]
    assert d["memory_per_gpu_bytes"] <= d["memory_capacity_bytes"]


def test_default_main_job_prints_a_table():
    r = run("predict", "inference")
    assert r.returncode == 0, r.stderr
    assert "decode bound" in r.stdout and "TTFT" in r.stdout


@pytest.mark.parametrize("args, fragment", [
    (("predict", "inference", "--model", "lama-3.1-8b"), "did you mean llama-3.1-8b"),
    (("predict", "inference", "--hardware", "h100"), "did you mean"),
    (("predict", "inference", "--tp", "5"), "does not divide"),
    (("predict", "inference", "--batch", "-3"), "--batch must be a positive integer"),
    (("predict", "inference", "--input-len", "0"), "--input-len must be a positive integer, got 0."),
    (("predict", "inference", "--gpus", "6", "--tp", "2", "--ep", "3", "--model", "qwen3-30b-a3b"),
     "--ep 3 must be a multiple of --tp 2"),
    (("predict", "inference", "--model", "llama-2-70b", "--tp", "8", "--input-len", "8000"),
     "--input-len + --output-len = 8256 exceeds the 4096-token context"),
    (("predict", "inference", "--gpus", "6", "--tp", "4"), "not divisible"),
    (("describe", "--model", "/nonexistent/config.json"), "unknown model"),
    (("predict", "inference", "--tp", "abc"), "Invalid value for '--tp'"),
    (("predict", "inference", "--bogus"), "No such option"),
])
def test_bad_input_exit_code_2_one_line(args, fragment):
    r = run(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert fragment in " ".join(r.stderr.split())


def test_does_not_fit_is_exit_3_with_a_json_answer():
    """README convention: a valid request whose answer is 'does not fit' exits 3, not 2."""
    r = run("predict", "inference", "--model", "deepseek-v3")
    assert r.returncode == 3 and "Traceback" not in r.stderr
    assert "does not fit" in " ".join(r.stderr.split())
    j = run("predict", "inference", "--model", "deepseek-v3", "--json")
    assert j.returncode == 3 and json.loads(j.stdout)["feasible"] is False


def test_describe_and_list_json():
    d = json.loads(run("describe", "--model", "deepseek-v3", "--json").stdout)
    assert d["kv_bytes_per_token"]["bf16"] == 70272
    models = json.loads(run("list", "models", "--json").stdout)
    assert len(models["models"]) == 23
    hw = json.loads(run("list", "hardware", "--json").stdout)
    assert {"h100-sxm", "b200", "mi300x", "tpu-v5e"} <= {h["id"] for h in hw["hardware"]}
