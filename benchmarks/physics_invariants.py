"""Count physics-invariant violations over N random valid configurations per predictor.

    PYTHONPATH=src python benchmarks/physics_invariants.py [N]   (default 1000)

Draws configurations with the strategies of tests/physics/configs.py and applies the checks of
tests/physics/invariants.py; prints, per predictor, configurations tried, rejected (CoscaleError:
invalid for the model or does not fit), checked, violating, and the first few violations.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from tests.physics.configs import inference_scenarios, plan_cases, training_cases
from tests.physics.invariants import (
    check_inference,
    check_inference_sweep,
    check_plan_entry,
    check_training,
)

from coscale.errors import CoscaleError
from coscale.train.planner import plan_training


def _plan(case) -> list[str]:
    ctx, seq, batch = case
    out: list[str] = []
    for p in plan_training(ctx, seq, batch, top=3).ranked:
        out += check_plan_entry(ctx, p)
    return out


def _sweep(s, isl, osl, b) -> list[str]:
    return check_inference_sweep(s, np.asarray(isl)[:, None], np.asarray(osl)[None, :], np.asarray(b))


def run(name: str, strategy, check, n: int) -> None:
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    examples: list[str] = []

    @seed(14)
    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(args) -> None:
        counts["tried"] += 1
        try:
            found = check(*args)
        except CoscaleError:
            counts["rejected"] += 1
            return
        except Exception as e:  # a crash is a violation too
            found = [f"{type(e).__name__}: {e}"]
        counts["checked"] += 1
        for line in found:
            kinds[re.split(r"[0-9(:]", line, maxsplit=1)[0].strip()] += 1
        if found:
            counts["violating"] += 1
            examples.extend(found[:1])

    one()
    print(f"{name}: tried {counts['tried']}, rejected {counts['rejected']}, checked {counts['checked']}, "
          f"violating {counts['violating']}")
    for kind, n in kinds.most_common():
        print(f"    {n:5d} x {kind}")
    for line in examples[:3]:
        print(f"    e.g. {line}")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    which = sys.argv[2].split(",") if len(sys.argv) > 2 else ["inference", "sweep", "training", "planner"]
    lens = st.lists(st.integers(1, 4096), min_size=1, max_size=4)
    table = {
        "inference": (st.tuples(inference_scenarios()), check_inference),
        "sweep": (st.tuples(inference_scenarios(), lens, lens, st.integers(1, 64)), _sweep),
        "training": (training_cases(), check_training),
        "planner": (st.tuples(plan_cases()), _plan),
    }
    for name in which:
        strategy, check = table[name]
        run(name, strategy, check, n)


if __name__ == "__main__":
    main()
