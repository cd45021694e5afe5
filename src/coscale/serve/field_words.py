"""An error of one part of a deployment (a disaggregated pool, a system file's pool, a scenario file's
section) in the words of what configured that part: the library names what to change by a flag
(`--tp 3 does not divide ...`) or a spec path (`parallel.gpus=3 ...`), which for such a part is its own
flag (`--prefill-tp`) or key (`tp`)."""

from __future__ import annotations

import re
from collections.abc import Callable

_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)(?![\w-])")
_PATH = re.compile(r"(?<![\w.])parallel\.(gpus|tp|pp|ep)(?![\w])")


def rename_fields(message: str, flag: Callable[[str], str | None],
                  path: Callable[[str], str | None] = lambda _: None) -> str:
    """`message` with each flag `--x` replaced by `flag(x)` and each spec path `parallel.x` by `path(x)`
    (None: left as it is)."""
    message = _FLAG.sub(lambda m: flag(m.group(1)) or m.group(0), message)
    return _PATH.sub(lambda m: path(m.group(1)) or m.group(0), message)
