"""Reading a system scenario TOML file into a `SystemScenario` (typed, every key checked).

    name = "retrieval"
    [run]                      # how requests arrive (flags override): rate | concurrency, num_requests, seed
    [pools.NAME]               # model, hardware, gpus, tp, pp, precision, kv_precision, engine, max_num_seqs,
                               # max_batched_tokens, chunked_prefill, gpu_memory_utilization, num_gpu_blocks,
                               # host_overhead_s, prefix_caching, router
    [[graphs]]                 # name, share
    [[graphs.stages]]          # name, kind, after, pool | model, and the kind's sizes (see spec.py)
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Any

from coscale.errors import CoscaleError
from coscale.serve.system.spec import GraphSpec, PoolSpec, StageSpec, SystemScenario
from coscale.specpaths import beside
from coscale.tomlfile import check_keys, read_toml

_POOL_KEYS = frozenset(f.name for f in fields(PoolSpec)) - {"name"}
_STAGE_KEYS = frozenset(f.name for f in fields(StageSpec))
_RUN_KEYS = frozenset({"rate", "concurrency", "num_requests", "seed"})


def _typed(value: Any, want: type, where: str) -> Any:
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (want is bool and not isinstance(value, bool)) or (want is not bool and isinstance(value, bool)) \
            or not isinstance(value, want):
        raise CoscaleError(f"{where} must be {want.__name__}, got {value!r}; fix the scenario file.")
    if want is float and not math.isfinite(value):
        raise CoscaleError(f"{where} must be a finite number, got {value!r}; fix the scenario file.")
    return value


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CoscaleError(f"{where} must be a table, got {raw!r}; fix the scenario file.")
    return raw


_POOL_TYPES = {"model": str, "hardware": str, "gpus": int, "tp": int, "pp": int, "precision": str,
               "kv_precision": str, "engine": str, "max_num_seqs": int, "max_batched_tokens": int,
               "chunked_prefill": bool,
               "gpu_memory_utilization": float, "num_gpu_blocks": int, "host_overhead_s": float,
               "prefix_caching": bool, "router": str}
_STAGE_TYPES = {"name": str, "kind": str, "pool": str, "model": str, "input_tokens": int, "output_tokens": int,
                "fanout": int, "seconds": float, "turns": int, "tool_s": float, "tool_tokens": int,
                "shared_prefix_tokens": int, "length_sigma": float}


# what each stage kind reads beyond its name, kind, dependencies and pool (a key it ignores is refused)
_COMMON_STAGE_KEYS = frozenset({"name", "kind", "after", "pool", "model"})
_KIND_KEYS = {
    "encode": frozenset({"input_tokens", "fanout", "length_sigma"}),
    "generate": frozenset({"input_tokens", "output_tokens", "length_sigma"}),
    "asr": frozenset({"input_tokens", "output_tokens", "length_sigma"}),
    "delay": frozenset({"seconds"}),
    "agent": frozenset({"input_tokens", "output_tokens", "length_sigma", "turns", "tool_s", "tool_tokens",
                        "shared_prefix_tokens"}),
}


def _pool(name: str, raw: Any) -> PoolSpec:
    where = f"[pools.{name if name.isidentifier() else repr(name)}]"
    t = _table(raw, where)
    check_keys(t, _POOL_KEYS, where)
    if "model" not in t:
        raise CoscaleError(f"{where} has no model; add model = \"ID\" (a preset id or a config.json path).")
    kw = {k: _typed(v, _POOL_TYPES[k], f"{where} {k}") for k, v in t.items()}
    return PoolSpec(name=name, **kw)


def _stage(graph: str, i: int, raw: Any, previous: str | None) -> StageSpec:
    where = f"graph {graph!r} stage {i + 1}"
    t = _table(raw, where)
    check_keys(t, _STAGE_KEYS, where)
    for key in ("name", "kind"):
        if key not in t:
            raise CoscaleError(f"{where} has no {key}; add {key} = \"...\".")
    kw = {k: _typed(v, _STAGE_TYPES[k], f"{where} {k}") for k, v in t.items() if k != "after"}
    if kw["kind"] == "encode" and "output_tokens" in kw:
        raise CoscaleError(f"{where} is an encoder pass, which generates no tokens; drop output_tokens (fanout sets "
                           f"how many sequences it encodes).")
    reads = _KIND_KEYS.get(kw["kind"])
    common = _COMMON_STAGE_KEYS - ({"pool", "model"} if kw["kind"] == "delay" else set())  # a delay runs on no pool
    unread = sorted(set(kw) - common - reads) if reads is not None else []
    if unread:
        raise CoscaleError(f"{where} is a {kw['kind']} stage, which does not read {', '.join(unread)}; drop "
                           f"{'it' if len(unread) == 1 else 'them'} (a {kw['kind']} stage reads "
                           f"{', '.join(sorted(reads)) or 'nothing more'}).")
    if "after" in t:
        after = t["after"]
        if isinstance(after, str):
            after = [after]
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise CoscaleError(f"{where} after must be a stage name or a list of them, got {after!r}.")
        deps = tuple(after)
    else:
        deps = (previous,) if previous is not None else ()
    return StageSpec(after=deps, **kw)


def _graph(i: int, raw: Any) -> GraphSpec:
    t = _table(raw, f"[[graphs]] entry {i + 1}")
    check_keys(t, frozenset({"name", "share", "stages"}), f"[[graphs]] entry {i + 1}")
    name = _typed(t.get("name", f"graph{i + 1}"), str, f"[[graphs]] entry {i + 1} name")
    stages_raw = t.get("stages", [])
    if not isinstance(stages_raw, list):
        raise CoscaleError(f"graph '{name}' stages must be [[graphs.stages]] tables.")
    stages: list[StageSpec] = []
    for j, s in enumerate(stages_raw):
        stages.append(_stage(name, j, s, stages[-1].name if stages else None))
    return GraphSpec(name=name, share=_typed(t.get("share", 1.0), float, f"graph '{name}' share"),
                     stages=tuple(stages))


def parse_scenario(data: dict[str, Any], name: str) -> SystemScenario:
    check_keys(data, frozenset({"name", "description", "run", "pools", "graphs"}), "the scenario file")
    run = _table(data.get("run", {}), "[run]")
    check_keys(run, _RUN_KEYS, "[run]")
    pools = tuple(_pool(k, v) for k, v in _table(data.get("pools", {}), "[pools]").items())
    graphs_raw = data.get("graphs", [])
    if not isinstance(graphs_raw, list):
        raise CoscaleError("graphs must be [[graphs]] tables; fix the scenario file.")
    rate = run.get("rate")
    conc = run.get("concurrency")
    return SystemScenario(
        name=_typed(data.get("name", name), str, "name"), pools=pools,
        graphs=tuple(_graph(i, g) for i, g in enumerate(graphs_raw)),
        rate=None if rate is None else _typed(rate, float, "[run] rate"),
        concurrency=None if conc is None else _typed(conc, int, "[run] concurrency"),
        num_requests=_typed(run.get("num_requests", 200), int, "[run] num_requests"),
        seed=_typed(run.get("seed", 0), int, "[run] seed"))


def read_scenario(path: Path) -> SystemScenario:
    if not path.is_file():
        raise CoscaleError(f"scenario file '{path}' does not exist; pass a TOML file (see `coscale serve system`).")
    return parse_scenario(_paths_beside(read_toml(path, "system scenario"), path), path.stem)


def _paths_beside(data: dict[str, Any], spec_file: Path) -> dict[str, Any]:
    """The pools' model and hardware (and stages' model) values that are relative paths to files beside the
    scenario file, read from there (`coscale.specpaths`); everything else as written, checked later."""
    def local(table: Any) -> Any:
        if not isinstance(table, dict):
            return table
        return {k: beside(v, spec_file) if k in ("model", "hardware") and isinstance(v, str) else v
                for k, v in table.items()}

    out = dict(data)
    if isinstance(out.get("pools"), dict):
        out["pools"] = {name: local(t) for name, t in out["pools"].items()}
    if isinstance(out.get("graphs"), list):
        out["graphs"] = [{**g, "stages": [local(s) for s in g["stages"]]}
                         if isinstance(g, dict) and isinstance(g.get("stages"), list) else g for g in out["graphs"]]
    return out
