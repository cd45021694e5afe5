"""Reading a user-supplied JSON file safely: bounded size and nesting, one-line errors.

`json` recurses per nesting level (a file of 100,000 '[' ends in RecursionError) and reads the
whole file into memory, so both are bounded before parsing. Integers with more digits than
Python converts (ValueError) are refused too; the readers of each field check finiteness and range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError

MAX_BYTES = 16 * 2**20  # no config, hardware, efficiency or space file comes near 16 MiB (assumption)
MAX_DEPTH = 64  # the deepest shipped file nests 6 levels (assumption: 10x headroom)


def _nesting(text: str) -> int:
    """Deepest bracket nesting outside strings, without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json_text(text: str, where: str, fix: str) -> Any:
    """Decode `text`; every problem is a CoscaleError naming `where` and ending with `fix`."""
    if len(text) > MAX_BYTES:
        raise CoscaleError(f"{where}: {len(text):,} characters, more than the {MAX_BYTES:,} allowed; {fix}")
    depth = _nesting(text)
    if depth > MAX_DEPTH:
        raise CoscaleError(f"{where}: JSON nested {depth} levels deep, more than the {MAX_DEPTH} allowed; {fix}")
    try:
        return json.loads(text)  # NaN/Infinity constants parse (real configs hold them); fields are checked later
    except json.JSONDecodeError as exc:
        raise CoscaleError(
            f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); {fix}") from None
    except (ValueError, RecursionError) as exc:
        raise CoscaleError(f"{where}: unreadable JSON value ({exc}); {fix}") from None


def read_json_file(path: Path, where: str | None = None, fix: str = "fix the file") -> Any:
    """Read and decode one JSON file with the bounds above."""
    where = where or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CoscaleError(f"{where}: {size:,} bytes, more than the {MAX_BYTES:,} allowed; {fix}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CoscaleError(f"{where}: cannot be read ({exc}); check the path and that it is UTF-8 text") from None
    return parse_json_text(text, where, fix)
