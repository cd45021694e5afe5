"""The `coscale` command line (typer + rich)."""
