"""`serve compare` searches expert-parallel layouts of a MoE model: which (TP, EP) instances it
enumerates, per-instance screen rates of attention-DP instances, and an end-to-end run."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from coscale.serve.compare import CompareSpec, compare, instance_layouts, layout_name
from coscale.serve.disagg.screen import decode_rate, prefill_rate
from coscale.serve.scenario import Deployment, WorkloadSpec, build
from coscale.specs.execution import Parallelism

from .test_serve_disagg import _cli


@pytest.mark.parametrize(("tps", "eps", "limit"), list(itertools.product([(1, 2, 4, 8), (2, 8)], [(1,), (1, 4, 16)],
                                                                         [4, 16])))
def test_layouts_are_tp_in_a_domain_and_ep_above_tp(tps, eps, limit):
    spec = CompareSpec(gpus=16, tps=tps, eps=eps)
    got = instance_layouts(spec, "h100-sxm", limit)  # 8-GPU NVLink domain
    expected = [(t, e) for t in tps for e in eps
                if t <= min(limit, 8) and (e == 1 or (e > t and e % t == 0 and e <= limit))]
    assert got == expected
    assert all(max(t, e) <= limit for t, e in got)


def test_an_attention_dp_instance_screens_as_its_ranks():
    ep = build(Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=4, precision="fp8"))
    rank = replace(ep, parallel=Parallelism(gpus=4, tp=1, ep=1))  # the same per-rank cost, counted as one
    assert (ep.ranks_per_instance, rank.ranks_per_instance) == (4, 1)
    # the rank's rate times its ranks: every rank as loaded as the others (the core's symmetric rank)
    assert prefill_rate(ep, 1000) == pytest.approx(4 * prefill_rate(rank, 1000))
    rate, batch = decode_rate(ep, 1000, 200, 0.1)
    assert batch >= 1 and rate == pytest.approx(4 * decode_rate(rank, 1000, 200, 0.1)[0])
    assert layout_name((1, 4)) == "TP1 EP4" and layout_name((2, 1)) == "TP2"


def test_compare_measures_expert_parallel_layouts():
    spec = CompareSpec(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=2, precision="fp8", tps=(1,), eps=(1, 2),
                       candidates=2)
    out = compare(spec, WorkloadSpec(rate=1.0, input_len=800, output_len=120, length_dist="lognormal",
                                     duration_s=8, seed=1))
    layouts = {(x["tp"], x["ep"]) for x in out["aggregated"]["layouts"]}
    assert layouts == {(1, 1), (1, 2)}
    # an EP2 instance takes both GPUs, leaving none for the other pool: every split is EP1 + EP1
    assert out["screened"] and all((r["prefill_ep"], r["decode_ep"], r["gpus"]) == (1, 1, 2) for r in out["screened"])
    for x in out["aggregated"]["layouts"]:
        assert 0 < x["capacity_rps"] <= x["saturated_rps"] * 1.0001


def test_bad_eps_is_one_line():
    bad = _cli("serve", "compare", "--gpus", "2", "--eps", "1,x")
    assert bad.returncode == 2 and "--eps must be comma-separated integers" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
