"""The `coscale report` scenario file: models x chips x precisions under one workload, SLO and price.

Keys (TOML): `title`, `models`, `hardware`, `precisions` (lists of ids), `kv_precision`, `input_len`,
`output_len`, `concurrency` (or `batch`: sequences per instance, or "auto"), `max_batch`,
`usd_per_gpu_hour`, `objective` (of the feedback section), `[slo]` with `ttft_s` and `tpot_s`, and
`[answers]`: option name -> tokens per answer (cost per answer), and `[serve]` with `enabled` (default
true: simulate the recommended deployment) and `length_dist` (`coscale serve --length-dist`: fixed,
exponential, lognormal or a trace preset such as azure-conv); `[train]` (model, hardware, gpus,
seq_len, global_batch, precision, top) adds the best training layouts (`coscale plan train`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.explore.objectives import get_objective
from coscale.hardware.catalog import load_hardware
from coscale.report.html.lab import load_lab_result
from coscale.report.html.training import TRAIN_KEYS, TrainAsk, parse_train
from coscale.resolve import resolve_model
from coscale.serve.workload import LENGTH_DISTS, LENGTH_PRESETS
from coscale.specpaths import beside
from coscale.specs.precision import get_precision
from coscale.tomlfile import check_keys, read_toml

TOP_KEYS = frozenset({"title", "models", "hardware", "precisions", "kv_precision", "input_len", "output_len",
                      "concurrency", "batch", "max_batch", "usd_per_gpu_hour", "objective", "slo", "answers",
                      "serve", "train", "lab_result"})
SERVE_KEYS = frozenset({"enabled", "length_dist"})
SLO_KEYS = frozenset({"ttft_s", "tpot_s"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Slo:
    ttft_s: float
    tpot_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportScenario:
    title: str
    source: str
    models: tuple[str, ...]
    hardware: tuple[str, ...]
    precisions: tuple[str, ...]
    kv_precision: str | None
    input_len: int
    output_len: int
    batch: int | None  # None: the largest batch that fits, up to max_batch
    max_batch: int
    usd_per_gpu_hour: float | None
    objective: str
    slo: Slo
    answers: tuple[tuple[str, int], ...]  # (option, tokens per answer)
    serve: bool
    length_dist: str
    train: TrainAsk | None  # `[train]`: the training section (plan train)
    lab_result: Path | None = None  # a `coscale lab compare` compare.json: the reduced-precision section


def default_scenario_path() -> Path:
    return Path(str(resources.files("coscale.report").joinpath("scenarios", "default.toml")))


def load_scenario(path: str | Path | None = None) -> ReportScenario:
    p = default_scenario_path() if path is None else Path(path)
    if not p.is_file():
        raise CoscaleError(f"scenario file '{p}' does not exist; pass a TOML file (see "
                           f"{default_scenario_path()} for the keys).")
    return parse_scenario(read_toml(p, "scenario"), source=str(p))


def _ids(data: dict[str, Any], key: str, default: tuple[str, ...] | None = None) -> tuple[str, ...]:
    value = data.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CoscaleError(f"scenario needs {key} as a non-empty list of strings, got {value!r} "
                           f"(e.g. {key} = [\"...\"]).")
    return tuple(value)


def _once(key: str, given: list[str], loaded: list[Any]) -> None:
    """Refuse two entries of one list that load the same thing (`fp8` and its name `fp8-tensor`, a config
    given twice by two paths): each would be evaluated, and shown, twice."""
    for j, spec in enumerate(loaded):
        i = loaded.index(spec)
        if i < j:
            same = f"'{given[i]}' twice" if given[i] == given[j] else f"'{given[i]}' and '{given[j]}' (the same one)"
            raise CoscaleError(f"scenario lists {same} in {key}; list each once.")


def _positive(data: dict[str, Any], key: str, where: str, kind: type, default: Any = None) -> Any:
    value = data.get(key, default)
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int) and value > 0 \
        and value < math.inf
    if not ok:
        name = "a positive integer" if kind is int else "a finite positive number"
        raise CoscaleError(f"{where} needs {key} as {name}, got {value!r}.")
    return kind(value)


def parse_scenario(data: dict[str, Any], source: str = "<dict>") -> ReportScenario:
    check_keys(data, TOP_KEYS, "scenario")
    if "models" not in data:
        raise CoscaleError("scenario has no models; add models = [\"qwen3-30b-a3b\", ...] (ids from "
                           "`coscale list models` or config.json paths).")
    def here(value: str) -> str:  # a relative path in the file: beside it (`coscale.specpaths`)
        return value if source == "<dict>" else beside(value, Path(source))

    models = tuple(here(m) for m in _ids(data, "models"))
    _once("models", list(models), [resolve_model(m) for m in models])  # an unknown id raises with a did-you-mean
    chips = tuple(here(c) for c in _ids(data, "hardware", ("h100-sxm",)))
    _once("hardware", list(chips), [load_hardware(c) for c in chips])
    precisions = _ids(data, "precisions", ("bf16",))
    kv = data.get("kv_precision")
    if kv is not None and not isinstance(kv, str):
        raise CoscaleError(f"scenario needs kv_precision as a string (e.g. \"fp8\"), got {kv!r}.")
    _once("precisions", list(precisions), [get_precision(p, kv) for p in precisions])
    if "batch" in data and "concurrency" in data:
        raise CoscaleError("scenario states batch and concurrency; give only one (they mean the same).")
    raw_batch = data.get("concurrency", data.get("batch", "auto"))
    batch = None if raw_batch == "auto" else _positive({"concurrency": raw_batch}, "concurrency", "scenario", int)
    price = data.get("usd_per_gpu_hour")
    if price is not None:
        price = _positive(data, "usd_per_gpu_hour", "scenario", float)
    objective = data.get("objective", "throughput_per_gpu")
    if not isinstance(objective, str):
        raise CoscaleError(f"scenario needs objective as a string, got {objective!r}.")
    get_objective(objective)
    slo_raw = data.get("slo", {})
    if not isinstance(slo_raw, dict):
        raise CoscaleError("scenario slo must be a table: [slo] ttft_s = 2.0, tpot_s = 0.05.")
    check_keys(slo_raw, SLO_KEYS, "scenario [slo]")
    slo = Slo(ttft_s=_positive(slo_raw, "ttft_s", "scenario [slo]", float, 2.0),
              tpot_s=_positive(slo_raw, "tpot_s", "scenario [slo]", float, 0.05))
    answers_raw = data.get("answers", {})
    if not isinstance(answers_raw, dict):
        raise CoscaleError("scenario answers must be a table of option = tokens per answer: [answers] short = 300.")
    answers = tuple((name, _positive(answers_raw, name, "scenario [answers]", int)) for name in answers_raw)
    serve = data.get("serve", {})
    if not isinstance(serve, dict):
        raise CoscaleError("scenario serve must be a table: [serve] enabled = true, length_dist = \"azure-conv\".")
    check_keys(serve, SERVE_KEYS, "scenario [serve]")
    enabled, length_dist = serve.get("enabled", True), serve.get("length_dist", "fixed")
    if not isinstance(enabled, bool) or not isinstance(length_dist, str):
        raise CoscaleError("scenario [serve] needs enabled as true/false and length_dist as a string.")
    if length_dist not in LENGTH_DISTS and length_dist not in LENGTH_PRESETS:
        close = difflib.get_close_matches(length_dist, [*LENGTH_DISTS, *LENGTH_PRESETS], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise CoscaleError(f"scenario [serve] length_dist '{length_dist}' is unknown{hint}; use one of "
                           f"{', '.join([*LENGTH_DISTS, *LENGTH_PRESETS])}.")
    train_raw = data.get("train")
    if train_raw is not None and not isinstance(train_raw, dict):
        raise CoscaleError("scenario train must be a table: [train] model, hardware, gpus, seq_len, global_batch.")
    if train_raw is not None:
        check_keys(train_raw, TRAIN_KEYS, "scenario [train]")
        train_raw = {k: here(v) if k in ("model", "hardware") and isinstance(v, str) else v
                     for k, v in train_raw.items()}
    lab_result = _lab_result(data.get("lab_result"), here)
    title = data.get("title", "coscale report")
    if not isinstance(title, str):
        raise CoscaleError(f"scenario needs title as a string, got {title!r}.")
    max_batch = _positive(data, "max_batch", "scenario", int, 256)
    if batch is not None and batch > max_batch:
        raise CoscaleError(f"scenario concurrency {batch:,} is above max_batch {max_batch:,}, where the batch sweep "
                           f"and the recommendation stop; raise max_batch or lower concurrency.")
    return ReportScenario(
        title=title, source=source, models=models, hardware=chips, precisions=precisions, kv_precision=kv,
        input_len=_positive(data, "input_len", "scenario", int, 1024),
        output_len=_positive(data, "output_len", "scenario", int, 256), batch=batch,
        max_batch=max_batch, usd_per_gpu_hour=price, objective=objective,
        slo=slo, answers=answers, serve=enabled, length_dist=length_dist,
        train=None if train_raw is None else parse_train(train_raw), lab_result=lab_result)


def _lab_result(value: Any, here: Callable[[str], str]) -> Path | None:
    """The compare.json path (`here`: a relative one read beside the scenario file); checked now."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise CoscaleError(f"scenario needs lab_result as a path string to a compare.json, got {value!r}.")
    path = Path(here(value))
    load_lab_result(path)
    return path
