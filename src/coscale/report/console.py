"""Where rendered output goes: the rich console for tables and stdout for `--json`."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

PIPE_WIDTH = 150  # when output goes to a file or pipe, rich would wrap tables at 80 columns


def make_console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)


def json_safe(value: Any) -> Any:
    """`value` with inf/nan floats as strings (\"inf\", \"nan\"), so the output stays strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def print_json(data: dict[str, Any]) -> None:
    """The one way `--json` output is written: exactly one strict JSON object on stdout."""
    print(json.dumps(json_safe(data), allow_nan=False))
