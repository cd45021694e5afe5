"""Energy over a serving run: the passes' own energy plus the GPUs' idle draw between passes, so that
every GPU draws between its idle power and its TDP at every moment of the run."""

from __future__ import annotations

import pytest

from coscale.hardware.catalog import load_hardware
from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run

H100 = load_hardware("h100-sxm").power
RUNS = {
    "one GPU, busy": (Deployment(model="llama-3.1-8b", hardware="h100-sxm"),
                      WorkloadSpec(rate=20.0, num_requests=300, input_len=800, output_len=150)),
    "eight replicas, light": (Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8),
                              WorkloadSpec(rate=0.5, num_requests=40, input_len=500, output_len=50)),
    "TP4, Azure lengths": (Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=4, tp=4),
                           WorkloadSpec(rate=3.0, num_requests=120, length_dist="azure-conv")),
    "attention-DP ranks in lock-step": (Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=4),
                                        WorkloadSpec(rate=6.0, num_requests=160, length_dist="azure-conv")),
}


def _total_j_per_token(rep: dict) -> float:
    return rep["energy_j_per_output_token"] + rep["idle_energy_j_per_output_token"]


@pytest.mark.parametrize("name", RUNS)
def test_every_gpu_draws_between_idle_and_tdp(name: str) -> None:
    d, w = RUNS[name]
    _, rep = run(d, w, Slo(), overload=False)
    assert H100.idle_w <= rep["power_w_per_gpu_mean"] <= H100.tdp_w, rep["power_w_per_gpu_mean"]
    assert rep["idle_energy_j_per_output_token"] >= 0


def test_replicas_without_work_draw_idle_power_for_the_whole_run() -> None:
    """One request on eight replicas: seven never run a pass and draw idle power all along."""
    d = Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8)
    res, rep = run(d, WorkloadSpec(rate=1.0, num_requests=1, input_len=1000, output_len=20), Slo(), overload=False)
    seq = res.sequences[0]
    span = seq.finish_s - seq.req.arrival_s
    busy = sum(float((lg["end_s"] - lg["start_s"]).sum()) for lg in (r.log.arrays() for r in res.replicas))
    assert rep["idle_energy_j_per_output_token"] * 20 == pytest.approx(H100.idle_w * (8 * span - busy), rel=1e-9)
    assert busy == pytest.approx(span, rel=1e-12)  # alone, its passes run back to back: arrival to finish
    assert rep["idle_energy_j_per_output_token"] * 20 == pytest.approx(7 * H100.idle_w * span, rel=1e-9)


def test_a_lightly_loaded_deployment_spends_more_energy_per_token() -> None:
    """The same eight GPUs at a tenth of the load: the passes cost about the same per token, the idle
    draw between them dominates."""
    d = Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=8)
    w = WorkloadSpec(rate=8.0, num_requests=240, input_len=500, output_len=100)
    _, busy = run(d, w, Slo(), overload=False)
    _, light = run(d, WorkloadSpec(rate=0.8, num_requests=24, input_len=500, output_len=100), Slo(), overload=False)
    assert _total_j_per_token(light) > 2 * _total_j_per_token(busy)
    assert light["idle_energy_j_per_output_token"] > light["energy_j_per_output_token"]
    assert light["power_w_per_gpu_mean"] < busy["power_w_per_gpu_mean"]


def test_disaggregated_pools_draw_their_own_chips_idle_power() -> None:
    """Prefill on B200, decode on H100: the mean power per GPU lies between the two chips' idle
    draws and their TDPs, and each pool's idle time is charged at its own chip's idle power."""
    b200 = load_hardware("b200").power
    d = DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", hardware="b200", gpus=1),
                         decode=Deployment(model="llama-3.1-8b", hardware="h100-sxm", gpus=3), kv_link="infiniband")
    res, rep = run_disagg(d, WorkloadSpec(rate=2.0, num_requests=60, input_len=2000, output_len=100), Slo(),
                          overload=False)
    assert min(b200.idle_w, H100.idle_w) <= rep["power_w_per_gpu_mean"] <= max(b200.tdp_w, H100.tdp_w)
    t0 = min(s.req.arrival_s for s in res.sim.sequences)
    t1 = max(s.finish_s for s in res.sim.sequences)

    def idle_s(reps) -> float:
        return sum(t1 - t0 - float((lg["end_s"] - lg["start_s"]).sum()) for lg in (r.log.arrays() for r in reps))

    expected = b200.idle_w * idle_s(res.prefill) + H100.idle_w * idle_s(res.decode)
    assert rep["idle_energy_j_per_output_token"] * rep["completed"] * 100 == pytest.approx(expected, rel=1e-9)
    assert build(d.prefill).idle_w_per_replica == b200.idle_w
