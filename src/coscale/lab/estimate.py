"""How long a comparison will take, measured before it starts: a few timed steps of every recipe.

A step's cost differs tenfold between recipes (NVFP4's Hadamard transforms and stochastic rounding
are emulated in FP32) and with the machine's load, so nothing is assumed: each recipe trains 3
throw-away steps on the comparison's own threads and the median of the last two sets its rate.
Evaluation passes are counted as forward passes at a third of a training step (forward is about
1 of the 3 matmul passes of a step: an assumption, good to ~30 % here).
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import time
from dataclasses import dataclass

from coscale.lab.config import Preset
from coscale.lab.data import Corpus
from coscale.lab.recipes import Recipe
from coscale.lab.train import StepInfo, train_run

PROBE_STEPS = 3
FORWARD_SHARE = 1 / 3  # assumption: an evaluation batch costs a third of a training step


@dataclass(frozen=True, kw_only=True, slots=True)
class Estimate:
    seconds: float
    step_s: dict[str, float]  # measured seconds per training step, per recipe
    runs: int
    steps: int
    threads: int

    def describe(self) -> str:
        slowest = max(self.step_s, key=self.step_s.__getitem__)
        return (f"expected duration about {self.seconds / 60:.1f} min: {self.runs} runs x {self.steps} steps "
                f"on {self.threads} thread(s), measured {min(self.step_s.values()):.2f}-"
                f"{self.step_s[slowest]:.2f} s/step ({slowest} slowest); more if the machine gets busier")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _probe(preset: Preset, recipe: Recipe, corpus: Corpus, backend: str) -> float:
    stamps: list[float] = []
    train = dataclasses.replace(preset.train, steps=PROBE_STEPS, warmup_steps=1, eval_every=PROBE_STEPS,
                                eval_batches=1, checkpoint_every=PROBE_STEPS)

    def on_step(info: StepInfo) -> None:
        stamps.append(time.perf_counter())

    result, _ = train_run(dataclasses.replace(preset, train=train), recipe, corpus, seed=0, out_dir=None,
                          on_step=on_step, fp8_backend=backend)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return statistics.median(gaps) if gaps else result.train_seconds


def estimate_compare(preset: Preset, recipes: list[Recipe], corpus: Corpus, options) -> Estimate:
    """Seconds `run_compare(preset, recipes, corpus, options=options)` should take on this machine now."""
    t = preset.train
    step_s = {r.name: _probe(preset, r, corpus, options.fp8_backend) for r in recipes}
    n_seeds = len(options.seeds)
    train = sum(step_s.values()) * t.steps * n_seeds
    evals_per_run = (t.steps // t.eval_every) * t.eval_batches + t.compare_val_batches
    evals = sum(s * evals_per_run * FORWARD_SHARE for s in step_s.values()) * n_seeds
    base = step_s.get("bf16", min(step_s.values()))
    ptq_batches = len(options.ptq_schemes) * n_seeds * (t.compare_val_batches + options.calibration_batches)
    ptq = ptq_batches * base * FORWARD_SHARE
    return Estimate(seconds=train + evals + ptq, step_s=step_s, runs=len(recipes) * n_seeds, steps=t.steps,
                    threads=t.threads)
