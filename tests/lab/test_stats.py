"""Paired statistics: the t quantiles, interval coverage, the noise rule."""

from __future__ import annotations

import itertools
import math
import random

from hypothesis import given
from hypothesis import strategies as st

from coscale.lab.stats import T975, gap_pct, paired_stat, separation, t975


def test_t_quantiles_published_values_and_the_expansion_beyond_the_table():
    # independent values: t(0.975) for df 1, 2, 5, 10, 30 from any printed table
    assert [t975(d) for d in (1, 2, 5, 10, 30)] == [12.706, 4.303, 2.571, 2.228, 2.042]
    assert abs(t975(31) - 2.0395) < 0.001 and abs(t975(60) - 2.0003) < 0.001 and abs(t975(120) - 1.9799) < 0.001
    values = [t975(d) for d in range(1, 200)]
    assert all(a > b for a, b in itertools.pairwise(values)) and values[-1] > 1.96
    assert len(T975) == 30


def test_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = random.Random(7)
    for n in (2, 3, 5):
        trials = 4000
        hits = 0
        for _ in range(trials):
            s = paired_stat([rng.gauss(1.0, 0.5) for _ in range(n)])
            hits += s.ci95_low <= 1.0 <= s.ci95_high
        assert 0.935 < hits / trials < 0.965, (n, hits / trials)


@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=8))
def test_interval_brackets_the_mean_and_the_noise_rule_follows_it(values):
    s = paired_stat(values)
    assert s.ci95_low <= s.mean <= s.ci95_high
    assert s.within_noise == (s.ci95_low <= 0 <= s.ci95_high)
    assert separation(s) == ("not separated" if s.within_noise else ("worse" if s.ci95_low > 0 else "better"))
    assert list(s.per_seed) == values


def test_diverged_seeds_are_kept_as_none_and_one_seed_has_no_interval():
    s = paired_stat([1.0, None, 3.0])
    assert s.mean == 2.0 and s.per_seed == (1.0, None, 3.0) and s.has_interval
    one = paired_stat([0.5])
    assert one.mean == 0.5 and one.ci95_low is None and one.within_noise is None
    none = paired_stat([None, math.nan])
    assert none.mean is None and separation(none) == "no interval"
    assert abs(gap_pct(1.01, 1.0) - 1.0) < 1e-12 and gap_pct(2.0, 4.0) == -50.0
