"""Run one CLI invocation in-process through the real entry point (`coscale.cli.app.main`, what
`python -m coscale` calls) with a wall-clock bound, and classify the outcome."""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import sys
from dataclasses import dataclass
from typing import Any

from coscale.cli.app import main

TIME_LIMIT_S = 60  # per invocation: a hang is a failure, not a stuck CI job


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    crash: str  # a traceback's last line, '' when the CLI exited on its own


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Hang


def invoke(args: list[str]) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    old_argv, old_handler = sys.argv, signal.signal(signal.SIGALRM, _alarm)
    sys.argv = ["coscale", *args]
    signal.alarm(TIME_LIMIT_S)
    code, crash = 0, ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _Hang:
        code, crash = -1, f"no answer within {TIME_LIMIT_S} s"
    except BaseException as exc:  # any escaping exception is the finding
        code, crash = -2, f"{type(exc).__name__}: {exc}"[:300]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        sys.argv = old_argv
    return Outcome(code=code, stdout=out.getvalue(), stderr=err.getvalue(), crash=crash)


def non_finite(value: Any, path: str = "") -> list[str]:
    """Paths of non-finite numbers in a JSON document (json_safe writes them as 'inf' / 'nan')."""
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{path}[{i}]")]
    return []


def problems(o: Outcome, allowed: list[int], as_json: bool) -> list[str]:
    """What is wrong with an outcome: a crash or hang, an unexpected exit code, an error that is not
    one line, or an answer with non-finite numbers."""
    if o.crash:
        return [o.crash]
    out = []
    if o.code not in allowed:
        out.append(f"exit {o.code}, expected one of {allowed}: {o.stderr.strip()[:200]}")
    if o.code in (2, 3):
        lines = [ln for ln in o.stderr.splitlines() if ln.strip()]
        if len(lines) != 1 or "Traceback" in o.stderr:
            out.append(f"exit {o.code} without exactly one stderr line: {o.stderr[:300]!r}")
    if o.code in (0, 3) and as_json and o.stdout.strip():
        try:
            doc = json.loads(o.stdout)
        except json.JSONDecodeError:
            return [*out, f"--json printed no JSON object: {o.stdout[:200]!r}"]
        if doc.get("feasible", True) and non_finite(doc):
            out.append(f"non-finite numbers in the answer at {non_finite(doc)[:3]}")
    if o.code == 0 and not as_json and any(t in o.stdout for t in (" inf ", " nan", "nan%", "inf s")):
        out.append("non-finite numbers in the printed answer")
    return out
