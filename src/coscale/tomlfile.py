"""Reading a user-supplied TOML file (workloads, scenarios, spaces): one-line errors, and the
did-you-mean check of a table's keys that every such file applies."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed file; a syntax or encoding error is one line naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CoscaleError(f"{what} file '{path}' is not valid TOML ({exc}); fix the syntax.") from None


def check_keys(data: Iterable[str], allowed: frozenset[str], where: str) -> None:
    """Refuse the first key not in `allowed`, suggesting the closest valid one."""
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise CoscaleError(f"unknown key '{key}' in {where}{hint}; valid keys: {', '.join(sorted(allowed))}.")
