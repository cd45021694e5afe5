"""Keep numba's on-disk cache of the compiled engine consistent with all of its sources.

numba keys a cached function on the file that defines it (its modification time and size), not on
the files it calls into: a kernel compiled before an edit of `pool.py` or `cost.py` alone would be
loaded stale. `drop_stale_cache` hashes every source of this package and, when the hash differs from
the one recorded beside the cache, deletes the cached index and code files so numba recompiles.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "coscale_compiled_sources.sha256"


def sources_digest(package_dir: Path) -> str:
    """SHA-256 over the package's Python sources, in name order."""
    h = hashlib.sha256()
    for path in sorted(package_dir.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def drop_stale_cache(package_dir: Path) -> bool:
    """Delete numba's cache files in `package_dir/__pycache__` if the sources changed since they were
    written; True when something was deleted. A read-only install (numba then caches elsewhere,
    and a reinstall changes every file's time) is left alone."""
    cache = package_dir / "__pycache__"
    digest = sources_digest(package_dir)
    stamp = cache / STAMP
    try:
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return False
        stale = [p for p in cache.glob("*.nb[ic]")] if cache.is_dir() else []
        for p in stale:
            p.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        tmp = cache / (STAMP + ".tmp")
        tmp.write_text(digest + "\n")
        tmp.replace(stamp)
        return bool(stale)
    except OSError:
        return False
