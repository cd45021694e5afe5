"""numba's cache of the compiled engine is dropped when any of its sources changes, not only the
file that defines the cached function."""

from pathlib import Path

from coscale.serve.compiled.cache_guard import STAMP, drop_stale_cache, sources_digest


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "compiled"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "kernel.py").write_text("def simulate(): pass\n")
    (pkg / "pool.py").write_text("def allocate(): pass\n")
    return pkg


def _cached(pkg: Path) -> list[str]:
    for name in ("kernel.simulate-1.py311.nbi", "kernel.simulate-1.py311.1.nbc"):
        (pkg / "__pycache__" / name).write_bytes(b"x")
    return sorted(p.name for p in (pkg / "__pycache__").glob("*.nb[ic]"))


def test_cache_kept_while_sources_unchanged_and_dropped_when_a_callee_changes(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    drop_stale_cache(pkg)  # first sight: records the digest
    assert (pkg / "__pycache__" / STAMP).read_text().strip() == sources_digest(pkg)
    assert _cached(pkg)
    assert drop_stale_cache(pkg) is False
    assert list((pkg / "__pycache__").glob("*.nb[ic]"))  # unchanged sources keep the cache
    (pkg / "pool.py").write_text("def allocate(): return 1\n")  # only a callee's file changes
    assert drop_stale_cache(pkg) is True
    assert not list((pkg / "__pycache__").glob("*.nb[ic]"))
    assert (pkg / "__pycache__" / STAMP).read_text().strip() == sources_digest(pkg)
    other = pkg / "__pycache__" / "pool.cpython-311.pyc"
    other.write_bytes(b"x")
    (pkg / "kernel.py").write_text("def simulate(): return 2\n")
    drop_stale_cache(pkg)
    assert other.exists()  # Python's own bytecode is not numba's to drop


def test_digest_depends_on_every_source_and_its_name(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    d0 = sources_digest(pkg)
    (pkg / "pool.py").rename(pkg / "pool2.py")
    assert sources_digest(pkg) != d0
