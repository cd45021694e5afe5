"""`coscale serve --gemm-input-casts`: an engine that quantizes FP8 GEMM inputs in kernels of their own
(TensorRT-LLM's PyTorch backend) is slower than one that fuses the cast; BF16 has nothing to cast."""

from __future__ import annotations

import json

from .cli_run import run_cli as cli

BASE = ("serve", "simulate", "--engine", "trtllm", "--rate", "4", "--num-requests", "60", "--input-len", "2048",
        "--output-len", "32", "--seed", "1", "--json")


def ttft_and_tpot(monkeypatch, capsys, *args: str) -> tuple[float, float]:
    code, out, err = cli(monkeypatch, capsys, *BASE, *args)
    assert code == 0, err
    rep = json.loads(out)
    return rep["ttft_s"]["mean"], rep["tpot_s"]["mean"]


def test_separate_casts_slow_fp8_steps_and_leave_bf16_alone(monkeypatch, capsys):
    fused = ttft_and_tpot(monkeypatch, capsys, "--precision", "fp8")
    separate = ttft_and_tpot(monkeypatch, capsys, "--precision", "fp8", "--gemm-input-casts")
    assert separate[0] > fused[0] and separate[1] > fused[1]
    assert separate[0] < 1.5 * fused[0]  # one extra read and write of each GEMM input, not a second GEMM
    bf16 = ttft_and_tpot(monkeypatch, capsys, "--precision", "bf16")
    assert ttft_and_tpot(monkeypatch, capsys, "--precision", "bf16", "--gemm-input-casts") == bf16


def test_scenario_file_takes_a_boolean(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gemm_input_casts": 1}))
    code, _, err = cli(monkeypatch, capsys, *BASE, "--scenario", str(bad))
    assert code == 2 and "gemm_input_casts must be true or false" in err and "Traceback" not in err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"gemm_input_casts": True, "precision": "fp8"}))
    from_file = ttft_and_tpot(monkeypatch, capsys, "--scenario", str(good))
    assert from_file == ttft_and_tpot(monkeypatch, capsys, "--precision", "fp8", "--gemm-input-casts")
