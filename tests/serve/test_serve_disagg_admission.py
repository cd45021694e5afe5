"""Admission control at a disaggregated deployment's prefill router: requests are conserved (completed
+ turned away = offered), `reject` bounds TTFT where no admission control lets it grow without limit,
`queue` holds requests at the router and admits more than `reject` on the same arrivals, closed-loop
clients keep sending after a rejection, and the CLI carries --admission to the pools."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from coscale.errors import CoscaleError
from coscale.serve.disagg.deployment import DisaggDeployment
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec

OVERLOAD = WorkloadSpec(rate=22.0, num_requests=300, input_len=3000, output_len=60, length_dist="lognormal", seed=1)
LIMIT_S = 0.5


def _dep(admission: str) -> DisaggDeployment:
    pool = Deployment(model="llama-3.1-8b", admission=admission,
                      admission_ttft_s=LIMIT_S if admission != "none" else None)
    return DisaggDeployment(prefill=pool, decode=pool, kv_link="infiniband")


def _run(admission: str, w: WorkloadSpec = OVERLOAD):
    return run_disagg(_dep(admission), w, Slo(ttft_s=LIMIT_S), overload=False)


def test_requests_are_conserved_and_reject_bounds_ttft():
    none, r_none = _run("none")
    rej, r_rej = _run("reject")
    que, r_que = _run("queue")
    assert "rejected" not in r_none and not none.sim.rejected
    for res, rep in ((rej, r_rej), (que, r_que)):
        done = {s.req.rid for s in res.sim.sequences}
        away = {q.rid for q in res.sim.rejected}
        assert not done & away and done | away == set(range(OVERLOAD.num_requests))
        assert rep["rejected"] == len(away) > 0
        assert rep["admitted_share"] == pytest.approx(len(done) / OVERLOAD.num_requests)
        assert not res.transfers or {t.rid for t in res.transfers} <= done  # nothing turned away crosses
    # the predicted TTFT keeps the admitted ones near the limit; without control the queue grows
    assert r_rej["ttft_s"]["p99"] < 1.5 * LIMIT_S < r_none["ttft_s"]["p99"]
    assert r_rej["goodput_rps"] > r_none["goodput_rps"]
    assert r_que["completed"] >= r_rej["completed"]  # held at the router instead of dropped at once


def test_closed_loop_client_sends_again_after_a_rejection():
    w = WorkloadSpec(concurrency=40, num_requests=200, input_len=3000, output_len=60, seed=2)
    _, rep = _run("reject", w)
    assert rep["completed"] + rep["rejected"] == w.num_requests and rep["rejected"] > 0


def test_admission_without_a_limit_is_a_one_line_error():
    with pytest.raises(CoscaleError, match="--admission reject needs a TTFT limit"):
        run_disagg(replace(_dep("none"), prefill=replace(_dep("none").prefill, admission="reject")), OVERLOAD, Slo())


def test_cli_carries_admission_to_the_disaggregated_pools():
    p = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--mode", "disaggregated",
                        "--model", "llama-3.1-8b", "--rate", "22", "--num-requests", "200", "--input-len", "3000",
                        "--output-len", "60", "--seed", "1", "--admission", "reject", "--admission-ttft", "0.5",
                        "--json"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["rejected"] > 0 and rep["completed"] + rep["rejected"] == 200
