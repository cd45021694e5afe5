"""Root `coscale` command: registers each sub-command group and turns user errors into exit code 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from coscale.cli import lab_cmd, numerics_cmd
from coscale.errors import CoscaleError

app = typer.Typer(
    name="coscale",
    help="LLM hardware-software co-design: describe, predict, emulate, train, validate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(numerics_cmd.app, name="numerics")
app.add_typer(lab_cmd.app, name="lab")


def main() -> None:
    """Console-script entry point: a CoscaleError becomes one red line on stderr and exit code 2."""
    try:
        app(standalone_mode=False)
    except CoscaleError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        Console(stderr=True).print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
