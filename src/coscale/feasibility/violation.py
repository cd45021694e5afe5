"""A broken feasibility rule as data, and the error that carries a list of them.

`field` is a spec path (`parallel.tp`, `request.input_len`, `train.global_batch`), never a CLI
flag: the CLI maps paths to its flags when it prints the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from coscale.errors import CoscaleError


@dataclass(frozen=True, kw_only=True, slots=True)
class Violation:
    field: str  # spec path of the value to change
    reason: str  # what is wrong, in spec words, e.g. "parallel.tp=3 does not divide the 32 attention heads of X"
    fix: str  # how to fix it ("" when the reason says it all)
    code: str  # one of coscale.feasibility.codes.CODES

    @property
    def message(self) -> str:
        return f"{self.reason}; {self.fix}." if self.fix else f"{self.reason}."


class InfeasibleError(CoscaleError):
    """A layout or request that breaks at least one rule; the message is the first violation."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        if not violations:
            raise ValueError("InfeasibleError needs at least one violation")
        self.violations: tuple[Violation, ...] = tuple(violations)
        super().__init__(self.violations[0].message)


def raise_if_any(violations: Sequence[Violation]) -> None:
    if violations:
        raise InfeasibleError(violations)
