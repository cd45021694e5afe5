"""Output files of the lab written whole or not at all: a temporary file in the same folder, then
an atomic rename over the target, so a reader never sees a half-written JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json_atomic(path: Path, record: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
