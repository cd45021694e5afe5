"""Root `coscale` command: registers each sub-command group and turns user errors into exit code 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from coscale.cli import (
    calibrate_cmd,
    describe_cmd,
    explore_cmd,
    feedback_cmd,
    lab_cmd,
    list_cmd,
    numerics_cmd,
    predict_cmd,
    report_cmd,
    train_cmd,
    validate_cmd,
)
from coscale.cli.flags import in_flag_words, in_workload_words
from coscale.errors import EXIT_DOES_NOT_FIT, CoscaleError, DoesNotFitError
from coscale.report.console import print_json

app = typer.Typer(
    name="coscale",
    help="LLM hardware-software co-design: describe, predict, emulate, train, validate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(list_cmd.app, name="list")
predict_cmd.app.command("train")(train_cmd.predict_train)
app.add_typer(predict_cmd.app, name="predict")
app.add_typer(train_cmd.plan_app, name="plan")
app.command("validate")(validate_cmd.validate)
app.command("feedback")(feedback_cmd.feedback)
app.command("calibrate")(calibrate_cmd.calibrate)
app.command("report")(report_cmd.report)
app.add_typer(numerics_cmd.app, name="numerics")
app.add_typer(lab_cmd.app, name="lab")
app.add_typer(explore_cmd.app, name="explore")
app.add_typer(__import__("coscale.cli.serve_cmd", fromlist=["app"]).app, name="serve")


@app.command("describe")
def describe(
    model: str = typer.Option(..., help="Preset id, config.json path, a directory holding one, or lab:<preset>."),
    kv_precision: list[str] = typer.Option([], help="KV-cache formats to size (repeatable; default bf16, fp8, nvfp4)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Layer kinds and counts, parameters (total / active), KV bytes per token, Mamba state bytes."""
    describe_cmd.describe(model, kv_precision, as_json)


def main() -> None:
    """Console-script entry point. Typer reports usage errors itself (exit code 2); a CoscaleError
    raised by a command becomes one red line on stderr and exit code 2, its spec paths shown as the
    flags that set them; a DoesNotFitError (valid request, answer "does not fit") exits 3, with
    {"feasible": false, "reason": ...} on stdout under --json."""
    # `explore` reads spec paths from its space file (`"parallel.tp" = [1, 2]`): its messages keep them;
    # `feedback` reads them as the keys of its workload file (`tp = 3`)
    words = {"explore": lambda m: m, "feedback": in_workload_words}.get(sys.argv[1] if sys.argv[1:] else "",
                                                                         in_flag_words)
    try:
        app()
    except DoesNotFitError as exc:  # a valid request whose answer is "does not fit": exit 3
        line = words(str(exc))
        if "--json" in sys.argv[1:]:
            print_json({"feasible": False, "reason": line, **exc.details})
        Console(stderr=True).print(f"[bold yellow]does not fit:[/] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(EXIT_DOES_NOT_FIT)
    except CoscaleError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {escape(words(str(exc)))}", highlight=False,
                                   soft_wrap=True)
        sys.exit(2)
