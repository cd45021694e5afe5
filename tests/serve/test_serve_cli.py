"""`coscale serve`: the JSON contract, byte-for-byte determinism, Parquet output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

KEYS = ("ttft_s", "tpot_s", "itl_s", "e2e_s", "queue_s", "throughput_tok_s", "input_throughput_tok_s",
        "request_throughput_rps", "goodput_rps", "slo_attainment", "completed", "preemptions", "prefix_hit_rate",
        "kv_utilization_mean", "simulated_s", "wall_s", "speedup_vs_real_time")
BASE = ("serve", "simulate", "--model", "llama-3.1-8b", "--hardware", "h100-sxm", "--rate", "8", "--num-requests",
        "200", "--input-len", "800", "--output-len", "150", "--length-dist", "exponential", "--seed", "3")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coscale", *args], capture_output=True, text=True, timeout=300)


def test_simulate_json_contract_determinism_and_parquet(tmp_path):
    out = tmp_path / "run.parquet"
    a = run(*BASE, "--slo-ttft", "0.5", "--slo-tpot", "0.05", "--json", "--out", str(out))
    b = run(*BASE, "--slo-ttft", "0.5", "--slo-tpot", "0.05", "--json")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    da, db = json.loads(a.stdout), json.loads(b.stdout)
    for key in KEYS:
        assert key in da
    for k in ("mean", "p50", "p90", "p95", "p99"):
        assert da["ttft_s"][k] > 0
    assert da["completed"] == 200 and 0 <= da["slo_attainment"] <= 1
    for d in (da, db):
        for k in ("wall_s", "speedup_vs_real_time", "parquet"):
            d.pop(k, None)
    assert json.dumps(da) == json.dumps(db)  # same seed, same bytes
    import pyarrow.parquet as pq
    t = pq.read_table(out)
    assert t.num_rows == 200 and "ttft_s" in t.column_names
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary new file's mode, not owner-only
    steps = pq.read_table(tmp_path / "run.steps.parquet")
    assert steps.num_rows > 0 and max(steps.column("kv_utilization").to_pylist()) <= 1.0


@pytest.mark.parametrize(("args", "needle"), [
    (("serve", "simulate", "--rate", "5", "--engine", "foo"), "unknown engine"),
    (("serve", "simulate", "--rate", "5", "--concurrency", "4"), "exactly one of"),
    (("serve", "simulate", "--rate", "-1"), "--rate"),
    (("serve", "simulate", "--trace", "/nonexistent.csv"), "does not exist"),
    (("serve", "simulate", "--rate", "5", "--length-dist", "zipf"), "--length-dist"),
    (("serve", "simulate", "--rate", "5", "--input-len", "200000"), "context"),
    (("serve", "sweep", "--rates", "1,x"), "--rates"),
    (("serve", "sweep", "--rates", "1,,2"), "--rates"),  # an empty item is not skipped
    (("serve", "simulate", "--rate", "5", "--kv-offload", ""), "empty item"),
    (("serve", "simulate", "--rate", "5", "--kv-offload", "dram,"), "empty item"),
    (("serve", "capacity", "--slo-tpot-p99", "nan"), "--slo-tpot-p99 must be a number of seconds > 0, got nan"),
    (("serve", "compare", "--gpus", "2", "--tps", "3"), "--tps 3"),  # not "raise the budget" for a bad degree
    (("serve", "compare", "--gpus", "2", "--tps", "1,,2"), "--tps"),
    # a pool's error names the pool's own flag, not the aggregated one
    (("serve", "simulate", "--mode", "disaggregated", "--prefill-gpus", "3", "--prefill-tp", "2", "--decode-gpus",
      "1", "--rate", "1"), "--prefill-gpus 3 is not divisible"),
    (("serve", "simulate", "--mode", "disaggregated", "--prefill-gpus", "1", "--decode-gpus", "3", "--decode-tp",
      "3", "--rate", "1"), "--decode-tp 3 does not divide"),
])
def test_bad_input_is_one_line_exit_2(args, needle, tmp_path):
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr


@pytest.mark.parametrize("command", [("capacity", "--num-requests", "20"), ("sweep", "--rates", "1")])
def test_searches_refuse_scenario_keys_they_would_ignore(command, tmp_path):
    """capacity and sweep draw their own synthetic workloads: a trace or rate in the file is refused."""
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"trace": "azure.csv", "input_len": 300}))
    r = run("serve", *command, "--scenario", str(f))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "does not read 'trace'" in r.stderr, r.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (("serve", "simulate", "--model", "llama-3.1-70b", "--rate", "5"), "no KV memory"),
    (("serve", "simulate", "--rate", "5", "--num-gpu-blocks", "10", "--input-len", "1000"), "KV blocks"),
])
def test_does_not_fit_is_one_line_exit_3(args, needle):
    """A valid request whose answer is "does not fit" (README, Exit codes): exit 3, not 2."""
    r = run(*args)
    assert r.returncode == 3, (r.stdout, r.stderr)
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("does not fit:"), r.stderr


def test_overload_is_one_line_with_the_capacity():
    """Far above capacity: stopped early with the saturated rate, which a run just below it sustains.
    An overload is a valid request answered "infeasible": exit 3."""
    args = ("serve", "simulate", "--max-num-seqs", "16", "--input-len", "1000", "--output-len", "100")
    r = run(*args, "--rate", "200", "--duration", "3000")
    assert r.returncode == 3
    lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
    assert len(lines) == 1 and "overloaded" in lines[0] and "requests/s when saturated" in lines[0]
    cap = float(lines[0].split("completes about ")[1].split()[0])
    ok = run(*args, "--rate", f"{0.8 * cap:.3f}", "--num-requests", "400", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["request_throughput_rps"] == pytest.approx(0.8 * cap, rel=0.15)


def test_capacity_meets_the_slo_at_the_rate_it_reports():
    r = run("serve", "capacity", "--model", "llama-3.1-8b", "--input-len", "1000", "--output-len", "200",
            "--num-requests", "300", "--slo-ttft-p99", "2", "--slo-tpot-p99", "0.05", "--min-duration", "30",
            "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["max_rate_rps"] > 0 and d["ttft_s"]["p99"] <= 2 and d["tpot_s"]["p99"] <= 0.05
    assert d["throughput_tok_s"] == pytest.approx(d["max_rate_rps"] * 200)
    # the next rate tried above it failed the SLO (or the search stopped at its tolerance)
    above = [t for t in d["tried"] if t["rate_rps"] > d["max_rate_rps"]]
    assert above and not any(t["ok"] for t in above)
