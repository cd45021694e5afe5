"""`coscale lab ...`: train a small hybrid LM under a precision recipe, compare recipes and PTQ.

The lab modules (and torch) are imported inside the commands, so other coscale commands start fast.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from coscale.cli.extras import require_torch
from coscale.errors import CoscaleError
from coscale.report.console import make_console, print_json
from coscale.report.lab import (
    compare_tables,
    preset_table,
    preset_to_dict,
    recipes_table,
    recipes_to_dict,
    run_table,
    run_to_dict,
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
        Console(stderr=True).print(choice.reason, markup=False, highlight=False)


def _output_folder(out: Path) -> Path:
    """Create the run folder up front, so a bad --out fails before any training time is spent."""
    if out.exists() and not out.is_dir():
        raise CoscaleError(f"--out {out} is an existing file; pass a folder for the run's checkpoints and outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CoscaleError(f"cannot create --out {out}: {exc.strerror}; pass a writable folder") from None
    return out


def _corpus(preset, data: Path | None, tokenizer: str, vocab: int, out: Path):
    from coscale.lab.data import load_corpus

    return load_corpus(
        data_dir=data,
        max_bytes=preset.train.data_bytes,
        val_fraction=preset.train.val_fraction,
        tokenizer=tokenizer,
        vocab_size=vocab,
        cache_dir=out / "tokenizer",
    )


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


@app.command()
def train(
    preset: str = typer.Option("ci", help=PRESET_HELP),
    recipe: str = typer.Option("bf16", help="precision recipe (see `coscale lab recipes`)"),
    steps: int | None = typer.Option(None, help="training steps (default: the preset's)"),
    seed: int = typer.Option(0, help="seed for weights, data order and stochastic rounding"),
    out: Annotated[Path | None, typer.Option(help="run folder; default lab-runs/<preset>-<recipe>-s<seed>")] = None,
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    tokenizer: str = typer.Option("byte", help="byte (vocab 256) or bpe (trained with `tokenizers`, cached)"),
    vocab: int = typer.Option(1024, help="BPE vocabulary size"),
    fp8_backend: str = typer.Option("emulated", help=BACKEND_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Train one run; resumes from the checkpoint in --out; Ctrl-C checkpoints and stops."""
    require_torch("lab train")
    from coscale.lab.config import get_preset
    from coscale.lab.interrupt import GracefulStop
    from coscale.lab.recipes import get_recipe
    from coscale.lab.train import train_run

    p, r = get_preset(preset, steps=steps), get_recipe(recipe)
    _backend_note(p, fp8_backend)
    out = _output_folder(out or Path("lab-runs") / f"{p.name}-{r.name}-s{seed}")
    corpus = _corpus(p, data, tokenizer, vocab, out)
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
        return
    make_console().print(run_table(record))
    if result.interrupted:
        make_console().print(f"interrupted at step {result.steps}; rerun the same command to resume")


@app.command()
def compare(
    preset: str = typer.Option("ci", help=PRESET_HELP),
    steps: int | None = typer.Option(None, help="training steps per recipe (default: the preset's)"),
    seed: int = typer.Option(0, help="seed shared by every recipe"),
    recipes: str | None = typer.Option(None, help="comma-separated recipes (default: all; bf16 is added)"),
    out: Annotated[Path | None, typer.Option(help="output folder; default lab-runs/compare-<preset>-s<seed>")] = None,
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Train every recipe with the same seed and data, run PTQ variants, write table + loss-curve plots."""
    require_torch("lab compare")
    from coscale.lab.compare import CompareEvents, run_compare
    from coscale.lab.config import get_preset
    from coscale.lab.recipes import get_recipe, list_recipes

    p = get_preset(preset, steps=steps)
    names = list_recipes() if recipes is None else [n.strip() for n in recipes.split(",") if n.strip()]
    chosen = [get_recipe(n) for n in (["bf16"] + [n for n in names if n != "bf16"])]
    out = _output_folder(out or Path("lab-runs") / f"compare-{p.name}-s{seed}")
    corpus = _corpus(p, data, "byte", 256, out)
    with _progress() as bar:
        state: dict = {}

        def start(recipe, total: int) -> None:
            state["task"] = bar.add_task(recipe.name, total=total, loss=math.nan, tps=0.0)

        def step(s) -> None:
            bar.update(state["task"], completed=s.step, loss=s.loss, tps=s.tokens_per_s)

        def ptq(scheme) -> None:
            bar.console.print(f"PTQ {scheme.name} ({scheme.label})")

        record = run_compare(
            p,
            chosen,
            corpus,
            seed=seed,
            out_dir=out,
            events=CompareEvents(on_run_start=start, on_step=step, on_ptq=ptq),
        )
    from coscale.report.plots import write_loss_plots

    png, html = write_loss_plots(record, out)
    record["files"] = {"json": str(out / "compare.json"), "png": str(png), "html": str(html)}
    if as_json:
        print_json(record)
        return
    console = make_console()
    for table in compare_tables(record):
        console.print(table)
    if record["seed_noise"]:
        n = record["seed_noise"]
        console.print(
            f"seed noise: bf16 with seed {n['seed']} lands at {n['val_loss']:.4f} ({n['gap_pct']:+.2f}%); "
            "validation gaps of that size are not significant (the train-tail gap is paired: same batches)"
        )
    console.print(f"wall time {record['wall_seconds']:.1f} s; plots: {png}, {html}")


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
