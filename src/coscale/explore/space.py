"""A design space: axes named by dotted paths, read from TOML, enumerated as plan designs x workloads.

A space file looks like::

    objectives = ["throughput_per_gpu", "tokens_per_s_per_user"]
    usd_per_gpu_hour = 2.5                     # optional; needed by cost_per_mtok
    max_batch = 256                            # upper bound for batch = "auto"

    [axes]
    model = ["llama-3.1-70b", "qwen3-30b-a3b"]  # preset ids or config paths
    hardware = ["h100-sxm", "h200-sxm"]         # catalog ids or hardware JSON paths
    "hardware.memory.hbm.bandwidth_Bps" = {scale = [0.5, 1, 2]}   # x each base chip's value
    precision = ["bf16", "fp8"]
    kv_precision = ["bf16"]
    "parallel.tp" = [1, 2, 4, 8]
    "workload.input_len" = {geom = [128, 32768, 9]}
    "workload.output_len" = {range = [128, 2048, 128]}
    "workload.batch" = "auto"                   # or integers
    # "workload.concurrency" = [8, 64]          # instead of workload.batch: the same thing here

    [slo]                                       # optional limits; violating points are kept, infeasible
    ttft_s = 2.0                                # reason "slo_ttft": TTFT of the batch above this
    tpot_s = 0.05                               # reason "slo_tpot": time per output token above this

`workload.concurrency` is accepted as another name for `workload.batch`: the analytic sweep is a
steady state with `batch` sequences in flight per model instance, which is what a closed loop of
that many clients keeps (a space gives one of the two, not both).

Points split in two: a *design* (everything a plan depends on: model, chip, scalings, precision,
layout) and a *workload* (input length, output length, batch), which the array path evaluates
for one design at once. The space is the product design x workload, in a fixed order, so a point
index, a chunk id and a resumed sweep all mean the same thing on every run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from coscale.errors import CoscaleError
from coscale.explore.objectives import get_objective
from coscale.explore.values import SPEC_KEYS, expand, expand_names
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.hardware import numeric_paths
from coscale.specs.precision import get_precision
from coscale.tomlfile import read_toml

NAME_AXES = ("model", "hardware", "precision", "kv_precision")
PARALLEL_AXES = ("parallel.tp", "parallel.pp", "parallel.ep", "parallel.gpus")
WORKLOAD_AXES = ("workload.input_len", "workload.output_len", "workload.batch", "workload.concurrency")
HW_PREFIX = "hardware."
TOP_KEYS = ("name", "description", "objectives", "usd_per_gpu_hour", "max_batch", "chunk_points", "axes", "slo")
SLO_KEYS = ("ttft_s", "tpot_s")
MAX_POINTS = 10**10  # refuse larger spaces (assumption: ~1 core-day at 10^5 points/s; split the space instead)
CHUNK_POINTS = 200_000  # default points per chunk (assumption: ~1 s of work, small enough to resume cheaply)
# refuse more workloads (input length x output length x batch) per design: a chunk holds whole designs, so one
# design's workloads are evaluated at once (assumption: 10^7 points stay within a few GiB of arrays)
MAX_WORKLOADS = 10**7


@dataclass(frozen=True, kw_only=True, slots=True)
class Design:
    """Everything one execution plan depends on. `scales` are (hardware path, factor) pairs; `gpus`
    None means one model instance (max(tp, ep) * pp)."""

    model: str
    hardware: str
    scales: tuple[tuple[str, float], ...]
    precision: str
    kv_precision: str | None
    tp: int
    pp: int
    ep: int
    gpus: int | None

    @property
    def total_gpus(self) -> int:
        return self.gpus if self.gpus is not None else max(self.tp, self.ep) * self.pp


@dataclass(frozen=True, kw_only=True, slots=True)
class Space:
    name: str
    models: tuple[str, ...]
    hardware: tuple[str, ...]
    scalings: tuple[tuple[str, tuple[float, ...]], ...]  # (hardware numeric path, factors)
    precisions: tuple[str, ...]
    kv_precisions: tuple[str | None, ...]
    tp: tuple[int, ...]
    pp: tuple[int, ...]
    ep: tuple[int, ...]
    gpus: tuple[int | None, ...]
    input_len: tuple[int, ...]
    output_len: tuple[int, ...]
    batch: tuple[int, ...] | None  # None: the largest batch that fits, up to max_batch
    max_batch: int
    objectives: tuple[str, ...]
    usd_per_gpu_hour: float | None = None
    chunk_points: int = CHUNK_POINTS  # a chunk holds whole designs, about this many points
    slo_ttft_s: float | None = None  # points whose TTFT exceeds this are infeasible ("slo_ttft")
    slo_tpot_s: float | None = None  # points whose TPOT exceeds this are infeasible ("slo_tpot")

    # -- designs ---------------------------------------------------------------------------------
    @property
    def design_shape(self) -> tuple[int, ...]:
        return (len(self.models), len(self.hardware), *(len(f) for _, f in self.scalings), len(self.precisions),
                len(self.kv_precisions), len(self.tp), len(self.pp), len(self.ep), len(self.gpus))

    @property
    def num_designs(self) -> int:
        return math.prod(self.design_shape)

    def design_coords(self, index: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(index, self.design_shape))

    def design_index(self, coords: tuple[int, ...]) -> int:
        return int(np.ravel_multi_index(coords, self.design_shape))

    def design(self, index: int) -> Design:
        c = self.design_coords(index)
        k = len(self.scalings)
        scales = tuple((path, factors[c[2 + i]]) for i, (path, factors) in enumerate(self.scalings))
        rest = c[2 + k:]
        return Design(model=self.models[c[0]], hardware=self.hardware[c[1]], scales=scales,
                      precision=self.precisions[rest[0]], kv_precision=self.kv_precisions[rest[1]],
                      tp=self.tp[rest[2]], pp=self.pp[rest[3]], ep=self.ep[rest[4]], gpus=self.gpus[rest[5]])

    # -- workloads -------------------------------------------------------------------------------
    def workload_grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(input_len, output_len, batch or None) as flat arrays in point order (batch fastest)."""
        batches = self.batch if self.batch is not None else (0,)
        isl, osl, b = (a.ravel() for a in np.meshgrid(np.asarray(self.input_len, dtype=np.float64),
                                                        np.asarray(self.output_len, dtype=np.float64),
                                                        np.asarray(batches, dtype=np.float64), indexing="ij"))
        return isl, osl, (b if self.batch is not None else None)

    @property
    def num_workloads(self) -> int:
        return len(self.input_len) * len(self.output_len) * (len(self.batch) if self.batch is not None else 1)

    @property
    def size(self) -> int:
        return self.num_designs * self.num_workloads

    # -- chunks ----------------------------------------------------------------------------------
    @property
    def designs_per_chunk(self) -> int:
        return max(1, self.chunk_points // self.num_workloads)

    @property
    def num_chunks(self) -> int:
        return -(-self.num_designs // self.designs_per_chunk)

    def chunk_designs(self, chunk: int) -> range:
        start = chunk * self.designs_per_chunk
        return range(start, min(start + self.designs_per_chunk, self.num_designs))

    # -- identity --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        slo = {k: v for k, v in (("slo_ttft_s", self.slo_ttft_s), ("slo_tpot_s", self.slo_tpot_s)) if v is not None}
        return slo | {"name": self.name, "models": list(self.models), "hardware": list(self.hardware),
                "scalings": [[p, list(f)] for p, f in self.scalings], "precisions": list(self.precisions),
                "kv_precisions": list(self.kv_precisions), "tp": list(self.tp), "pp": list(self.pp),
                "ep": list(self.ep), "gpus": list(self.gpus), "input_len": list(self.input_len),
                "output_len": list(self.output_len), "batch": None if self.batch is None else list(self.batch),
                "max_batch": self.max_batch, "objectives": list(self.objectives),
                "usd_per_gpu_hour": self.usd_per_gpu_hour, "chunk_points": self.chunk_points}

    @property
    def digest(self) -> str:
        """Identity of the expanded space: a resumed sweep only reuses chunks of the same digest."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{parallel = {tp = [...]}}` and `"parallel.tp" = [...]` mean the same axis."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not any(k in SPEC_KEYS for k in value):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _known_paths(chips: list[Any]) -> list[str]:
    hw_paths = sorted({p for hw in chips for p in numeric_paths(hw)})
    return [*NAME_AXES, *PARALLEL_AXES, *WORKLOAD_AXES, *(HW_PREFIX + p for p in hw_paths)]


def _one_name_per_recipe(precisions: tuple[str, ...]) -> None:
    """Two names of one recipe (an alias and its name) would sweep it twice under two labels."""
    seen: dict[str, str] = {}
    for p in precisions:
        name = get_precision(p).name
        if name in seen:
            raise CoscaleError(f"axis 'precision' lists '{seen[name]}' and '{p}', two names of one recipe; "
                               "list it once.")
        seen[name] = p


def _unknown_axis(path: str, known: list[str]) -> CoscaleError:
    close = difflib.get_close_matches(path, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else \
        f"valid axes: {', '.join((*NAME_AXES, *PARALLEL_AXES, *WORKLOAD_AXES))}, hardware.<numeric field>"
    return CoscaleError(f"unknown axis '{path}' in the space file; {hint}")


def _scaling_axes(axes: dict[str, Any], chips: list[Any],
                  known: list[str]) -> tuple[tuple[str, tuple[float, ...]], ...]:
    out = []
    for path, spec in axes.items():
        if not path.startswith(HW_PREFIX):
            continue
        field = path[len(HW_PREFIX):]
        for hw in chips:
            if field not in numeric_paths(hw):
                if any(field in numeric_paths(c) for c in chips):
                    raise CoscaleError(f"axis '{path}': chip '{hw.id}' has no field '{field}' (an absent tier); "
                                       "drop the chip or the axis.")
                raise _unknown_axis(path, known)
        if not isinstance(spec, dict) or "scale" not in spec:
            raise CoscaleError(f"axis '{path}': hardware fields are swept as scalings of each chip, "
                               "e.g. {scale = [0.5, 1, 2]}.")
        out.append((field, expand(path, spec, integer=False, allow_scale=True)))
    return tuple(out)


def _slo(data: Any) -> dict[str, float]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CoscaleError(f"slo must be a table (e.g. [slo] ttft_s = 2.0, tpot_s = 0.05), got {data!r}.")
    out = {}
    for key, value in data.items():
        if key not in SLO_KEYS:
            close = difflib.get_close_matches(key, SLO_KEYS, n=2)
            hint = f"did you mean {', '.join(close)}?" if close else f"SLO keys are {', '.join(SLO_KEYS)}"
            raise CoscaleError(f"unknown key 'slo.{key}' in the space file; {hint}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise CoscaleError(f"slo.{key} must be a positive number of seconds, got {value!r}.")
        out[f"slo_{key}"] = float(value)
    return out


def parse_space(data: dict[str, Any], *, name: str = "space") -> Space:
    """A `Space` from a parsed TOML document; every name is checked now (models, chips, recipes)."""
    for key in data:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(key, TOP_KEYS, n=2)
            hint = f"did you mean {', '.join(close)}?" if close else f"top-level keys are {', '.join(TOP_KEYS)}"
            raise CoscaleError(f"unknown key '{key}' in the space file; {hint}")
    if not isinstance(data.get("axes"), dict):
        raise CoscaleError("the space file needs an [axes] table (model, hardware, precision, parallel.tp, ...).")
    axes = _flatten(data["axes"])
    for required in ("model", "hardware"):
        if required not in axes:
            raise CoscaleError(f"the space file's [axes] needs '{required}' (at least one value).")
    hardware = expand_names("hardware", axes["hardware"])
    chips = [load_hardware(h) for h in hardware]
    known = _known_paths(chips)
    for path in axes:
        if path not in known:
            raise _unknown_axis(path, known)
    models = expand_names("model", axes["model"])
    for m in models:
        load_model(m)
    precisions = expand_names("precision", axes.get("precision", "bf16"))
    kv = tuple(None if k == "default" else k for k in expand_names("kv_precision", axes.get("kv_precision",
                                                                                            "default")))
    for p in precisions:
        for k in kv:
            get_precision(p, k)
    _one_name_per_recipe(precisions)
    objectives = expand_names("objectives", data.get("objectives", ["throughput_per_gpu", "tokens_per_s_per_user"]))
    for o in objectives:
        get_objective(o)
    usd = data.get("usd_per_gpu_hour")
    if usd is not None and (isinstance(usd, bool) or not isinstance(usd, int | float) or not 0 < usd < math.inf):
        raise CoscaleError(f"usd_per_gpu_hour must be a positive number, got {usd!r}.")
    if "cost_per_mtok" in objectives and usd is None:
        raise CoscaleError("objective cost_per_mtok needs usd_per_gpu_hour (a positive price) in the space file.")
    max_batch = data.get("max_batch", 256)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise CoscaleError(f"max_batch must be a positive integer, got {max_batch!r}.")
    chunk_points = data.get("chunk_points", CHUNK_POINTS)
    if isinstance(chunk_points, bool) or not isinstance(chunk_points, int) or chunk_points < 1:
        raise CoscaleError(f"chunk_points must be a positive integer, got {chunk_points!r}.")
    if "workload.batch" in axes and "workload.concurrency" in axes:
        raise CoscaleError("the space gives both workload.batch and workload.concurrency (the same axis here); "
                           "keep one.")
    batch_path = "workload.concurrency" if "workload.concurrency" in axes else "workload.batch"
    batch_spec = axes.get(batch_path, "auto")
    batch = None if batch_spec == "auto" else expand(batch_path, batch_spec, integer=True)

    def ints(path: str, default: Any) -> tuple[int, ...]:
        return expand(path, axes.get(path, default), integer=True)

    gpus_spec = axes.get("parallel.gpus", "instance")
    gpus = (None,) if gpus_spec == "instance" else ints("parallel.gpus", gpus_spec)
    return _checked_size(Space(name=str(data.get("name", name)), models=models, hardware=hardware,
                 scalings=_scaling_axes(axes, chips, known), precisions=precisions, kv_precisions=kv,
                 tp=ints("parallel.tp", [1]), pp=ints("parallel.pp", [1]), ep=ints("parallel.ep", [1]), gpus=gpus,
                 input_len=ints("workload.input_len", [1024]), output_len=ints("workload.output_len", [256]),
                 batch=batch, max_batch=max_batch, objectives=objectives,
                 usd_per_gpu_hour=None if usd is None else float(usd), chunk_points=chunk_points,
                 **_slo(data.get("slo"))))


def _checked_size(space: Space) -> Space:
    if space.size > MAX_POINTS:
        raise CoscaleError(f"the space has {space.size:.3g} points, more than {MAX_POINTS:.0e}; narrow an axis or "
                           "split the space into several files.")
    if space.num_workloads > MAX_WORKLOADS:
        raise CoscaleError(f"the space has {space.num_workloads:.3g} workloads (input lengths x output lengths x "
                           f"batches) per design, more than {MAX_WORKLOADS:.0e}, which are evaluated together; "
                           f"use fewer workload values or split them over several files.")
    return space


def load_space(path: str | Path) -> Space:
    """Read and check a space file (a path, or the name of a shipped space under explore/spaces/)."""
    p = Path(path)
    if not p.exists():
        shipped = Path(__file__).parent / "spaces" / f"{path}.toml"
        if not shipped.exists():
            names = sorted(f.stem for f in (Path(__file__).parent / "spaces").glob("*.toml"))
            raise CoscaleError(f"space file '{path}' not found; give a TOML path or a shipped space: "
                               f"{', '.join(names)}")
        p = shipped
    return parse_space(read_toml(p, "space"), name=p.stem)


def designs(space: Space) -> list[Design]:
    """Every design of `space`, in index order (for small spaces and tests)."""
    return [space.design(i) for i in range(space.num_designs)]


__all__ = ["Design", "Space", "designs", "load_space", "parse_space"]
