"""`coscale lab ...`: train a small hybrid LM under a precision recipe, compare recipes and PTQ.

The lab modules (and torch) are imported inside the commands, so other coscale commands start fast.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from coscale.cli.extras import require_torch
from coscale.commalist import comma_items, comma_numbers
from coscale.errors import CoscaleError
from coscale.lab.interrupt import EXIT_INTERRUPTED, RunInterrupted
from coscale.lab.outputs import write_json_atomic
from coscale.report.console import make_console, print_json
from coscale.report.lab import (
    compare_notes,
    compare_tables,
    preset_table,
    preset_to_dict,
    recipes_table,
    recipes_to_dict,
    run_table,
    run_to_dict,
    scaling_tables,
)

app = typer.Typer(
    help="Train small hybrid LMs in BF16/FP8/MXFP8/NVFP4 and compare with post-training quantization.",
    no_args_is_help=True,
)

PRESET_HELP = "model/training preset: ci, default or gpu"
DATA_HELP = "folder of your own text files (default: the Python standard library's source)"
BACKEND_HELP = "emulated (FP32 GEMMs on FP8-rounded operands) or real (torch._scaled_mm on FP8 tensor cores, sm_89+)"


def _backend_note(preset, requested: str) -> None:
    """One line on stderr when --fp8-backend real cannot run real FP8 GEMMs here."""
    from coscale.lab.fp8_real import resolve_backend
    from coscale.lab.train import pick_device

    choice = resolve_backend(requested, pick_device(preset.train.device))
    if choice.reason:
        Console(stderr=True, soft_wrap=True).print(choice.reason, markup=False, highlight=False)


def _output_folder(out: Path) -> bool:
    """Create the run folder up front, so a bad --out fails before any training time is spent; whether
    this call made it."""
    if out.exists() and not out.is_dir():
        raise CoscaleError(f"--out {out} is an existing file; pass a folder for the run's checkpoints and outputs")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.mkdir()
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        raise CoscaleError(f"cannot create --out {out}: {exc.strerror}; pass a writable folder") from None


def _with_threads(preset):
    """The preset with torch's intra-op threads set from the free cores (affinity set minus load)."""
    import dataclasses

    from coscale.lab.threads import pick_threads

    choice = pick_threads(preset.train.threads)
    Console(stderr=True, soft_wrap=True).print(
        f"torch threads: {choice.threads} ({choice.cores} cores available, load average {choice.load:.1f})",
        markup=False, highlight=False,
    )
    return dataclasses.replace(preset, train=dataclasses.replace(preset.train, threads=choice.threads))


def _folder_and_corpus(out: Path, preset, data: Path | None, tokenizer: str = "byte", vocab: int = 256):
    """(run folder, corpus): the folder made first, so a bad --out fails before any work; a refused corpus
    (bad --data, --tokenizer or --vocab) removes the folder again when this call made it."""
    from coscale.lab.data import load_corpus

    made = _output_folder(out)
    try:
        return out, load_corpus(
            data_dir=data,
            max_bytes=preset.train.data_bytes,
            val_fraction=preset.train.val_fraction,
            tokenizer=tokenizer,
            vocab_size=vocab,
            cache_dir=out / "tokenizer",
        )
    except CoscaleError:
        if made:  # only what this call wrote: the tokenizer cache, then the folder if nothing else is in it
            shutil.rmtree(out / "tokenizer", ignore_errors=True)
            with contextlib.suppress(OSError):
                out.rmdir()
        raise


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  {task.fields[tps]:,.0f} tok/s"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@dataclass(kw_only=True, slots=True)
class _RunBar:
    """Progress callbacks of a comparison: one bar per (recipe, seed) run, after an optional label."""

    bar: Progress
    label: str = ""
    task: TaskID | None = None

    def start(self, recipe, total: int, seed: int) -> None:
        self.task = self.bar.add_task(f"{self.label}{recipe.name} s{seed}", total=total, loss=math.nan, tps=0.0)

    def step(self, s) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=s.step, loss=s.loss, tps=s.tokens_per_s)

    def ptq(self, scheme, seed: int) -> None:
        self.bar.console.print(f"PTQ {scheme.name} ({scheme.label}), seed {seed}")

    def events(self):
        from coscale.lab.compare import CompareEvents

        return CompareEvents(on_run_start=self.start, on_step=self.step, on_ptq=self.ptq)


def _train_with_bar(err: Console, job: Callable[[_RunBar, Callable[[int], bool]], dict]) -> dict:
    """Run `job(bar, should_stop)` under a progress display; Ctrl-C checkpoints and exits 130."""
    from coscale.lab.interrupt import GracefulStop

    with _progress() as bar, GracefulStop() as stop:
        try:
            return job(_RunBar(bar=bar), stop)
        except RunInterrupted as exc:
            err.print(f"{exc}; checkpoints kept, rerun the same command to resume", markup=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None


@app.command()
def train(
    preset: str = typer.Option("ci", help=PRESET_HELP),
    recipe: str = typer.Option("bf16", help="precision recipe (see `coscale lab recipes`)"),
    steps: int | None = typer.Option(None, help="training steps (default: the preset's)"),
    seed: int = typer.Option(0, help="seed for weights, data order and stochastic rounding"),
    out: Annotated[Path | None, typer.Option(help="run folder; default lab-runs/<preset>-<recipe>-s<seed>")] = None,
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    tokenizer: str = typer.Option("byte", help="byte (vocab 256) or bpe (trained with `tokenizers`, cached)"),
    vocab: int | None = typer.Option(None, help="BPE vocabulary size (default 1024; --tokenizer bpe only)"),
    fp8_backend: str = typer.Option("emulated", help=BACKEND_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Train one run; resumes from the checkpoint in --out; Ctrl-C checkpoints and stops."""
    if vocab is not None and tokenizer != "bpe":
        raise CoscaleError(f"--vocab sizes the BPE tokenizer; the {tokenizer} tokenizer has its own (256): add "
                           f"--tokenizer bpe or drop --vocab.")
    vocab = 1024 if vocab is None else vocab
    require_torch("lab train")
    from coscale.lab.config import get_preset
    from coscale.lab.interrupt import GracefulStop
    from coscale.lab.recipes import get_recipe
    from coscale.lab.train import train_run

    p, r = _with_threads(get_preset(preset, steps=steps)), get_recipe(recipe)
    _backend_note(p, fp8_backend)
    out, corpus = _folder_and_corpus(out or Path("lab-runs") / f"{p.name}-{r.name}-s{seed}", p, data, tokenizer, vocab)
    with _progress() as bar, GracefulStop() as stop:
        task = bar.add_task(f"{r.name}", total=p.train.steps, loss=math.nan, tps=0.0)
        result, _ = train_run(
            p,
            r,
            corpus,
            seed=seed,
            out_dir=out,
            should_stop=stop,
            on_step=lambda s: bar.update(task, completed=s.step, loss=s.loss, tps=s.tokens_per_s),
            fp8_backend=fp8_backend,
        )
    record = run_to_dict(p.name, r.name, seed, out, result)
    if as_json:
        print_json(record)
    else:
        make_console().print(run_table(record))
    if result.interrupted:
        message = f"interrupted at step {result.steps}; rerun the same command to resume"
        Console(stderr=True, soft_wrap=True).print(message, markup=False)
        raise typer.Exit(EXIT_INTERRUPTED)


@app.command()
def compare(
    preset: str = typer.Option("ci", help=PRESET_HELP),
    steps: int | None = typer.Option(None, help="training steps per recipe (default: the preset's)"),
    seeds: int = typer.Option(3, help="seeds 0..N-1, each shared by every recipe (paired gaps, 95 % intervals)"),
    recipes: str | None = typer.Option(None, help="comma-separated recipes (default: all; bf16 is added)"),
    tail_steps: int | None = typer.Option(None, help="train-tail window in steps (default: a sixth of the run)"),
    hardware: str = typer.Option("b200", help="chip the training planner costs each recipe on"),
    gpus: int = typer.Option(8, help="GPUs of the planner's Llama 3.1 8B benchmark layout (a multiple of 2)"),
    model: str = typer.Option("llama-3.1-8b", help="model the planner costs each recipe for"),
    fp8_backend: str = typer.Option("emulated", help=BACKEND_HELP),
    out: Annotated[Path | None, typer.Option(help="output folder; default lab-runs/compare-<preset>")] = None,
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Train every recipe on the same seeds and data, run PTQ, print paired gaps with 95 % intervals."""
    require_torch("lab compare")
    from coscale.lab.compare import CompareOptions, run_compare
    from coscale.lab.config import get_preset
    from coscale.lab.estimate import estimate_compare
    from coscale.lab.recipes import get_recipe, list_recipes
    from coscale.lab.tradeoff import TradeoffTarget, predict_recipes

    if seeds < 1 or seeds > 100:
        raise CoscaleError(f"--seeds must be between 1 and 100, got {seeds}; 3 or more give a 95 % interval")
    names = list_recipes() if recipes is None else comma_items(recipes, "--recipes")
    p = get_preset(preset, steps=steps)
    if tail_steps is not None and tail_steps > p.train.steps:
        raise CoscaleError(f"--tail-steps {tail_steps} is longer than the run's {p.train.steps} steps; give at most "
                           f"{p.train.steps}")
    p = _with_threads(p)
    chosen = [get_recipe(n) for n in (["bf16"] + [n for n in names if n != "bf16"])]
    target = TradeoffTarget(model=model, hardware=hardware, gpus=gpus)
    options = CompareOptions(seeds=tuple(range(seeds)), tail_steps=tail_steps, fp8_backend=fp8_backend, target=target)
    predict_recipes(target, [r.name for r in chosen])  # a bad --model/--hardware fails now, not after training
    _backend_note(p, fp8_backend)
    out, corpus = _folder_and_corpus(out or Path("lab-runs") / f"compare-{p.name}", p, data)
    err = Console(stderr=True, soft_wrap=True)
    estimate = estimate_compare(p, chosen, corpus, options)
    err.print(estimate.describe(), markup=False, highlight=False)
    record = _train_with_bar(err, lambda bar, stop: run_compare(p, chosen, corpus, out_dir=out, options=options,
                                                                 should_stop=stop, events=bar.events()))
    record["estimate"] = estimate.as_dict()
    files = {"json": str(out / "compare.json")}
    try:
        from coscale.report.plots import write_loss_plots

        png, html = write_loss_plots(record, out)
        files.update({"png": str(png), "html": str(html)})
    except ImportError as exc:  # matplotlib / plotly are report extras; the numbers stand without them
        err.print(f"plots skipped ({exc.name} is not installed)", markup=False)
    record["files"] = files
    write_json_atomic(out / "compare.json", record)
    if as_json:
        print_json(record)
        return
    console = make_console()
    for table in compare_tables(record):
        console.print(table)
    for line in [*compare_notes(record), f"schedule: {record['schedule']}"]:
        console.print(line, markup=False, highlight=False)
    console.print(f"wall time {record['wall_seconds']:.1f} s on {record['threads']} thread(s); files: "
                  + ", ".join(files.values()), markup=False, highlight=False)


@app.command()
def scaling(
    preset: str = typer.Option("ci", help=PRESET_HELP + " (the base the widths and steps change)"),
    widths: str = typer.Option("64,128,256", help="comma-separated model widths (d_model; heads, hidden sizes scale)"),
    steps: str = typer.Option("60,120", help="comma-separated training steps (the token budgets)"),
    recipes: str = typer.Option("fp8-tensor,nvfp4", help="comma-separated recipes (bf16 is added)"),
    seeds: int = typer.Option(3, help="seeds 0..N-1 at every point (paired gaps and trends, 95 % intervals)"),
    fp8_backend: str = typer.Option("emulated", help=BACKEND_HELP),
    out: Annotated[Path | None, typer.Option(help="output folder; default lab-runs/scaling-<preset>")] = None,
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Sweep model width and token budget: does each recipe's gap to BF16 grow or shrink, with intervals."""
    require_torch("lab scaling")
    from coscale.lab.compare import CompareOptions
    from coscale.lab.config import get_preset
    from coscale.lab.estimate import estimate_compare
    from coscale.lab.recipes import get_recipe
    from coscale.lab.scaling import ScalingGrid, run_scaling, scaled_preset

    if seeds < 2 or seeds > 100:
        raise CoscaleError(f"--seeds must be between 2 and 100 for the intervals, got {seeds}; pass --seeds 3")
    grid = ScalingGrid(widths=comma_numbers(widths, "--widths", integer=True),
                       steps=comma_numbers(steps, "--steps", integer=True), seeds=tuple(range(seeds)))
    base = _with_threads(get_preset(preset))
    names = comma_items(recipes, "--recipes")
    chosen = [get_recipe(n) for n in (["bf16"] + [n for n in names if n != "bf16"])]
    if len(chosen) < 2:
        raise CoscaleError("--recipes needs at least one recipe besides bf16; pass e.g. --recipes fp8-tensor,nvfp4")
    presets = [scaled_preset(base, w, s) for w, s in grid.points()]  # a bad width fails now, before training
    _backend_note(base, fp8_backend)
    out, corpus = _folder_and_corpus(out or Path("lab-runs") / f"scaling-{base.name}", base, data)
    err = Console(stderr=True, soft_wrap=True)
    options = CompareOptions(seeds=grid.seeds, fp8_backend=fp8_backend, ptq_schemes=(), target=None)
    seconds = sum(estimate_compare(p, chosen, corpus, options).seconds for p in presets)
    err.print(f"expected duration about {seconds / 60:.1f} min: {len(presets)} points x {len(chosen)} recipes x "
              f"{seeds} seeds on {base.train.threads} thread(s) (measured steps at every point); more if the machine "
              "gets busier", markup=False, highlight=False)

    def sweep(bar: _RunBar, stop) -> dict:
        return run_scaling(base, chosen, corpus, grid, out_dir=out, fp8_backend=fp8_backend, should_stop=stop,
                           events=bar.events(), on_point=lambda w, n: setattr(bar, "label", f"d{w} {n} steps "))

    record = _train_with_bar(err, sweep)
    record["expected_seconds"] = seconds
    record["threads"] = base.train.threads
    write_json_atomic(out / "scaling.json", record)
    if as_json:
        print_json(record)
        return
    console = make_console()
    for table in scaling_tables(record):
        console.print(table)
    console.print(record["reach"]["reading"], markup=False, highlight=False)
    console.print(f"wall time {record['wall_seconds']:.1f} s on {record['threads']} thread(s); file: "
                  f"{out / 'scaling.json'}", markup=False, highlight=False)


@app.command("recipes")
def recipes_cmd(as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """List the precision recipes and what each operand role uses."""
    from coscale.lab.recipes import get_recipe, list_recipes

    data = recipes_to_dict([get_recipe(n) for n in list_recipes()])
    if as_json:
        print_json(data)
        return
    make_console().print(recipes_table(data["recipes"]))


@app.command()
def describe(
    preset: str = typer.Option("ci", help=PRESET_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Show a preset's layers as the predictor's ModelSpec sees them, with parameter count."""
    require_torch("lab describe")
    from coscale.lab.config import get_preset
    from coscale.lab.model import LabLM, count_parameters
    from coscale.lab.spec import to_model_spec

    p = get_preset(preset)
    spec = to_model_spec(p.model, name=p.name)
    data = preset_to_dict(p, spec, count_parameters(LabLM(p.model)))
    if as_json:
        print_json(data)
        return
    make_console().print(preset_table(data))


__all__ = ["CoscaleError", "app"]
