"""KV-tier and prefix-hit cases of the serving validation category."""

from __future__ import annotations

import pytest

from coscale.validation.serving_tiers import load_tier_cases, run_tier_cases


def test_tier_cases_have_sources_and_assumptions():
    cases = load_tier_cases()
    assert {c["kind"] for c in cases} == {"hit_ratio", "global_vs_local", "offload_throughput", "warm_speedup"}
    for c in cases:
        assert c["source"] and c["published"] > 0 and c["unit"] and c["assumptions"]


def test_mooncake_hit_ratio_cases_within_one_point():
    ids = ("MCT-conv-hit-inf", "MCT-conv-hit-lru5M", "MCT-syn-hit", "MCT-syn-hit-lru5M")
    results = run_tier_cases(ids)
    assert [r.id for r in results] == list(ids)
    for r in results:
        assert r.category == "serving"
        assert abs(r.predicted - r.published) < 1.0, (r.id, r.predicted)


@pytest.mark.slow
def test_lmcache_cpu_offload_loses_as_reported():
    (r,) = run_tier_cases(("LMC-neg-cpu",))
    assert r.predicted < 1.0  # offload slower than recompute, as the report found
    assert abs(r.error) < 0.1, (r.predicted, r.note)
