"""User-facing outcomes that are not a normal answer, and their CLI exit codes.

Convention (README, "Exit codes"): exit 0 is an answer; exit 2 is bad input (`CoscaleError`: one
line naming the problem and the fix); exit 3 is a valid request whose answer is "does not fit /
infeasible" (`DoesNotFitError`): one line on stderr and, with --json, one JSON object on stdout
with `"feasible": false` and the `"reason"`.
"""

EXIT_BAD_INPUT = 2
EXIT_DOES_NOT_FIT = 3


class CoscaleError(ValueError):
    """A user-facing error: the message names the problem and how to fix it."""


class DoesNotFitError(CoscaleError):
    """The request is valid, but the answer is that it does not fit (memory) or nothing is feasible.

    `details` are extra JSON fields printed next to `"feasible": false` and `"reason"` under --json
    (for example the `capacity_rps` of an overloaded serving deployment)."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details
