"""KV tiers on a disaggregated deployment's prefill pool: prefix reuse from host DRAM / NVMe on the
prefill side. Zero-sized tiers change nothing bit for bit; tiers raise prefix hits and cut TTFT on
multi-turn sessions while every prompt's whole KV still crosses the link once; the report carries the
tiers; tiers on the decode pool are a one-line error; the KV-aware router reads the prefix there."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.serve.disagg.deployment import DisaggDeployment, build_disagg
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec
from coscale.serve.tiers.config import OffloadConfig

SESSIONS = WorkloadSpec(rate=3.0, num_requests=160, turns=4, think_s=2.0, input_len=900, output_len=60,
                        length_dist="lognormal", input_max=4000, output_max=300, seed=5)
TIERS = OffloadConfig(tiers=("dram", "nvme"), dram_gib=2.0, nvme_gib=8.0)


def _dep(tiers: OffloadConfig | None, prefill_gpus: int = 1, router: str = "least_loaded") -> DisaggDeployment:
    return DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", gpus=prefill_gpus, num_gpu_blocks=1200,
                                               router=router, kv_offload=tiers),
                            decode=Deployment(model="llama-3.1-8b", gpus=1), kv_link="infiniband")


def _run(d: DisaggDeployment, w: WorkloadSpec = SESSIONS):
    return run_disagg(d, w, Slo(), overload=False)


def _fingerprint(res) -> tuple:
    seqs = tuple((s.req.rid, s.scheduled_s, s.first_token_s, s.finish_s, s.hit_tokens, s.prefilled, s.preemptions)
                 for s in res.sim.sequences)
    logs = tuple(tuple(np.concatenate([v.ravel() for v in r.log.arrays().values()]).tolist())
                 for r in res.prefill + res.decode)
    tr = tuple((t.rid, t.start_s, t.finish_s) for t in res.transfers)
    return seqs, logs, tr, res.sim.simulated_s


def test_zero_sized_prefill_tiers_equal_no_offload_bit_for_bit():
    off = OffloadConfig(tiers=("dram", "nvme"), dram_gib=0.0, nvme_gib=0.0)
    a, _ = _run(_dep(None))
    b, rep = _run(_dep(off))
    assert _fingerprint(a) == _fingerprint(b)
    assert rep["kv_tiers"]["loaded_bytes"] == 0 and rep["kv_tiers"]["tier_load_rate"] == 0


def test_prefill_tiers_raise_hits_cut_ttft_and_the_whole_prompt_still_crosses():
    base, rb = _run(_dep(None))
    tiered, rt = _run(_dep(TIERS))
    hits = [sum(s.hit_tokens for s in r.sim.sequences) for r in (base, tiered)]
    assert hits[1] > 1.3 * hits[0]
    assert rt["ttft_s"]["mean"] < rb["ttft_s"]["mean"]
    kt = rt["kv_tiers"]
    assert kt["loaded_bytes"] > 0 and kt["tier_load_rate"] > 0
    assert "kv_tiers" not in rb
    # a prefix hit saves prefill work, not link bytes: each prompt's KV crosses once, whole
    b = build_disagg(_dep(TIERS))
    sent = {t.rid: t.bytes for t in tiered.transfers}
    for s in tiered.sim.sequences:
        if s.req.output_tokens > 1:
            assert sent[s.req.rid] == b.kv_bytes(s.req.input_tokens)
    # tier blocks conserved per prefill instance: stored = held + dropped + loaded
    for r in tiered.prefill:
        c = r.tiers.chain
        assert c.stored == c.held() + c.dropped + c.loaded


def test_kv_aware_router_reads_the_prefix_on_the_prefill_pool():
    hits = {}
    for router in ("round_robin", "least_loaded", "kv_aware"):
        res, _ = _run(_dep(TIERS, prefill_gpus=2, router=router))
        hits[router] = sum(s.hit_tokens for s in res.sim.sequences)
    assert hits["kv_aware"] > 1.2 * max(hits["round_robin"], hits["least_loaded"])


def test_tiers_on_the_decode_pool_are_a_one_line_error():
    d = _dep(None)
    d = replace(d, decode=replace(d.decode, kv_offload=TIERS))
    with pytest.raises(CoscaleError, match="decode pool") as e:
        build_disagg(d)
    assert "\n" not in str(e.value)


def test_cli_scenario_file_gives_the_prefill_pool_tiers(tmp_path):
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"mode": "disaggregated", "model": "llama-3.1-8b", "router": "kv_aware",
                                "prefill": {"gpus": 1, "kv_offload": "dram,nvme"}, "decode": {"gpus": 1},
                                "rate": 3, "num_requests": 60, "turns": 3, "think_s": 2, "input_len": 900,
                                "output_len": 40}))
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--scenario", str(scen), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["mode"] == "disaggregated" and d["completed"] == 60
    assert [t["tier"] for t in d["kv_tiers"]["tiers"]] == ["dram", "nvme"]
    assert d["kv_tiers"]["lookup_blocks"] > 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mode": "disaggregated", "model": "llama-3.1-8b", "prefill": {"gpus": 1},
                               "decode": {"gpus": 1, "kv_offload": "dram"}, "rate": 3, "num_requests": 5}))
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--scenario", str(bad)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "decode pool" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_tier_and_block_flags_reach_the_disaggregated_pools():
    """`--kv-offload` (and its sizes) give the prefill pool its tiers, `--num-gpu-blocks` sizes every
    instance of both pools; in disaggregated mode they were once read by nothing."""
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--mode", "disaggregated",
                        "--model", "llama-3.1-8b", "--router", "kv_aware", "--kv-offload", "dram,nvme",
                        "--dram-kv-gib", "3", "--num-gpu-blocks", "1500", "--rate", "3", "--num-requests", "60",
                        "--turns", "3", "--think-time", "2", "--input-len", "900", "--output-len", "40", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["prefill"]["num_gpu_blocks"] == d["decode"]["num_gpu_blocks"] == 1500
    tiers = d["kv_tiers"]["tiers"]
    assert [t["tier"] for t in tiers] == ["dram", "nvme"] and d["kv_tiers"]["lookup_blocks"] > 0
    assert tiers[0]["capacity_gib"] == 3.0


def test_scenario_key_prefill_kv_offload_gives_the_prefill_pool_tiers(tmp_path):
    """The documented top-level `prefill_kv_offload` key (an object, as top-level `kv_offload`) is read;
    an aggregated run refuses it."""
    scen = tmp_path / "s.json"
    base = {"model": "llama-3.1-8b", "prefill_kv_offload": {"tiers": ["dram"], "dram_gib": 2},
            "rate": 3, "num_requests": 30, "turns": 3, "think_s": 2, "input_len": 900, "output_len": 20}
    scen.write_text(json.dumps({"mode": "disaggregated", "router": "kv_aware", **base}))
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--scenario", str(scen), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    tiers = json.loads(r.stdout)["kv_tiers"]["tiers"]
    assert [(t["tier"], t["capacity_gib"]) for t in tiers] == [("dram", 2.0)]
    scen.write_text(json.dumps(base))
    r = subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", "--scenario", str(scen)],
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "'prefill_kv_offload' applies to disaggregated" in lines[0]
