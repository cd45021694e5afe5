"""Decode prefix reuse on a disaggregated deployment (vLLM NixlConnector: the decode side pulls only the
prompt blocks beyond its own prefix-cache hit). Every prompt's KV is accounted for once, as bytes sent or
blocks reused; a reused run is whole blocks that leave at least one token to pull; the decode pool ends
with every block free; a hand-built two-turn case reuses exactly the first turn's blocks; multi-turn
sessions send fewer bytes; reuse off changes nothing; KV tiers on the decode pool extend the reuse when
reading them is quicker than the link, are left unread when it is not, and change nothing when sized 0;
a request no decode instance can hold is refused when it arrives; the CLI and the scenario file set it,
an aggregated run refuses it, and serve capacity / sweep refuse a disaggregated scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.errors import CoscaleError
from coscale.serve.disagg.deployment import DisaggDeployment, build_disagg
from coscale.serve.disagg.run import run_disagg
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, make_workload
from coscale.serve.tiers.config import OffloadConfig

SESSIONS = WorkloadSpec(rate=3.0, num_requests=120, turns=4, think_s=2.0, input_len=900, output_len=40,
                        length_dist="lognormal", input_max=3000, output_max=200, seed=5)


def _dep(reuse: bool, decode_gpus: int = 2, decode_blocks: int | None = None, link: str = "ethernet",
         prefix_caching: bool = True, decode_tiers: OffloadConfig | None = None) -> DisaggDeployment:
    return DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", num_gpu_blocks=1500),
                            decode=Deployment(model="llama-3.1-8b", gpus=decode_gpus, num_gpu_blocks=decode_blocks,
                                              prefix_caching=prefix_caching, kv_offload=decode_tiers),
                            kv_link=link, decode_prefix_reuse=reuse)


def _check_accounting(d: DisaggDeployment, w: WorkloadSpec) -> tuple[object, dict]:
    b = build_disagg(d)
    res, rep = run_disagg(d, w, Slo(), built=b, overload=False)
    seqs = {s.req.rid: s for s in res.sim.sequences}
    assert len(seqs) == make_workload(w, b.prefill.model).total
    bs = b.decode.block_size
    full = saved = 0.0
    for t in res.transfers:
        req = seqs[t.rid].req
        reused = res.decode_reused_tokens.get(t.rid, 0)
        assert reused % bs == 0 and 0 <= reused <= req.input_tokens - 1  # whole blocks, >= 1 token pulled
        assert t.bytes == b.kv_bytes(req.input_tokens - reused)
        full += b.kv_bytes(req.input_tokens)
        saved += b.kv_bytes(req.input_tokens) - t.bytes
    assert set(res.decode_reused_tokens) <= {t.rid for t in res.transfers}
    tr = rep["transfer"]
    assert tr["bytes_total"] + tr["decode_prefix_reuse"]["bytes_saved"] == pytest.approx(full)
    assert tr["decode_prefix_reuse"]["bytes_saved"] == pytest.approx(saved)
    for s in res.sim.sequences:  # every generated token but the first is decoded on the decode pool, but
        # a preempted request's recompute samples one token in a prefill step
        assert s.req.output_tokens - 1 - s.preemptions <= s.decoded <= s.req.output_tokens - 1
    for r in res.prefill + res.decode:  # nothing held after the run: blocks conserved
        assert r.pool.used == 0 and not r.waiting and not r.running
    return res, rep


def test_multi_turn_sessions_send_fewer_bytes_and_expose_less_transfer():
    off, r_off = _check_accounting(_dep(False), SESSIONS)
    on, r_on = _check_accounting(_dep(True), SESSIONS)
    assert r_off["transfer"]["decode_prefix_reuse"]["requests_with_hit"] == 0
    reuse = r_on["transfer"]["decode_prefix_reuse"]
    assert reuse["enabled"] and reuse["requests_with_hit"] > 0.3 * SESSIONS.num_requests
    assert r_on["transfer"]["bytes_total"] < 0.75 * r_off["transfer"]["bytes_total"]
    assert r_on["transfer"]["exposed_after_prefill_s"]["mean"] < r_off["transfer"]["exposed_after_prefill_s"]["mean"]
    # the prefill pool does the same work: reuse saves link bytes, not prefill compute
    assert [s.prefilled for s in off.sim.sequences] == [s.prefilled for s in on.sim.sequences]


def test_without_shared_prefixes_reuse_changes_nothing():
    w = WorkloadSpec(rate=5.0, num_requests=80, length_dist="azure-conv", seed=2)
    a, _ = run_disagg(_dep(False, decode_gpus=1), w, Slo(), overload=False)
    b, rep = run_disagg(_dep(True, decode_gpus=1), w, Slo(), overload=False)
    assert rep["transfer"]["decode_prefix_reuse"]["tokens_reused"] == 0
    key = [(s.req.rid, s.first_token_s, s.finish_s) for s in a.sim.sequences]
    assert key == [(s.req.rid, s.first_token_s, s.finish_s) for s in b.sim.sequences]
    assert [(t.rid, t.bytes, t.finish_s) for t in a.transfers] == [(t.rid, t.bytes, t.finish_s) for t in b.transfers]


def test_second_turn_reuses_exactly_the_first_turns_full_blocks(tmp_path):
    # Mooncake-format trace: 512-token hash blocks; the second request repeats the first one's 3 blocks
    trace = tmp_path / "two_turns.jsonl"
    rows = [{"timestamp": 0, "input_length": 1536, "output_length": 20, "hash_ids": [1, 2, 3]},
            {"timestamp": 30000, "input_length": 2000, "output_length": 20, "hash_ids": [1, 2, 3, 4]}]
    trace.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = _dep(True, decode_gpus=1)
    b = build_disagg(d)
    res, _ = run_disagg(d, WorkloadSpec(trace=str(trace)), Slo(), built=b, overload=False)
    assert res.decode_reused_tokens == {1: 1536}  # 96 blocks of 16: all the first prompt's full blocks
    sent = {t.rid: t.bytes for t in res.transfers}
    assert sent == {0: b.kv_bytes(1536), 1: b.kv_bytes(2000 - 1536)}


@settings(max_examples=8, deadline=None)
@given(decode_gpus=st.integers(1, 3), decode_blocks=st.sampled_from([650, 900, None]), seed=st.integers(0, 50),
       turns=st.integers(2, 3))
def test_accounting_holds_for_any_pool_and_sessions(decode_gpus, decode_blocks, seed, turns):
    w = replace(SESSIONS, num_requests=40, turns=turns, seed=seed, rate=4.0)
    _check_accounting(_dep(True, decode_gpus=decode_gpus, decode_blocks=decode_blocks), w)


def test_a_request_no_decode_instance_holds_is_refused_at_arrival():
    w = WorkloadSpec(rate=1.0, num_requests=3, input_len=4000, output_len=20)  # 252 blocks of 16
    for reuse in (False, True):
        with pytest.raises(CoscaleError, match=r"request 0 .* needs 252 KV blocks but a decode instance holds 200"):
            run_disagg(_dep(reuse, decode_gpus=1, decode_blocks=200), w, Slo(), overload=False)


def test_reuse_without_decode_prefix_caching_is_a_one_line_error():
    with pytest.raises(CoscaleError, match="prefix caching on the decode pool"):
        build_disagg(_dep(True, prefix_caching=False))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coscale", "serve", "simulate", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_flag_and_scenario_key_turn_reuse_on(tmp_path):
    common = ("--mode", "disaggregated", "--model", "llama-3.1-8b", "--decode-gpus", "2", "--kv-link", "ethernet",
              "--rate", "3", "--turns", "3", "--think-time", "2", "--num-requests", "45", "--input-len", "900",
              "--output-len", "30", "--seed", "1", "--json")
    flag = _cli(*common, "--decode-prefix-reuse")
    assert flag.returncode == 0, flag.stderr
    scen = tmp_path / "s.json"
    scen.write_text(json.dumps({"decode_prefix_reuse": True}))
    file = _cli(*common, "--scenario", str(scen))
    off = _cli(*common)
    reuse = [json.loads(p.stdout)["transfer"]["decode_prefix_reuse"] for p in (flag, file, off)]
    assert reuse[0] == reuse[1] and reuse[0]["enabled"] and reuse[0]["tokens_reused"] > 0
    assert not reuse[2]["enabled"] and reuse[2]["tokens_reused"] == 0


@pytest.mark.parametrize("args", [("--decode-prefix-reuse",), ("--prefill-gpus", "2"), ("--kv-link", "nvlink")])
def test_aggregated_run_refuses_disaggregated_options(args):
    p = _cli("--num-requests", "5", *args)
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "disaggregated serving only" in err[0] and "Traceback" not in p.stderr


@pytest.mark.parametrize("command", [("capacity", "--slo-ttft-p99", "2"), ("sweep", "--rates", "1")])
@pytest.mark.parametrize(("scenario", "named"), [({"mode": "disaggregated"}, "mode"),
                                                 ({"decode_prefix_reuse": True}, "decode_prefix_reuse")])
def test_capacity_and_sweep_refuse_a_disaggregated_scenario(tmp_path, command, scenario, named):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(scenario))
    p = subprocess.run([sys.executable, "-m", "coscale", "serve", command[0], "--scenario", str(f), *command[1:],
                        "--num-requests", "5"], capture_output=True, text=True, timeout=300)
    err = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(err) == 1
    assert f"sets '{named}'" in err[0] and "aggregated deployments only" in err[0]


DRAM = OffloadConfig(tiers=("dram",), dram_gib=4.0)


def _fingerprint(res) -> tuple:
    seqs = tuple((s.req.rid, s.scheduled_s, s.first_token_s, s.finish_s, s.prefilled) for s in res.sim.sequences)
    return seqs, tuple((t.rid, t.bytes, t.start_s, t.finish_s) for t in res.transfers)


def test_decode_tiers_extend_reuse_when_reading_them_beats_the_link():
    """A tight decode GPU pool evicts the received prompts to host DRAM; later turns load them there
    (DRAM read ~44 GB/s per GPU against ~18 GB/s achieved on Ethernet) instead of pulling them."""
    gpu_only, r0 = _check_accounting(_dep(True, decode_blocks=700), SESSIONS)
    tiered, r1 = _check_accounting(_dep(True, decode_blocks=700, decode_tiers=DRAM), SESSIONS)
    kt = r1["kv_tiers_decode"]
    assert "kv_tiers_decode" not in r0 and kt["tiers"][0]["loaded_blocks"] > 0
    assert r1["transfer"]["bytes_total"] < 0.85 * r0["transfer"]["bytes_total"]
    assert sum(tiered.decode_reused_tokens.values()) > sum(gpu_only.decode_reused_tokens.values())
    for r in tiered.decode:  # tier blocks conserved per decode instance: stored = held + dropped + loaded
        c = r.tiers.chain
        assert c.stored == c.held() + c.dropped + c.loaded > 0


def test_decode_tiers_slower_than_the_link_are_found_but_not_read():
    """Over NVLink (~700 GB/s achieved) a DRAM read never wins: blocks are found there and pulled."""
    _, rep = _check_accounting(_dep(True, decode_blocks=700, decode_tiers=DRAM, link="nvlink"), SESSIONS)
    dram = rep["kv_tiers_decode"]["tiers"][0]
    assert dram["hit_blocks"] > 0 and dram["loaded_blocks"] == 0


def test_zero_sized_decode_tiers_change_nothing_bit_for_bit():
    zero = OffloadConfig(tiers=("dram",), dram_gib=0.0)
    a, _ = run_disagg(_dep(True, decode_blocks=700), SESSIONS, Slo(), overload=False)
    b, _ = run_disagg(_dep(True, decode_blocks=700, decode_tiers=zero), SESSIONS, Slo(), overload=False)
    assert _fingerprint(a) == _fingerprint(b)


def test_decode_tiers_without_reuse_are_a_one_line_error():
    with pytest.raises(CoscaleError, match="KV tiers on the decode pool need decode prefix reuse") as e:
        build_disagg(_dep(False, decode_tiers=DRAM))
    assert "\n" not in str(e.value)
