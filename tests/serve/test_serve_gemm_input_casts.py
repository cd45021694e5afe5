"""`coscale serve --gemm-input-casts`: an engine that quantizes FP8 GEMM inputs in kernels of their own
(TensorRT-LLM's PyTorch backend) is slower than one that fuses the cast; BF16 has nothing to cast (the
flag is refused there)."""

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
    # BF16 GEMMs read BF16 inputs: nothing to cast, so the library's run is unchanged and the CLI,
    # where the flag would answer another question, refuses it
    from coscale.serve.metrics import Slo
    from coscale.serve.scenario import Deployment, WorkloadSpec, run

    w = WorkloadSpec(rate=4.0, num_requests=60, input_len=2048, output_len=32, seed=1)
    plain, cast = (run(Deployment(model="llama-3.1-8b", engine="trtllm", gemm_input_casts=c), w, Slo())[1]
                   for c in (False, True))
    assert (cast["ttft_s"], cast["tpot_s"]) == (plain["ttft_s"], plain["tpot_s"])
    code, _, err = cli(monkeypatch, capsys, *BASE, "--precision", "bf16", "--gemm-input-casts")
    assert code == 2 and err.count("\n") == 1 and "runs its GEMMs on BF16 inputs" in err


def test_scenario_file_takes_a_boolean(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gemm_input_casts": 1}))
    code, _, err = cli(monkeypatch, capsys, *BASE, "--scenario", str(bad))
    assert code == 2 and "gemm_input_casts must be true or false" in err and "Traceback" not in err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"gemm_input_casts": True, "precision": "fp8"}))
    from_file = ttft_and_tpot(monkeypatch, capsys, "--scenario", str(good))
    assert from_file == ttft_and_tpot(monkeypatch, capsys, "--precision", "fp8", "--gemm-input-casts")
