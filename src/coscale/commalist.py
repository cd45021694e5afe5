"""Comma-separated option values (`--rates 1,2,4`, `--recipes bf16,nvfp4`): one rule for every command."""

from __future__ import annotations

from coscale.errors import CoscaleError


def comma_items(text: str, flag: str) -> list[str]:
    """The stripped items of `text`; an empty item (`1,,2`, a leading or trailing comma) is an error, not
    skipped, so a value the user meant is never dropped silently."""
    items = [x.strip() for x in text.split(",")]
    if not all(items):
        raise CoscaleError(f"{flag} '{text}' has an empty item; separate the values by single commas.")
    return items
