"""Comma-separated option values (`--rates 1,2,4`, `--recipes bf16,nvfp4`): one rule for every command."""

from __future__ import annotations

import math

from coscale.errors import CoscaleError


def comma_items(text: str, flag: str) -> list[str]:
    """The stripped items of `text`; an empty item (`1,,2`, a leading or trailing comma) is an error, not
    skipped, so a value the user meant is never dropped silently."""
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise CoscaleError(f"{flag} '{text}' has an empty item; separate the values by single commas.")
    return items


def comma_numbers(text: str, flag: str, *, integer: bool = False) -> tuple:
    """The finite positive numbers of `text` (`int`s when `integer`: each must be whole)."""
    kind = "integers" if integer else "numbers"
    items = comma_items(text, flag)
    try:
        values = [float(x) for x in items]
    except ValueError:
        raise CoscaleError(f"{flag} must be comma-separated {kind}, got '{text}'.") from None
    if any(not 0 < v < math.inf for v in values) or (integer and any(v != int(v) for v in values)):
        raise CoscaleError(f"{flag} must be finite positive {kind}, got '{text}'.")
    return tuple(int(v) for v in values) if integer else tuple(values)
