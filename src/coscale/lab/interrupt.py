"""Graceful Ctrl-C: the first SIGINT asks the training loop to checkpoint and stop at the next step
boundary (so no progress is lost and no half-updated state is saved); a second one aborts at once.
An interrupted command exits with `EXIT_INTERRUPTED` (130, the shell's 128 + SIGINT) and the same
command resumes from the checkpoints."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Self

EXIT_INTERRUPTED = 130


class RunInterrupted(Exception):
    """A run stopped on request after checkpointing; rerunning the same command resumes it."""


class GracefulStop:
    """Context manager owning the SIGINT handler for the duration of a run."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __call__(self, step: int) -> bool:
        return self.requested

    def __enter__(self) -> Self:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)
