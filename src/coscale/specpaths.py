"""A relative path written inside a spec file names a file beside that file, wherever the command runs.

`coscale serve simulate --scenario runs/chat.json` with `"trace": "chat.jsonl"` reads
`runs/chat.jsonl`, as Docker Compose and Kubernetes read paths in their files. Values that may be an
id or a path (a model preset or a config.json, a hardware id or a JSON file) are resolved only when
the file beside the spec exists; otherwise they stay as written (an id, an absolute path, or a path
from the working folder, which earlier versions read and which keeps working).
"""

from __future__ import annotations

from pathlib import Path


def beside(value: str, spec_file: Path) -> str:
    """`value` resolved against `spec_file`'s folder when it is a relative path to a file there."""
    p = Path(value).expanduser()
    if p.is_absolute() or not value.strip():
        return value
    candidate = spec_file.parent / p
    return str(candidate) if candidate.exists() else value
