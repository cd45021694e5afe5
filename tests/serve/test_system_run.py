"""Runs of the shipped scenarios: every request passes each stage once per visit, Little's law holds
per pool, end-to-end latency is the sum of the stage latencies of a chain and at least the sum of
their service times and of the unloaded run's, and an agent's context grows and hits the cache."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from coscale.cli.serve_system_cmd import EXAMPLES, scenario_path
from coscale.serve.system.reader import read_scenario
from coscale.serve.system.runner import SystemRun, run_system, with_load

SMALL = {"retrieval": 40, "voice": 24, "agent": 12}


@pytest.fixture(scope="module")
def cache() -> dict:
    return {}


@pytest.fixture(scope="module")
def runs(cache: dict) -> dict[str, SystemRun]:
    return {name: run_system(with_load(read_scenario(scenario_path(name)), num_requests=SMALL[name]), cache)
            for name in EXAMPLES}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_request_passes_each_stage_once_per_visit(runs: dict[str, SystemRun], name: str) -> None:
    sim = runs[name].sim
    assert len(sim.runs) == SMALL[name] and all(r.finish_s >= r.arrival_s for r in sim.runs)
    sent = {p.spec.name: 0 for p in sim.pools}
    for r in sim.runs:
        graph = sim.graphs[r.graph]
        for spec, sr, pool in zip(graph.spec.stages, r.stages, graph.pool, strict=True):
            expected = {"encode": spec.fanout, "agent": spec.turns, "delay": 0}.get(spec.kind, 1)
            assert sr.visits == expected
            assert r.arrival_s <= sr.ready_s <= sr.done_s <= r.finish_s
            if pool is not None:
                sent[sim.pools[pool].spec.name] += sr.visits
    for p in sim.pools:
        finished = sum(len(rep.finished) for rep in p.replicas)
        assert p.arrivals == sent[p.spec.name] == finished == p.finished  # none lost, none twice
        assert not sim.owner  # every request handed back to its stage
        rids = [s.req.rid for rep in p.replicas for s in rep.finished]
        assert len(set(rids)) == len(rids)


@pytest.mark.parametrize("name", EXAMPLES)
def test_littles_law_per_pool(runs: dict[str, SystemRun], name: str) -> None:
    """L (time-average of requests in the pool, integrated at every enqueue and completion) equals
    lambda x W with W from the engine's own per-request records (arrival to finish)."""
    run = runs[name]
    span = run.report["simulated_s"]
    for p in run.sim.pools:
        w = np.mean([s.finish_s - s.req.arrival_s for rep in p.replicas for s in rep.finished])
        lam = p.arrivals / span
        rep = run.report["pools"][p.spec.name]
        assert rep["mean_in_pool"] == pytest.approx(lam * w, rel=1e-9)
        assert rep["mean_time_in_pool_s"] == pytest.approx(w, rel=1e-9)
        assert 0.0 <= rep["utilisation"] <= 1.0 + 1e-9


@pytest.mark.parametrize("name", EXAMPLES)
def test_e2e_is_the_chain_of_stage_latencies_and_covers_service(runs: dict[str, SystemRun], name: str) -> None:
    sim = runs[name].sim
    for r in sim.runs:
        e2e = r.finish_s - r.arrival_s
        lat = sum(sr.done_s - sr.ready_s for sr in r.stages)  # the examples are chains
        service = sum(sr.service_s for sr in r.stages)
        assert e2e == pytest.approx(lat, abs=1e-9)
        assert e2e >= service - 1e-9
        spec = sim.graphs[r.graph].spec
        for s, sr in zip(spec.stages, r.stages, strict=True):
            if s.kind == "delay":
                assert sr.done_s - sr.ready_s == pytest.approx(s.seconds)
            assert sr.service_s <= sr.done_s - sr.ready_s + 1e-9


@pytest.mark.parametrize("name", ["retrieval", "voice"])
def test_loaded_e2e_at_least_the_lone_request(runs: dict[str, SystemRun], cache: dict, name: str) -> None:
    """A request alone in the system is never slower than under load (fixed lengths: sigma 0)."""
    sc = read_scenario(scenario_path(name))
    fixed = replace(sc, graphs=tuple(replace(g, stages=tuple(replace(s, length_sigma=0.0) for s in g.stages))
                                     for g in sc.graphs))
    alone = run_system(with_load(fixed, num_requests=1), cache).report["graphs"]
    loaded = run_system(with_load(fixed, num_requests=30, rate=30.0), cache).report["graphs"]
    for g in alone:
        assert loaded[g]["e2e_s"]["p50"] >= alone[g]["e2e_s"]["mean"] * (1 - 1e-9)
        assert loaded[g]["e2e_s"]["p99"] > alone[g]["e2e_s"]["mean"]  # queueing shows at 30 req/s


def test_agent_context_grows_and_hits_the_prefix_cache(runs: dict[str, SystemRun]) -> None:
    sim = runs["agent"].sim
    spec = sim.graphs[0].spec.stages[0]
    block = sim.pools[0].built.block_size
    for r in sim.runs:
        sr = r.stages[0]
        task = sr.task
        assert task is not None and len(sr.turn_prompts) == spec.turns
        growth = np.diff(sr.turn_prompts)
        assert np.array_equal(growth, np.asarray(task.outputs[:-1]) + spec.tool_tokens)  # output + tool result
        # the shared system prompt's full blocks are cached after the first task ran
        assert sr.turn_hits[0] <= spec.shared_prefix_tokens
        for k in range(1, spec.turns):  # the KV pool is ample here: the last prompt's full blocks all hit
            assert sr.turn_hits[k] == (sr.turn_prompts[k - 1] // block) * block
    hits = runs["agent"].report["graphs"]["agent_task"]["stages"]["loop"]["hit_ratio_by_turn"]
    assert all(b > a for a, b in itertools.pairwise(hits))  # a growing share of each prompt is reused


def test_agent_without_prefix_caching_hits_nothing_and_is_slower(runs: dict[str, SystemRun], cache: dict) -> None:
    sc = with_load(read_scenario(scenario_path("agent")), num_requests=SMALL["agent"])
    off = replace(sc, pools=tuple(replace(p, prefix_caching=False) for p in sc.pools))
    rep = run_system(off, cache).report["graphs"]["agent_task"]
    on = runs["agent"].report["graphs"]["agent_task"]
    assert rep["stages"]["loop"]["prefix_hit_ratio"] == 0.0
    assert rep["e2e_s"]["mean"] > on["e2e_s"]["mean"]


def test_report_names_a_binding_stage_and_pool_loads(runs: dict[str, SystemRun]) -> None:
    rep = runs["voice"].report
    g = rep["graphs"]["voice_turn"]
    loads = {name: st["pool_load"] for name, st in g["stages"].items()}
    assert g["binding_stage"] == max(loads, key=loads.__getitem__)
    for p in rep["pools"].values():
        assert p["capacity_per_s"] > 0 and p["load"] == pytest.approx(p["offered_rate_per_s"] / p["capacity_per_s"])
        assert p["offered_rate_per_s"] >= p["arrival_rate_per_s"]  # the run's span includes the final drain


def test_closed_loop_runs_exactly_the_requested_number(cache: dict) -> None:
    """More completions than slots left must not launch extra requests."""
    run = run_system(with_load(read_scenario(scenario_path("agent")), concurrency=4, num_requests=6), cache)
    assert len(run.sim.runs) == 6 and run.sim.pools[0].arrivals == 6 * 8
    starts = sorted(r.arrival_s for r in run.sim.runs)
    assert starts[:4] == [0.0] * 4 and min(starts[4:]) > 0  # the later ones start when earlier ones end


def test_asr_requests_pay_their_encoder_pass(runs: dict[str, SystemRun]) -> None:
    """Whisper requests run the audio encoder (costed by the core step contract) before their first
    token, and the pool keeps no prefix cache (decoder KV depends on the audio)."""
    sim = runs["voice"].sim
    asr = next(p for p in sim.pools if "asr" in p.kinds)
    assert not asr.built.sched.prefix_caching
    encoder_s = asr.built.cost.encoder_pass(1)[0]
    assert encoder_s > 1e-3  # 32 layers over 1,500 positions: milliseconds even on an H100
    for rep in asr.replicas:
        for s in rep.finished:
            assert s.first_token_s - s.scheduled_s >= encoder_s


def test_drawn_lengths_stay_within_the_model(cache: dict) -> None:
    """Log-normal lengths around means near the limits are clipped to Whisper's 448 positions and
    the reranker's 514 (about half of the draws exceed them)."""
    def widened(name: str, stage: str, **sizes: int) -> SystemRun:
        sc = read_scenario(scenario_path(name))
        g = sc.graphs[0]
        stages = tuple(replace(s, length_sigma=0.5, **sizes) if s.name == stage else s for s in g.stages)
        return run_system(with_load(replace(sc, graphs=(replace(g, stages=stages),)), num_requests=8), cache)

    for run, pool in ((widened("voice", "transcribe", output_tokens=420), "asr"),
                      (widened("retrieval", "rerank", input_tokens=500), "rerank")):
        p = next(p for p in run.sim.pools if p.spec.name == pool)
        limit = p.built.model.max_position_embeddings
        sizes = [s.req.input_tokens + s.req.output_tokens for rep in p.replicas for s in rep.finished]
        assert max(sizes) <= limit and max(sizes) >= 0.9 * limit  # clipped, not merely short


def test_first_output_is_the_last_stage_first_token(runs: dict[str, SystemRun]) -> None:
    rep = runs["voice"].report["graphs"]["voice_turn"]
    assert rep["first_output_stage"] == "speak"
    for r in runs["voice"].sim.runs:
        speak = r.stages[2]
        assert r.arrival_s < speak.ready_s < speak.first_token_s <= speak.done_s == r.finish_s
    first, e2e, ttft = rep["first_output_s"], rep["e2e_s"], rep["stages"]["speak"]["ttft_s"]
    assert first["mean"] < e2e["mean"]
    before = sum(rep["stages"][s]["latency_s"]["mean"] for s in ("transcribe", "answer"))
    assert first["mean"] == pytest.approx(before + ttft["mean"])  # a chain: the stages before, then the TTFT
    assert "first_output_s" not in runs["agent"].report["graphs"]["agent_task"]


def test_fan_in_waits_for_every_branch_and_graphs_share_a_pool(cache: dict) -> None:
    """A stage after two branches (one listed twice) starts when the later one ends; two graphs on
    one LLM pool are counted together in it."""
    run = run_system(read_scenario(Path(__file__).with_name("system_mixed.toml")), cache)
    sim = run.sim
    fanin = next(i for i, g in enumerate(sim.graphs) if g.spec.name == "fanin")
    done = [r for r in sim.runs if r.graph == fanin]
    assert done
    for r in done:
        a, b, c = r.stages
        assert c.ready_s == pytest.approx(max(a.done_s, b.done_s)) and b.done_s - b.ready_s == pytest.approx(0.2)
        assert a.ready_s == b.ready_s == r.arrival_s
    llm = next(p for p in sim.pools if p.spec.name == "llm")
    assert llm.kinds == frozenset({"generate", "agent"})
    assert llm.arrivals == len(done) + 3 * (len(sim.runs) - len(done))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_pool_draws_between_its_chips_idle_power_and_tdp(runs: dict[str, SystemRun], name: str) -> None:
    """Energy conservation: the pools' energies (passes plus idle draw) add up to the system's per
    request, their shares to one, and each pool's mean power per GPU lies within its chip's range."""
    from coscale.hardware.catalog import load_hardware

    rep, sim = runs[name].report, runs[name].sim
    span = rep["simulated_s"]
    total = 0.0
    for p in sim.pools:
        r = rep["pools"][p.spec.name]
        power = load_hardware(p.spec.hardware).power
        watts = (r["energy_j"] + r["idle_energy_j"]) / span / r["gpus"]
        assert power.idle_w <= watts <= power.tdp_w, (p.spec.name, watts)
        total += r["energy_j"] + r["idle_energy_j"]
    assert rep["energy_j_per_request"] == pytest.approx(total / len(sim.runs), rel=1e-12)
    assert sum(r["energy_share"] for r in rep["pools"].values()) == pytest.approx(1.0, rel=1e-12)
