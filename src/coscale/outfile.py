"""An output file named by the user (`--out`), checked before any work is spent on its content.

A run that cannot write its result must fail at once with one line, not after minutes of work and not
with a traceback: the path must not be a folder, its folder must exist, a file must be creatable
there (checked by creating and removing one: permissions, a read-only mount and pseudo-filesystems
all show up that way), and an existing file there must be writable (never replaced behind its mode).
Every command with an output file calls this one check (serve, explore, calibrate, report).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from coscale.errors import CoscaleError


def check_out_file(path: str | Path, flag: str = "--out", suffix: str | None = None) -> Path:
    """`path` as a writable output file (with `suffix`, when given)."""
    p = Path(path)
    if suffix is not None and p.suffix != suffix:
        raise CoscaleError(f"{flag} must name a {suffix} file, got '{path}'.")
    if p.is_dir():
        raise CoscaleError(f"{flag} '{path}' is a folder; name a file (e.g. '{p / ('out' + (suffix or ''))}').")
    folder = p.parent
    if folder.exists() and not folder.is_dir():
        raise CoscaleError(f"{flag} '{path}' lies under '{folder}', which is a file, not a folder; pick a path in "
                           f"a folder.")
    if not folder.is_dir():
        raise CoscaleError(f"{flag} folder '{folder}' does not exist; create it first.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".coscale-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CoscaleError(f"{flag}: cannot write in folder '{folder}' ({e.strerror}); pick a writable one.") from None
    if p.exists() and not os.access(p, os.W_OK):
        raise CoscaleError(f"{flag} '{path}' is not writable; choose another file or change its mode.")
    return p


def temp_beside(path: Path) -> Path:
    """An unused temporary name in `path`'s folder, not yet created: a writer that creates it (so it gets
    the usual mode, from the umask) and then renames it onto `path` replaces `path` in one step."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
