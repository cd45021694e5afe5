"""Where a sweep's results live: one Parquet file per finished chunk while it runs, one file at the end.

While a sweep runs, chunk `k` is written to `<out>.parts/chunk-<k>.parquet` (temp file + rename, so
a killed process never leaves half a chunk) next to `space.json`, the expanded space whose digest
names what the parts belong to. A rerun with the same space skips the chunks already there; a
different space refuses to mix with them. When every chunk is in, the parts are streamed into
`<out>` (again temp file + rename) and the parts folder is removed.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from coscale.errors import CoscaleError
from coscale.explore.evaluate import result_schema
from coscale.explore.space import Space

DIGEST_KEY = b"coscale.space_digest"


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


@dataclass(frozen=True, kw_only=True, slots=True)
class ResultStore:
    out: Path
    space: Space

    @property
    def parts(self) -> Path:
        return self.out.with_name(self.out.name + ".parts")

    def chunk_path(self, chunk: int) -> Path:
        return self.parts / f"chunk-{chunk:06d}.parquet"

    def open(self) -> None:
        """Create (or check) the parts folder for this space. An existing `out` is replaced only by a
        rerun of its own space (resuming or finishing it), never silently by another sweep or file."""
        if self.out.exists() and not self.parts.exists():
            digest = self._digest()
            if digest != self.space.digest:
                what = "the results of a different space" if digest else "something other than a sweep's results"
                raise CoscaleError(f"{self.out} holds {what}; delete it or choose another --out.")
        manifest = self.parts / "space.json"
        if manifest.exists():
            stored = json.loads(manifest.read_text(encoding="utf-8"))
            if stored.get("digest") != self.space.digest:
                raise CoscaleError(f"{self.parts} holds a partial sweep of a different space; delete it or choose "
                                   "another --out.")
            return
        self.parts.mkdir(parents=True, exist_ok=True)
        tmp = manifest.with_name(".space.json.tmp")
        tmp.write_text(json.dumps({"digest": self.space.digest, "space": self.space.to_dict()}), encoding="utf-8")
        os.replace(tmp, manifest)

    def done_chunks(self) -> set[int]:
        """Chunks already stored (a complete final file counts as all of them)."""
        if self.is_complete():
            return set(range(self.space.num_chunks))
        if not self.parts.exists():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.parts.glob("chunk-*.parquet")}

    def is_complete(self) -> bool:
        return self._digest() == self.space.digest and not self.parts.exists()

    def _digest(self) -> str:
        """The space digest a finished results file at `out` records ('' when there is none)."""
        if not self.out.exists():
            return ""
        try:
            meta = pq.read_schema(self.out).metadata or {}
        except (pa.ArrowInvalid, OSError):
            return ""
        return meta.get(DIGEST_KEY, b"").decode()

    def write_chunk(self, chunk: int, table: pa.Table) -> None:
        _atomic_write_table(table, self.chunk_path(chunk))

    def finalize(self) -> None:
        """Stream every chunk, in order, into the final file and drop the parts."""
        if self.is_complete():
            return
        missing = set(range(self.space.num_chunks)) - self.done_chunks()
        if missing:
            raise CoscaleError(f"cannot finish {self.out}: chunks {sorted(missing)[:5]} are missing; rerun the sweep.")
        tmp = self.out.with_name(f".{self.out.name}.{os.getpid()}.tmp")
        schema = result_schema(self.space)
        with pq.ParquetWriter(tmp, schema) as writer:
            for chunk in range(self.space.num_chunks):
                writer.write_table(pq.read_table(self.chunk_path(chunk), schema=schema))
        os.replace(tmp, self.out)
        shutil.rmtree(self.parts)


def results_file(path: str | Path) -> Path:
    """`path` as an existing results file (a folder or a missing path is a one-line error)."""
    p = Path(path)
    if p.is_dir():
        raise CoscaleError(f"'{path}' is a folder; give the .parquet file `coscale explore --out` wrote.")
    if not p.exists():
        raise CoscaleError(f"results file '{path}' not found; run `coscale explore --space FILE --out {path}` first.")
    return p


def read_results(path: str | Path) -> pa.Table:
    p = results_file(path)
    try:
        return pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise CoscaleError(f"'{path}' is not a readable Parquet file ({exc}).") from None
