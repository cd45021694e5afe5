"""Write the report atomically: a temporary file beside the target, then a rename — never a partial file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coscale.errors import CoscaleError


def check_writable(path: Path) -> None:
    """Fail before any work is done when the output cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CoscaleError(f"--out '{path}' is a directory; give a file name such as {path / 'report.html'}.")
    if not parent.is_dir():
        raise CoscaleError(f"--out '{path}': folder '{parent}' does not exist; create it or choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CoscaleError(f"--out '{path}' is not writable; choose a path in a folder you can write to.")


def write_atomic(path: Path, text: str) -> None:
    check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise CoscaleError(f"could not write --out '{path}' ({exc.strerror}); choose another path.") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
