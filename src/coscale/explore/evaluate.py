"""Evaluate a space: one execution plan per design, the whole workload grid of that design in one
array call (`predict_inference_sweep`), infeasible points kept with their reason.

The unit of work is a *chunk* (consecutive designs, see `Space.chunk_designs`): `evaluate_chunk`
returns a pyarrow table with the flat schema of `result_schema(space)` —

- `chunk`, `design`: where the row came from (a resumed sweep skips chunks already stored);
- axis columns: `model`, `hardware`, `precision`, `kv_precision`, `tp`, `pp`, `ep`, `gpus`,
  `input_len`, `output_len`, `batch` (the batch used: the largest that fits when auto), and per
  hardware scaling `scale_<field>` (the factor) and `<field>` (the value on that chip; dots in the
  path become underscores);
- metrics: `METRICS` of `coscale.predict.sweep`, `prefill_bound`, `decode_bound`;
- one column per objective of the space (`coscale.explore.objectives`);
- `feasible` and `reason` ("ok", a layout rule code from `coscale.feasibility.CODES`, a sweep
  reason such as "model_does_not_fit", "plan_rejected", or "slo_ttft" / "slo_tpot" for a point
  whose `ttft_s` / `tpot_s` exceeds the space's `[slo]` limit; TTFT is checked first).

Metrics and objectives are NaN where a point is infeasible, except that an SLO violation keeps its
metrics (so a query can see by how much it missed) while its objectives are NaN (so it is never on
a Pareto front). Costs are never recomputed here: they
come from `build_plan` and `predict_inference_sweep`, the same path as `predict inference`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from coscale.cost.plan import ExecutionPlan, build_plan
from coscale.cost.roofline import BOUNDS
from coscale.errors import CoscaleError
from coscale.explore.objectives import objective_values
from coscale.explore.space import Design, Space
from coscale.feasibility import CODES, InfeasibleError
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.predict.sweep import METRICS, REASONS, InferenceSweep, predict_inference_sweep
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import HardwareSpec, System
from coscale.specs.model import ModelSpec
from coscale.specs.precision import PrecisionRecipe, get_precision

SLO_REASONS = ("slo_ttft", "slo_tpot")
REASON_VOCAB: tuple[str, ...] = (*REASONS, *CODES, "plan_rejected", *SLO_REASONS)
BOUND_VOCAB: tuple[str, ...] = (*BOUNDS, "none")
_REASON_INDEX = {r: i for i, r in enumerate(REASON_VOCAB)}


def column_name(hw_path: str) -> str:
    return hw_path.replace(".", "_")


def result_schema(space: Space) -> pa.Schema:
    """The one flat schema every chunk and the final Parquet file share."""
    def dictionary() -> pa.DataType:
        return pa.dictionary(pa.int32(), pa.string())

    fields: list[pa.Field] = [pa.field("chunk", pa.int32()), pa.field("design", pa.int64())]
    fields += [pa.field(n, dictionary()) for n in ("model", "hardware", "precision", "kv_precision")]
    for path, _ in space.scalings:
        fields += [pa.field(f"scale_{column_name(path)}", pa.float64()), pa.field(column_name(path), pa.float64())]
    fields += [pa.field(n, pa.int32()) for n in ("tp", "pp", "ep", "gpus")]
    fields += [pa.field(n, pa.int64()) for n in ("input_len", "output_len", "batch")]
    fields += [pa.field(m, pa.float64()) for m in METRICS]
    fields += [pa.field(n, dictionary()) for n in ("prefill_bound", "decode_bound")]
    fields += [pa.field(o, pa.float64()) for o in space.objectives]
    fields += [pa.field("feasible", pa.bool_()), pa.field("reason", dictionary())]
    return pa.schema(fields, metadata={"coscale.space_digest": space.digest})


@dataclass(frozen=True, kw_only=True, slots=True)
class DesignResult:
    """One design over the whole workload grid: its plan (None if rejected) and sweep, or the reason."""

    design: Design
    plan: ExecutionPlan | None
    sweep: InferenceSweep | None
    reason: str  # "ok" when a plan was built (points may still be infeasible: see sweep.reason)
    message: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluator:
    """Evaluates designs of one space, caching loaded models, chips (scaled) and recipes (the caches
    are the only state; one evaluator per process or task)."""

    space: Space | None = None  # needed by evaluate_design/evaluate_chunk only
    _models: dict[str, ModelSpec] = field(default_factory=dict)
    _chips: dict[tuple[str, tuple[tuple[str, float], ...]], HardwareSpec] = field(default_factory=dict)
    _recipes: dict[tuple[str, str | None], PrecisionRecipe] = field(default_factory=dict)

    def model(self, name: str) -> ModelSpec:
        if name not in self._models:
            self._models[name] = load_model(name)
        return self._models[name]

    def chip(self, name: str, scales: tuple[tuple[str, float], ...]) -> HardwareSpec:
        key = (name, scales)
        if key not in self._chips:
            hw = self._chips[(name, ())] if (name, ()) in self._chips else load_hardware(name)
            self._chips[(name, ())] = hw
            for path, factor in scales:
                base = hw.get(path)
                value = base * factor
                hw = hw.with_value(path, round(value) if isinstance(base, int) else value)
            self._chips[key] = hw
        return self._chips[key]

    def recipe(self, precision: str, kv: str | None) -> PrecisionRecipe:
        if (precision, kv) not in self._recipes:
            self._recipes[(precision, kv)] = get_precision(precision, kv)
        return self._recipes[(precision, kv)]

    def plan(self, d: Design) -> ExecutionPlan:
        """The plan of `d`; raises InfeasibleError for a broken layout rule, CoscaleError otherwise."""
        gpus = d.total_gpus
        hw = self.chip(d.hardware, d.scales)
        return build_plan(self.model(d.model), System(hardware=hw, num_gpus=gpus),
                          Parallelism(gpus=gpus, tp=d.tp, pp=d.pp, ep=d.ep), self.recipe(d.precision, d.kv_precision))

    def evaluate_design(self, d: Design, input_len: np.ndarray, output_len: np.ndarray,
                        batch: np.ndarray | None) -> DesignResult:
        try:
            plan = self.plan(d)
        except InfeasibleError as exc:
            return DesignResult(design=d, plan=None, sweep=None, reason=exc.violations[0].code, message=str(exc))
        except CoscaleError as exc:
            return DesignResult(design=d, plan=None, sweep=None, reason="plan_rejected", message=str(exc))
        sweep = predict_inference_sweep(plan, input_len, output_len, batch, max_batch=self.space.max_batch)
        return DesignResult(design=d, plan=plan, sweep=sweep, reason="ok")

    def evaluate_chunk(self, chunk: int) -> pa.Table:
        """Every point of `chunk` as a table with `result_schema(space)`."""
        space = self.space
        isl, osl, batch = space.workload_grid()
        results = [self.evaluate_design(space.design(i), isl, osl, batch) for i in space.chunk_designs(chunk)]
        return _to_table(space, chunk, results, isl, osl, batch)


def point_reasons(space: Space, sweep: InferenceSweep) -> np.ndarray:
    """`REASON_VOCAB` index of every point of `sweep`: the sweep's reason, then the space's SLO limits
    on the points the sweep found feasible."""
    reason = np.asarray(sweep.reason).copy()  # sweep reasons are the first entries of REASON_VOCAB
    for limit, metric, code in ((space.slo_ttft_s, sweep.ttft_s, "slo_ttft"), (space.slo_tpot_s, sweep.tpot_s,
                                                                                 "slo_tpot")):
        if limit is not None:
            reason = np.where((reason == 0) & (np.asarray(metric) > limit), _REASON_INDEX[code], reason)
    return reason


def _dict_column(indices: list[np.ndarray], vocab: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.concatenate(indices).astype(np.int32)), pa.array(vocab))


def _to_table(space: Space, chunk: int, results: list[DesignResult], isl: np.ndarray, osl: np.ndarray,
              batch: np.ndarray | None) -> pa.Table:
    n = isl.size
    cols: dict[str, list[np.ndarray]] = {}

    def put(name: str, values: np.ndarray | float) -> None:
        cols.setdefault(name, []).append(np.broadcast_to(values, (n,)))

    vocabs = {"model": space.models, "hardware": space.hardware, "precision": space.precisions,
              "kv_precision": tuple(k or "default" for k in space.kv_precisions)}
    for r in results:
        d = r.design
        put("model", space.models.index(d.model))
        put("hardware", space.hardware.index(d.hardware))
        put("precision", space.precisions.index(d.precision))
        put("kv_precision", space.kv_precisions.index(d.kv_precision))
        for path, factor in d.scales:
            put(f"scale_{column_name(path)}", factor)
            put(column_name(path), r.plan.system.hardware.get(path) if r.plan is not None else np.nan)
        for name in ("tp", "pp", "ep"):
            put(name, getattr(d, name))
        put("gpus", d.total_gpus)
        put("input_len", isl)
        put("output_len", osl)
        s = r.sweep
        if s is None:
            put("batch", batch if batch is not None else 0)
            for m in (*METRICS, *space.objectives):
                put(m, np.nan)
            put("prefill_bound", len(BOUNDS))
            put("decode_bound", len(BOUNDS))
            put("feasible", False)
            put("reason", _REASON_INDEX[r.reason])
            continue
        put("batch", s.batch)
        for m in METRICS:
            put(m, getattr(s, m))
        put("prefill_bound", s.prefill_bound)
        put("decode_bound", s.decode_bound)
        reason = point_reasons(space, s)
        feasible = reason == 0
        for o in space.objectives:
            put(o, np.where(feasible, objective_values(s, o, space.usd_per_gpu_hour), np.nan))
        put("feasible", feasible)
        put("reason", reason)
    designs = list(space.chunk_designs(chunk))
    schema = result_schema(space)
    arrays: list[pa.Array] = []
    for f in schema:
        if f.name == "chunk":
            arrays.append(pa.array(np.full(n * len(results), chunk, dtype=np.int32)))
        elif f.name == "design":
            arrays.append(pa.array(np.repeat(np.asarray(designs, dtype=np.int64), n)))
        elif f.name in vocabs:
            arrays.append(_dict_column(cols[f.name], vocabs[f.name]))
        elif f.name in ("prefill_bound", "decode_bound"):
            arrays.append(_dict_column(cols[f.name], BOUND_VOCAB))
        elif f.name == "reason":
            arrays.append(_dict_column(cols[f.name], REASON_VOCAB))
        else:
            values = np.concatenate(cols[f.name])
            if pa.types.is_integer(f.type):
                values = np.nan_to_num(values).astype(f.type.to_pandas_dtype())
            arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def evaluate_chunk(space: Space, chunk: int) -> pa.Table:
    """One chunk with a fresh evaluator (what a worker process or a Ray task runs)."""
    return Evaluator(space=space).evaluate_chunk(chunk)
