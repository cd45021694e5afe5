"""Run many `coscale` invocations in one interpreter through the installed console-script entry point.

Reads a JSON list of argument lists on stdin; for each, sets `sys.argv`, calls the entry point
(`coscale.cli.app:main`, resolved through importlib.metadata like the `coscale` script), and records
the exit code, stdout and stderr (a traceback as the exception's last line). Prints one JSON list.
One interpreter start instead of one per command keeps the wiring test fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from importlib.metadata import entry_points


def main() -> None:
    (ep,) = entry_points(group="console_scripts", name="coscale")
    if ep.value != "coscale.cli.app:main":
        raise SystemExit(f"the coscale console script points at {ep.value}")
    entry = ep.load()
    results = []
    real_stdout = sys.stdout
    for args in json.load(sys.stdin):
        out, err = io.StringIO(), io.StringIO()
        sys.argv = ["coscale", *args]
        code, crash = 0, ""
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                entry()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            code, crash = -1, f"{type(exc).__name__}: {exc}"
        results.append({"args": args, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                        "crash": crash})
    real_stdout.write(json.dumps(results))


if __name__ == "__main__":
    main()
