"""`python -m coscale` runs the CLI."""

from coscale.cli.app import main

if __name__ == "__main__":  # a spawned worker process imports this module without running the CLI
    main()
