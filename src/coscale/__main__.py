"""`python -m coscale` runs the CLI."""

from coscale.cli.app import main

main()
