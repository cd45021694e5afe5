"""The workload file of `coscale feedback`: one request shape or a weighted mix, read from TOML.

Each entry names `model`, `precision`, `input_len`, `output_len` and one of `batch`,
`concurrency` (the same thing: sequences one instance holds), or `rate` (requests/s the whole
system must serve). Without any of the three the batch is the largest that fits (`batch = "auto"`).
A mix is a list `[[mix]]` of such entries, each with a `weight` (share of requests); top-level
keys are defaults every entry inherits. `usd_per_gpu_hour` prices cost objectives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.resolve import resolve_model
from coscale.specs.execution import Parallelism
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe, get_precision
from coscale.tomlfile import check_keys, read_toml

ENTRY_KEYS = frozenset({"model", "precision", "kv_precision", "input_len", "output_len", "batch", "concurrency",
                        "rate", "weight", "tp", "pp", "ep", "gpus", "max_batch", "name"})
TOP_KEYS = ENTRY_KEYS | {"mix", "usd_per_gpu_hour", "model_levers", "answers"}


@dataclass(frozen=True, kw_only=True, slots=True)
class WorkloadEntry:
    """One request shape. `batch` None with `rate` None: the largest batch that fits (auto)."""

    name: str
    model: ModelSpec
    model_id: str
    precision: PrecisionRecipe
    input_len: int
    output_len: int
    batch: int | None
    rate: float | None  # requests/s for the whole system
    weight: float  # share of requests in the mix (normalised)
    parallel: Parallelism
    max_batch: int

    @property
    def batch_rule(self) -> str:
        if self.batch is not None:
            return f"batch {self.batch} (given)"
        if self.rate is not None:
            return (f"rate {self.rate:g} req/s: the smallest batch whose predicted throughput serves it, else the "
                    f"largest that fits (assumption: steady state, every request the same shape)")
        return f"the largest batch that fits (up to {self.max_batch})"


@dataclass(frozen=True, kw_only=True, slots=True)
class Workload:
    entries: tuple[WorkloadEntry, ...]
    usd_per_gpu_hour: float | None
    raw: dict[str, Any]  # the parsed file, for sections other modules read (model_levers, answers)
    source: str


def load_workload(path: str | Path) -> Workload:
    p = Path(path)
    if not p.is_file():
        raise CoscaleError(f"workload file '{path}' {'is a folder' if p.is_dir() else 'does not exist'}; pass a TOML "
                           f"file with model, precision, input_len, output_len and batch (or concurrency / rate).")
    return parse_workload(read_toml(p, "workload"), source=str(p))


def parse_workload(data: dict[str, Any], source: str = "<dict>") -> Workload:
    if "hold" in data:  # a model-lever setting written at the top level would be ignored
        raise CoscaleError("workload 'hold' belongs in the [model_levers] table (hold = \"total\" | \"active\" | "
                           "\"none\"); move it there.")
    check_keys(data, TOP_KEYS, "workload")
    defaults = {k: v for k, v in data.items() if k in ENTRY_KEYS}
    mix = data.get("mix")
    if mix is not None and (not isinstance(mix, list) or not mix):
        raise CoscaleError("workload 'mix' must be a non-empty list of [[mix]] tables, each with its own weight.")
    raw_entries = [{**defaults, **e} for e in mix] if mix else [defaults]
    entries = [parse_entry(e, i, len(raw_entries)) for i, e in enumerate(raw_entries)]
    total = sum(e.weight for e in entries)
    entries = [_with_weight(e, e.weight / total) for e in entries]
    price = data.get("usd_per_gpu_hour")
    if price is not None:
        price = _positive_number(price, "usd_per_gpu_hour", "workload")
    return Workload(entries=tuple(entries), usd_per_gpu_hour=price, raw=data,
                    source=source)


def _with_weight(e: WorkloadEntry, weight: float) -> WorkloadEntry:
    from dataclasses import replace

    return replace(e, weight=weight)


def _positive_int(e: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = e.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CoscaleError(f"{where} needs {key} as a positive integer, got {value!r}.")
    return value


def _positive_number(value: object, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise CoscaleError(f"{where} needs {what} as a finite positive number, got {value!r}.")
    return float(value)


def parse_entry(e: dict[str, Any], index: int, count: int) -> WorkloadEntry:
    where = f"workload entry {index + 1}" if count > 1 else "workload"
    check_keys(e, ENTRY_KEYS, where)
    for key in ("model", "precision"):
        if not isinstance(e.get(key), str):
            raise CoscaleError(f"{where} needs {key} as a string (e.g. model = \"llama-3.1-8b\", precision = \"fp8\").")
    isl, osl = _positive_int(e, "input_len", where), _positive_int(e, "output_len", where)
    given = [k for k in ("batch", "concurrency", "rate") if k in e]
    if len(given) > 1:
        raise CoscaleError(f"{where} states {' and '.join(given)}; give only one of batch, concurrency or rate.")
    batch: int | None = None
    rate: float | None = None
    if given and given[0] in ("batch", "concurrency") and e[given[0]] != "auto":
        batch = _positive_int(e, given[0], where)
    elif given and given[0] == "rate":
        rate = _positive_number(e["rate"], "rate (requests/s)", where)
    weight = _positive_number(e.get("weight", 1.0), "weight (a share of requests)", where)
    tp, pp, ep = (_positive_int(e, k, where, default=1) for k in ("tp", "pp", "ep"))
    gpus = _positive_int(e, "gpus", where, default=max(tp, ep) * pp)
    return WorkloadEntry(
        name=str(e.get("name", f"{e['model']} {isl}/{osl}")), model=resolve_model(e["model"]), model_id=e["model"],
        precision=get_precision(e["precision"], e.get("kv_precision")), input_len=isl, output_len=osl,
        batch=batch, rate=rate, weight=float(weight), parallel=Parallelism(gpus=gpus, tp=tp, pp=pp, ep=ep),
        max_batch=_positive_int(e, "max_batch", where, default=256))
