"""Does a recipe's gap to BF16 grow or shrink with model size and training tokens? A grid of comparisons.

Every grid point is one `lab compare` (`compare.run_compare`: the same seeds and batches for every
recipe, paired per-seed gaps, Student-t 95 % intervals) on the base preset with its width and its
run length changed: `width` sets `d_model`, the attention heads (head size kept) and the MLP and
expert hidden sizes (their ratios to `d_model` kept); `steps` sets the token budget (batch and
sequence length kept). No PTQ and no planner prediction run here.

The trends are paired too: for each recipe, the per-seed gap at the widest model minus the gap at
the narrowest (at each token budget), and at the longest run minus the shortest (at each width),
with their own intervals, so "the gap grows with size" is said only where that interval excludes 0.
Each point keeps its runs in `d<width>-s<steps>/` under the output folder, so an interrupted sweep
resumes; the record is also written to `scaling.json`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.lab.compare import BASELINE, CompareEvents, CompareOptions, run_compare
from coscale.lab.config import Preset
from coscale.lab.data import Corpus
from coscale.lab.model import LabLM, count_parameters
from coscale.lab.outputs import write_json_atomic
from coscale.lab.recipes import Recipe
from coscale.lab.stats import paired_stat, separation

# The published large-scale NVFP4 pre-training run the small models are read against: a 12B hybrid
# Mamba-Transformer trained on 10T tokens, about 1 % relative loss gap to FP8 at the end (NVIDIA,
# "Pretraining Large Language Models with NVFP4", arXiv 2509.25149).
REFERENCE_RUN = {"params": 12e9, "tokens": 10e12, "source": "arXiv 2509.25149 (NVIDIA NVFP4 12B, 10T tokens)"}


@dataclass(frozen=True, kw_only=True, slots=True)
class ScalingGrid:
    widths: tuple[int, ...]
    steps: tuple[int, ...]
    seeds: tuple[int, ...] = (0, 1, 2)

    def __post_init__(self) -> None:
        for name, values in (("--widths", self.widths), ("--steps", self.steps)):
            if not values or len(set(values)) != len(values) or min(values) < 1:
                raise CoscaleError(f"{name} needs distinct positive values, got {list(values)}; pass e.g. "
                                   + ("--widths 64,128,256" if name == "--widths" else "--steps 60,120"))
        if len(self.widths) * len(self.steps) < 2:
            raise CoscaleError("a scaling sweep needs at least two widths or two step counts; pass e.g. "
                               "--widths 64,128 --steps 60")
        if len(self.seeds) < 2:
            raise CoscaleError(f"a scaling sweep needs >= 2 seeds for its intervals, got {len(self.seeds)}; "
                               "pass --seeds 3")

    def points(self) -> list[tuple[int, int]]:
        return [(w, s) for w in sorted(self.widths) for s in sorted(self.steps)]


def scaled_preset(base: Preset, width: int, steps: int) -> Preset:
    """The base preset at `d_model = width` (head size and hidden-size ratios kept) run for `steps`."""
    m, t = base.model, base.train
    if width % m.head_dim or (width // m.head_dim) % m.n_kv_heads:
        unit = m.head_dim * m.n_kv_heads
        raise CoscaleError(f"width {width} does not give a whole number of attention heads of {m.head_dim} in "
                           f"groups of {m.n_kv_heads} KV heads; use a multiple of {unit}")
    try:
        model = dataclasses.replace(m, d_model=width, n_heads=width // m.head_dim,
                                    mlp_hidden=max(1, m.mlp_hidden * width // m.d_model),
                                    expert_hidden=max(1, m.expert_hidden * width // m.d_model))
    except CoscaleError as exc:
        raise CoscaleError(f"width {width}: {exc}") from None
    train = dataclasses.replace(t, steps=steps, warmup_steps=min(t.warmup_steps, max(1, steps // 5)),
                                eval_every=min(t.eval_every, steps), checkpoint_every=min(t.checkpoint_every, steps))
    return dataclasses.replace(base, name=f"{base.name}-d{width}-s{steps}", model=model, train=train)


def _point(preset: Preset, width: int, steps: int, vocab: int, record: dict) -> dict:
    params = count_parameters(LabLM(dataclasses.replace(preset.model, vocab_size=vocab)))
    tokens = steps * preset.train.batch_size * preset.train.seq_len
    runs = {r["recipe"]: r for r in record["runs"]}
    return {
        "width": width,
        "steps": steps,
        "params": params,
        "tokens": tokens,
        "tokens_per_param": tokens / params,
        "bf16_val_loss": runs[BASELINE]["val_loss"],
        "recipes": {name: {"gap_pct": r["gap_pct"], "tail_gap_pct": r["tail_gap_pct"],
                           "gap_within_noise": r["gap_within_noise"],
                           "low_precision_share": r["low_precision_share"]}
                    for name, r in runs.items() if name != BASELINE},
        "wall_seconds": record["wall_seconds"],
    }


def _change(lo: dict, hi: dict, recipe: str) -> dict:
    """Per-seed paired change of a recipe's validation gap from point `lo` to point `hi`."""
    a = lo["recipes"][recipe]["gap_pct"]["per_seed"]
    b = hi["recipes"][recipe]["gap_pct"]["per_seed"]
    stat = paired_stat([None if x is None or y is None else y - x for x, y in zip(a, b, strict=True)])
    verdict = {"worse": "grows", "better": "shrinks"}.get(separation(stat), separation(stat))
    return {"change_pct_points": stat.as_dict(), "verdict": verdict}


def trends(points: list[dict], recipes: list[str]) -> list[dict]:
    """For each recipe: the gap's change with width at every step count, and with steps at every width."""
    out = []
    widths = sorted({p["width"] for p in points})
    steps = sorted({p["steps"] for p in points})
    at = {(p["width"], p["steps"]): p for p in points}
    for recipe in recipes:
        if len(widths) > 1:
            for s in steps:
                lo, hi = at[(widths[0], s)], at[(widths[-1], s)]
                out.append({"recipe": recipe, "along": "width", "at_steps": s, "from": widths[0],
                            "to": widths[-1], "params_ratio": hi["params"] / lo["params"], **_change(lo, hi, recipe)})
        if len(steps) > 1:
            for w in widths:
                lo, hi = at[(w, steps[0])], at[(w, steps[-1])]
                out.append({"recipe": recipe, "along": "steps", "at_width": w, "from": steps[0], "to": steps[-1],
                            "tokens_ratio": hi["tokens"] / lo["tokens"], **_change(lo, hi, recipe)})
    return out


def reach(points: list[dict]) -> dict:
    """How far the largest point is from the published 12B run, in parameters and tokens per parameter."""
    big = max(points, key=lambda p: (p["params"], p["tokens"]))
    ref_tpp = REFERENCE_RUN["tokens"] / REFERENCE_RUN["params"]
    top_tpp = max(p["tokens_per_param"] for p in points)
    return {
        "largest_params": big["params"],
        "params_short_by": REFERENCE_RUN["params"] / big["params"],
        "max_tokens_per_param": top_tpp,
        "tokens_per_param_short_by": ref_tpp / top_tpp,
        "reference": {**REFERENCE_RUN, "tokens_per_param": ref_tpp},
        "reading": (
            f"The largest model here has {big['params'] / 1e6:.2f}M parameters and the longest run "
            f"{top_tpp:.2g} tokens per parameter; the published 12B NVFP4 run has "
            f"{REFERENCE_RUN['params'] / big['params']:,.0f}x the parameters and {ref_tpp / top_tpp:,.0f}x the tokens "
            f"per parameter ({ref_tpp:.0f}). The sweep can say "
            "whether a gap moves with size or tokens within this range, at the intervals shown; it cannot give the "
            "size of the gap at 12B: models this small, trained on this few tokens per parameter, sit where the loss "
            "still falls fast, a different regime from a long run near convergence, so no extrapolation is made."
        ),
    }


def run_scaling(
    base: Preset,
    recipes: list[Recipe],
    corpus: Corpus,
    grid: ScalingGrid,
    *,
    out_dir: Path,
    fp8_backend: str = "emulated",
    events: CompareEvents | None = None,
    should_stop: Callable[[int], bool] | None = None,
    on_point: Callable[[int, int], None] | None = None,
) -> dict:
    """Run the comparison at every grid point (resuming finished runs); return the sweep record."""
    if BASELINE not in [r.name for r in recipes]:
        raise CoscaleError("a scaling sweep needs the bf16 baseline recipe")
    tic = time.perf_counter()
    options = CompareOptions(seeds=grid.seeds, fp8_backend=fp8_backend, ptq_schemes=(), target=None)
    points = []
    for width, steps in grid.points():
        if on_point:
            on_point(width, steps)
        preset = scaled_preset(base, width, steps)
        record = run_compare(preset, recipes, corpus, out_dir=out_dir / f"d{width}-s{steps}", options=options,
                             events=events, should_stop=should_stop)
        points.append(_point(preset, width, steps, corpus.vocab_size, record))
    names = [r.name for r in recipes if r.name != BASELINE]
    record = {
        "preset": base.name,
        "widths": sorted(grid.widths),
        "steps": sorted(grid.steps),
        "seeds": list(grid.seeds),
        "recipes": names,
        "tokens_per_step": base.train.batch_size * base.train.seq_len,
        "statistics": "per-seed paired gaps to bf16 at each point; trends are per-seed paired changes of a gap "
                      "between two points; mean and Student-t 95 % interval over the seeds",
        "points": points,
        "trends": trends(points, names),
        "reach": reach(points),
        "wall_seconds": time.perf_counter() - tic,
    }
    write_json_atomic(out_dir / "scaling.json", record)
    return record
