"""`coscale numerics ...` commands."""

import typer

app = typer.Typer(help="numerics commands", no_args_is_help=True)
