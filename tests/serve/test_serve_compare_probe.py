"""serve compare's capacity probes (routed through capacity_search.evaluate's checks), the vLLM V0
engine preset, the Conductor-style placement of the trace hit-ratio replay and the host-copy rate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coscale.hardware.catalog import load_hardware
from coscale.serve.capacity_search import UNSTABLE_GROWTH, RatePoint
from coscale.serve.compare import CompareSpec, _disagg_probe, _judge
from coscale.serve.disagg.deployment import DisaggDeployment, build_disagg
from coscale.serve.metrics import Slo
from coscale.serve.scenario import Deployment, WorkloadSpec, build, run
from coscale.serve.tiers.config import OffloadConfig
from coscale.serve.tiers.hit_ratio import TraceBlocks, replay_hit_ratio
from coscale.serve.tiers.media import HOST_COPY_EFFICIENCY, tier_media


def _rep(att: float, ttft: float, tpot: float, growth: float = 0.0) -> dict:
    return {"slo_attainment": att, "ttft_s": {"p99": ttft}, "tpot_s": {"p99": tpot}, "queue_growth": growth}


@given(att=st.floats(0, 1), ttft=st.floats(0.01, 10), tpot=st.floats(0.001, 1), growth=st.floats(0, 1))
@settings(max_examples=60, deadline=None)
def test_judge_keeps_refusals_and_applies_the_compare_slo(att, ttft, tpot, growth):
    p99 = CompareSpec(gpus=2, slo_ttft_p99_s=2.0, slo_tpot_p99_s=0.2)
    share = replace(p99, attainment=0.9)
    rejected = RatePoint(rate=1.0, ok=False, report=_rep(att, ttft, tpot, growth), why="the queue grows")
    point = RatePoint(rate=1.0, ok=True, report=_rep(att, ttft, tpot, growth))
    if growth > UNSTABLE_GROWTH:  # an unstable queue is never rescued by the SLO
        assert not _judge(share, rejected).ok and not _judge(p99, rejected).ok
        return
    assert _judge(share, point).ok == (att >= 0.9)
    assert _judge(p99, point).ok == (ttft <= 2.0 and tpot <= 0.2)
    assert _judge(share, point).ok or _judge(share, point).why


def test_disagg_probe_refuses_a_rate_above_saturation_without_a_run():
    d = DisaggDeployment(prefill=Deployment(model="llama-3.1-8b", gpus=1), decode=Deployment(model="llama-3.1-8b",
                         gpus=1), kv_link="nvlink")
    spec = CompareSpec(gpus=2)
    probe = _disagg_probe(spec, d, WorkloadSpec(rate=1.0, duration_s=5), build_disagg(d), Slo(ttft_s=2.0, tpot_s=0.2),
                          capacity_rps=3.0)
    p = probe(6.0)
    assert not p.ok and p.report is None and "saturated" in p.why
    q = probe(0.5)  # a light load: a complete run with a stable queue that meets the SLO
    assert q.report is not None and q.ok and q.report["queue_growth"] <= UNSTABLE_GROWTH


def test_vllm_v0_prefills_a_prompt_whole_in_one_step():
    v0 = build(Deployment(model="llama-3.1-8b", engine="vllm-v0"))
    v1 = build(Deployment(model="llama-3.1-8b", engine="vllm"))
    assert not v0.sched.chunked_prefill and v0.sched.policy == "prefill_first" and v1.sched.chunked_prefill
    w = WorkloadSpec(rate=1.0, input_len=12000, output_len=2, num_requests=1)
    steps = {}
    for name, eng in (("v0", "vllm-v0"), ("v1", "vllm")):
        res, _ = run(Deployment(model="llama-3.1-8b", engine=eng), w, Slo())
        steps[name] = len(res.replicas[0].log.arrays()["batch_seqs"])
    assert steps["v0"] == 2  # the whole prompt, then the one decode step
    assert steps["v1"] > steps["v0"]  # 12,000 tokens in chunks of the 8,192-token budget


def _sessions(n: int, turns: int) -> list[TraceBlocks]:
    """`n` conversations interleaved turn by turn; turn t repeats the previous turns' blocks."""
    out = []
    for t in range(1, turns + 1):
        for s in range(n):
            ids = tuple(s * 1000 + b for b in range(2 * t))
            out.append(TraceBlocks(input_tokens=512 * len(ids), ids=ids))
    return out


@pytest.mark.parametrize("caches", [1, 3, 5])
def test_kv_aware_placement_keeps_conversations_on_their_cache(caches):
    reqs = _sessions(7, 6)
    rr = replay_hit_ratio(reqs, 40, caches=caches)
    kv = replay_hit_ratio(reqs, 40, caches=caches, placement="kv_aware")
    assert kv.token_ratio >= rr.token_ratio
    if caches == 1:
        assert kv.token_ratio == rr.token_ratio
    glob = replay_hit_ratio(reqs, None)
    assert kv.token_ratio <= glob.token_ratio + 1e-12  # never above an unbounded shared cache


def test_dram_loads_run_at_the_measured_host_copy_rate():
    hw = load_hardware("h100-sxm")
    (m,) = tier_media(OffloadConfig(tiers=("dram",)), hw, 1e6, 16, 1, 1)
    assert m.read_Bps == pytest.approx(hw.memory.host.bandwidth_Bps * HOST_COPY_EFFICIENCY)
    assert m.write_Bps == pytest.approx(hw.memory.host.bandwidth_Bps)
    assert 0 < HOST_COPY_EFFICIENCY < 1
