"""`--moe-a2a-backend deepep`: an engine whose MoE all-to-all runs on DeepEP (FP8 dispatch, BF16 combine,
DeepEP's bandwidth) spends less time in the exchange than NCCL moving BF16 rows; without EP there is no
exchange. The flag reaches `predict inference`, the pools of `serve simulate --mode disaggregated` (where
`serve` runs EP) and a scenario file; an unknown backend is one line, exit 2."""

from __future__ import annotations

import json

import pytest

from .cli_run import run_cli as cli

MOE = ("--model", "qwen3-30b-a3b", "--hardware", "h100-sxm")
SERVE = ("serve", "simulate", *MOE, "--engine", "sglang", "--rate", "4", "--num-requests", "40", "--input-len",
         "1024", "--output-len", "32", "--seed", "1", "--json")
DISAGG = ("--mode", "disaggregated", "--prefill-gpus", "2", "--prefill-tp", "2", "--decode-gpus", "8", "--decode-ep",
          "8", "--kv-link", "infiniband")


def served(monkeypatch, capsys, *args: str) -> dict:
    code, out, err = cli(monkeypatch, capsys, *SERVE, *args)
    assert code == 0, err
    return json.loads(out)


def predicted_tpot(monkeypatch, capsys, *args: str) -> float:
    code, out, err = cli(monkeypatch, capsys, "predict", "inference", *MOE, "--batch", "64", "--json", *args)
    assert code == 0, err
    return json.loads(out)["tpot_s"]


def test_predict_deepep_is_faster_only_with_ep(monkeypatch, capsys):
    deepep = ("--moe-a2a-backend", "deepep")
    for precision in ("fp8", "bf16"):  # BF16 rows both ways still reach DeepEP's bandwidth sooner than NCCL's
        ep = ("--gpus", "16", "--ep", "16", "--precision", precision)
        assert predicted_tpot(monkeypatch, capsys, *ep, *deepep) < predicted_tpot(monkeypatch, capsys, *ep)
    # without EP there is no exchange: the core's prediction is unchanged, and the CLI refuses the flag
    from coscale.serve.scenario import Deployment, build

    no_ep = [build(Deployment(model="qwen3-30b-a3b", precision="fp8", moe_a2a_backend=b)).cost.table.step(64, 64e3, [])
             for b in ("nccl", "deepep")]
    assert no_ep[0] == no_ep[1]
    code, _, err = cli(monkeypatch, capsys, "predict", "inference", *MOE, "--precision", "fp8", *deepep)
    assert code == 2 and err.count("\n") == 1 and "at EP 1" in err
    code, _, err = cli(monkeypatch, capsys, "predict", "inference", *MOE, "--moe-a2a-backend", "mpi")
    assert code == 2 and err.count("\n") == 1 and "--moe-a2a-backend nccl or deepep" in err


def test_disaggregated_pools_take_the_flag(monkeypatch, capsys):
    dis = (*DISAGG, "--precision", "fp8")
    assert (served(monkeypatch, capsys, *dis, "--moe-a2a-backend", "deepep")["tpot_s"]["mean"]
            < served(monkeypatch, capsys, *dis)["tpot_s"]["mean"])
    # the GEMM input casts reach the pools too (they were dropped in disaggregated mode before)
    assert (served(monkeypatch, capsys, *dis, "--gemm-input-casts")["ttft_s"]["mean"]
            > served(monkeypatch, capsys, *dis)["ttft_s"]["mean"])


def test_scenario_file_takes_a_boolean(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"moe_a2a_backend": "mpi"}))
    code, _, err = cli(monkeypatch, capsys, *SERVE, *DISAGG, "--scenario", str(bad))
    assert code == 2 and "use --moe-a2a-backend nccl or deepep" in err and "Traceback" not in err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"moe_a2a_backend": "deepep", "precision": "fp8"}))
    from_file = served(monkeypatch, capsys, *DISAGG, "--scenario", str(good))
    flags = served(monkeypatch, capsys, *DISAGG, "--precision", "fp8", "--moe-a2a-backend", "deepep")
    assert from_file["tpot_s"] == flags["tpot_s"]


def test_disaggregated_mode_reads_the_scenario_files_shared_keys(monkeypatch, capsys, tmp_path):
    """A scenario file's model-wide keys (precision, chip) reach both pools, as the same flags do (they were
    ignored in disaggregated mode before)."""
    base = [a for a in SERVE if a not in ("--hardware", "h100-sxm")]

    def run(*args: str) -> dict:
        code, out, err = cli(monkeypatch, capsys, *base, *DISAGG, *args)
        assert code == 0, err
        return json.loads(out)

    f = tmp_path / "s.json"
    f.write_text(json.dumps({"precision": "fp8", "hardware": "h200-sxm"}))
    from_file, flags = run("--scenario", str(f)), run("--precision", "fp8", "--hardware", "h200-sxm")
    assert from_file["tpot_s"] == flags["tpot_s"] and from_file["decode"]["hardware"] == "h200-sxm"
    assert from_file["tpot_s"] != run()["tpot_s"]


def test_prefill_pool_runs_expert_parallel_with_deepep_normal_kernels(monkeypatch, capsys):
    """`--prefill-ep` (refused before): each attention-DP rank of the prefill pool is an instance; on
    DeepEP the prefill pool runs the normal kernels and the decode pool the low-latency ones, as SGLang's
    disaggregated servers are launched."""
    from coscale.cost.step import step_cost
    from coscale.serve.disagg.deployment import DisaggDeployment, build_disagg
    from coscale.serve.scenario import Deployment, build
    from coscale.workload.shape import StepShape

    ep = ("--mode", "disaggregated", "--prefill-gpus", "16", "--prefill-ep", "16", "--decode-gpus", "8", "--decode-ep",
          "8", "--kv-link", "infiniband", "--precision", "fp8", "--moe-a2a-backend", "deepep")
    rep = served(monkeypatch, capsys, *ep)
    assert rep["prefill"]["ep"] == 16 and rep["prefill"]["instances"] == 16 and rep["completed"] == 40
    pools = {k: Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=g, ep=g, precision="fp8",
                           moe_a2a_backend="deepep", engine="sglang") for k, g in (("prefill", 16), ("decode", 8))}
    b = build_disagg(DisaggDeployment(**pools))
    assert (b.prefill.cost.plan.deepep_mode, b.decode.cost.plan.deepep_mode) == ("normal", "low_latency")
    prefill = StepShape.of(prefill_chunks=[(4096, 0)])
    decode = StepShape.of(decode_contexts=[1000] * 64)
    for shape in (prefill, decode):  # the instances' cost is the core's step cost in their mode
        for built in (b.prefill, b.decode):
            exact = float(step_cost(built.cost.plan, shape).time_s)
            assert float(built.cost.table.lookup(shape)[0]) == pytest.approx(exact, rel=0.01)
    # a rank's step is the energy of the rank's GPU, not of the whole EP group: between idle and TDP power
    power = b.prefill.system.hardware.power
    time, energy = (float(v) for v in b.prefill.cost.table.lookup(prefill))
    assert b.prefill.parallel.pass_gpus == 1 and power.idle_w < energy / time <= power.tdp_w
    # the normal kernels move fewer rows than the low-latency ones: the same prefill step costs less
    low_latency = build(pools["prefill"], deepep_mode="low_latency")
    assert b.prefill.cost.table.lookup(prefill)[0] < low_latency.cost.table.lookup(prefill)[0]
