"""How many ranks or nodes a token's experts reach, uniform and group-limited, against enumeration
and a simulation of DeepSeek-V3's router."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.models.loader import parse_config
from coscale.models.registry import load_model
from coscale.specs.model import MoESpec
from coscale.workload.ffn import deepep_normal_share, expected_destinations, hit_probability


def moe(experts: int, top_k: int, groups: int = 1, per_token: int = 1) -> MoESpec:
    return MoESpec(num_experts=experts, top_k=top_k, expert_intermediate_size=1, activation="swiglu",
                   routing_groups=groups, groups_per_token=per_token)


@pytest.mark.parametrize(("experts", "top_k", "dests"), [(16, 4, 4), (16, 2, 8), (12, 3, 3), (8, 8, 2), (16, 1, 4)])
def test_uniform_destinations_match_enumeration(experts, top_k, dests):
    per = experts // dests
    picks = list(itertools.combinations(range(experts), top_k))
    exact = sum(len({e // per for e in pick}) for pick in picks) / len(picks)
    assert expected_destinations(moe(experts, top_k), dests) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize(("experts", "top_k", "groups", "per_token"), [(12, 3, 4, 2), (12, 4, 3, 2), (16, 3, 4, 3),
                                                                       (8, 2, 2, 1)])
def test_group_limited_hit_probability_matches_enumeration_of_its_process(experts, top_k, groups, per_token):
    """Every range of experts, against the process the formula describes enumerated outcome by
    outcome: a uniform subset of groups, one uniform expert in each, the rest uniform on the others."""
    size = experts // groups
    spec = moe(experts, top_k, groups, per_token)
    for lo, hi in itertools.combinations(range(experts + 1), 2):
        miss = total = 0.0
        for sel in itertools.combinations(range(groups), per_token):
            for best in itertools.product(*[range(g * size, (g + 1) * size) for g in sel]):
                rest = [e for g in sel for e in range(g * size, (g + 1) * size) if e not in best]
                for more in itertools.combinations(rest, top_k - per_token):
                    total += 1
                    miss += not any(lo <= e < hi for e in best + more)
        assert hit_probability(spec, lo, hi) == pytest.approx(1 - miss / total, rel=1e-12, abs=1e-12)


def _deepseek_v3_router(tokens: int, dests: int, seed: int = 0) -> float:
    """Mean distinct destinations per token of DeepSeek-V3's router on i.i.d. logits: sigmoid scores, each
    of 8 groups scored by its top-2 experts, the best 4 groups kept, the top-8 experts among them."""
    experts, groups, keep, k = 256, 8, 4, 8
    s = 1.0 / (1.0 + np.exp(-np.random.default_rng(seed).standard_normal((tokens, experts))))
    g = s.reshape(tokens, groups, experts // groups)
    score = np.sort(g, axis=2)[:, :, -2:].sum(axis=2)
    chosen = np.argsort(-score, axis=1)[:, :keep]
    masked = np.full((tokens, groups), -np.inf)
    np.put_along_axis(masked, chosen, 0.0, axis=1)
    top = np.argpartition(-(g + masked[:, :, None]).reshape(tokens, experts), k, axis=1)[:, :k]
    d = np.sort(top // (experts // dests), axis=1)
    return float(np.mean(1 + np.count_nonzero(np.diff(d, axis=1), axis=1)))


@pytest.mark.parametrize("dests", [2, 4, 8, 16, 32, 64])
def test_group_limited_destinations_follow_deepseek_v3_router(dests):
    spec = load_model("deepseek-v3").layers[-1].ffn
    assert (spec.routing_groups, spec.groups_per_token) == (8, 4)
    simulated = _deepseek_v3_router(20_000, dests)
    assert expected_destinations(spec, dests) == pytest.approx(simulated, rel=0.015)
    uniform = expected_destinations(moe(256, 8), dests)
    assert expected_destinations(spec, dests) < uniform or dests == 256


def test_deepep_normal_share_deduplicates_per_rank_then_per_node():
    u = moe(256, 8)
    assert deepep_normal_share(u, 256, 8) == pytest.approx(expected_destinations(u, 32) / 8)  # 32 nodes
    assert deepep_normal_share(u, 8, 8) == pytest.approx(expected_destinations(u, 8) / 8)  # one node
    # across nodes only the RDMA rows count: fewer than the intranode rows at the node boundary, then more
    # as nodes are added; never more than one row per expert
    for spec in (u, moe(256, 8, 8, 4)):
        shares = [deepep_normal_share(spec, ep, 8) for ep in (8, 16, 32, 64, 128, 256)]
        assert all(0 < s <= 1 for s in shares)
        assert shares[0] > shares[1] < shares[2] < shares[3] < shares[4] < shares[5]
    # a last domain of fewer ranks (EP128 over 72-GPU racks: 72 + 56) holds fewer experts
    racks = deepep_normal_share(u, 128, 72) * 8
    picks = list(itertools.combinations(range(16), 2))  # 16 experts, top-2, EP8 over domains of 5 + 3 ranks
    exact = sum(len({min(e // 2 // 5, 1) for e in pick}) for pick in picks) / len(picks)
    assert deepep_normal_share(moe(16, 2), 8, 5) * 2 == pytest.approx(exact, rel=1e-12)
    assert 1.9 < racks < 2.0
    # DeepSeek-V3 over 4 nodes of 2 groups each: the 4 selected groups' distinct nodes
    assert deepep_normal_share(moe(256, 8, 8, 4), 32, 8) * 8 == pytest.approx(4 * (1 - 15 / 70))


def _deepseek_v3_with(**keys: object) -> MoESpec:
    preset = Path(__file__).parents[2] / "src/coscale/models/presets/deepseek-v3.json"
    config = json.loads(preset.read_text(encoding="utf-8")) | keys
    return parse_config(config, name="v3-variant", where="config.json").layers[-1].ffn


@pytest.mark.parametrize(("keys", "expected"), [
    ({}, (8, 4)),
    ({"topk_method": "group_limited_greedy", "topk_group": 3}, (8, 3)),  # DeepSeek-V2's router
    ({"topk_method": "greedy", "topk_group": 3}, (1, 1)),  # V2-Lite: plain top-k
    ({"topk_group": 8}, (1, 1)),  # every group selectable
])
def test_routing_groups_read_from_the_config(keys, expected):
    spec = _deepseek_v3_with(**keys)
    assert (spec.routing_groups, spec.groups_per_token) == expected


@pytest.mark.parametrize(("keys", "message"), [({"n_group": 6, "topk_group": 2}, "n_group=6 does not divide"),
                                               ({"topk_group": 9}, "topk_group=9 exceeds")])
def test_bad_routing_groups_are_one_line_errors(keys, message):
    with pytest.raises(CoscaleError, match=message):
        _deepseek_v3_with(**keys)
