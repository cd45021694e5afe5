"""Rounding and overflow policy names, and their check: plain values, so configs import without torch."""

from __future__ import annotations

from typing import Literal

from coscale.errors import CoscaleError

Rounding = Literal["nearest_even", "stochastic"]
Overflow = Literal["saturate", "nan", "inf"]
ROUNDINGS = ("nearest_even", "stochastic")
OVERFLOWS = ("saturate", "nan", "inf")


def check_policies(rounding: str, overflow: str) -> None:
    if rounding not in ROUNDINGS:
        raise CoscaleError(f"unknown rounding {rounding!r}; use one of {', '.join(ROUNDINGS)}")
    if overflow not in OVERFLOWS:
        raise CoscaleError(f"unknown overflow policy {overflow!r}; use one of {', '.join(OVERFLOWS)}")
