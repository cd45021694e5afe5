"""Comma-separated option values (`--rates 1,2,4`, `--recipes bf16,nvfp4`): one rule for every command."""

from __future__ import annotations

import math

from coscale.errors import CoscaleError

# Bounds of a comma-separated number: no parallel degree, width, step count or concurrency comes near 2^31 - 1
# (beyond it products overflow the int64 arithmetic downstream); below 1e-300 a rate's reciprocal overflows.
MAX_INTEGER = 2**31 - 1
MIN_FLOAT = 1e-300


def comma_items(text: str, flag: str) -> list[str]:
    """The stripped items of `text`; an empty item (`1,,2`, a leading or trailing comma) is an error, not
    skipped, so a value the user meant is never dropped silently."""
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise CoscaleError(f"{flag} '{text}' has an empty item; separate the values by single commas.")
    return items


def comma_numbers(text: str, flag: str, *, integer: bool = False) -> tuple:
    """The finite positive numbers of `text`: `int`s up to MAX_INTEGER when `integer` (read exactly, so a
    long one is never rounded through a float; `1e3` is 1000), else floats from MIN_FLOAT up."""
    kind = "integers" if integer else "numbers"
    values = []
    for item in comma_items(text, flag):
        try:
            values.append(int(item) if integer and item.lstrip("+-").isdigit() else float(item))
        except ValueError:
            raise CoscaleError(f"{flag} must be comma-separated {kind}, got '{text}'.") from None
    if integer:
        whole = [isinstance(v, int) or (math.isfinite(v) and v.is_integer()) for v in values]
        if not all(whole) or any(not 1 <= v <= MAX_INTEGER for v in values):
            raise CoscaleError(f"{flag} must be whole numbers from 1 to {MAX_INTEGER:,}, got '{text}'.")
        return tuple(int(v) for v in values)
    if any(not MIN_FLOAT <= v < math.inf for v in values):
        raise CoscaleError(f"{flag} must be finite positive numbers (from {MIN_FLOAT:g}), got '{text}'.")
    return tuple(values)
