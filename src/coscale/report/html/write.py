"""Write the report atomically: a temporary file beside the target, then a rename — never a partial file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.outfile import check_out_file


def write_atomic(path: Path, text: str) -> None:
    check_out_file(path)
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
