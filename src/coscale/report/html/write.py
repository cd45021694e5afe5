"""Write the report atomically: a temporary file beside the target, then a rename — never a partial file."""

from __future__ import annotations

import os
from pathlib import Path

from coscale.errors import CoscaleError
from coscale.outfile import check_out_file, temp_beside


def write_atomic(path: Path, text: str) -> None:
    check_out_file(path)
    tmp = temp_beside(path)
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CoscaleError(f"could not write --out '{path}' ({exc.strerror}); choose another path.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
