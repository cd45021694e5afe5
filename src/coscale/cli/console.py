"""The rich console every command prints its tables to."""

from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 150  # when output goes to a file or pipe, rich would wrap tables at 80 columns


def make_console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
