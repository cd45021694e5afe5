"""The one exception type the CLI turns into a one-line message and exit code 2."""


class CoscaleError(ValueError):
    """A user-facing error: the message names the problem and how to fix it."""
