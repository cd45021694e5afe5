"""Commands that need an optional extra say so in one line instead of a traceback."""

from __future__ import annotations

import importlib

from coscale.errors import CoscaleError


def require_torch(command: str) -> None:
    """The lab and the numerics tensor operations need torch (the `lab` extra)."""
    try:
        importlib.import_module("torch")
    except ImportError:
        raise CoscaleError(
            f"`coscale {command}` needs torch; install the lab extra: python -m pip install 'coscale[lab]'"
        ) from None
