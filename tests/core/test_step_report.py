"""What a step reports about itself: the per-operator rows (`breakdown`), time per binding resource,
and the table's interpolation bracket. Expected values are recomputed from the operators."""

from __future__ import annotations

import numpy as np
import pytest

from coscale.cost.plan import build_plan
from coscale.cost.roofline import BOUNDS
from coscale.cost.step import step_cost
from coscale.cost.table import StepCostTable, _bracket
from coscale.hardware.catalog import load_hardware
from coscale.models.registry import load_model
from coscale.specs.execution import Parallelism
from coscale.specs.hardware import System
from coscale.specs.precision import get_precision
from coscale.workload.shape import StepShape


@pytest.fixture(scope="module")
def moe_step():
    plan = build_plan(load_model("qwen3-30b-a3b"), System(hardware=load_hardware("h200-sxm"), num_gpus=2),
                      Parallelism(gpus=2, tp=2), get_precision("fp8"))
    return plan, step_cost(plan, StepShape.of(decode_contexts=[500] * 8, prefill_chunks=[(256, 0)]))


def test_breakdown_rows_are_the_operators_scaled_by_their_count(moe_step) -> None:
    _, s = moe_step
    rows = s.breakdown()
    ops = [c for c in s.cost.ops if float(c.total_s) > 0]
    assert len(rows) == len(ops) > 5
    for r, c in zip(rows, ops, strict=True):
        op = c.op
        assert r["name"] == op.name and r["kind"] == op.kind and r["layer"] == op.layer
        assert r["phase"] == op.phase and r["count"] == op.count and r["compute_class"] == op.compute_class
        assert r["flops"] == pytest.approx(float(op.flops) * op.count)
        assert r["bytes"] == pytest.approx(float(op.total_bytes) * op.count)
        assert r["time_s"] == float(c.total_s) and r["bound"] == c.bound
        assert r["compute_efficiency"] == float(c.compute_efficiency)
        assert r["memory_efficiency"] == float(c.memory_efficiency)
        assert 0 <= r["compute_efficiency"] <= 1 and 0 <= r["memory_efficiency"] <= 1
    assert sum(r["time_s"] for r in rows) == pytest.approx(float(s.cost.time_s))
    kinds = {r["kind"] for r in rows}
    assert {"gemm", "attention", "collective"} <= kinds


@pytest.mark.parametrize(("kind", "fields"), [
    ("gemm", ("gemm_peak.", "gemm_tile", "memory_gemm", "min_kernel_s")),
    ("attention", ("attention_peak.", "attention_ramp_keys", "memory_stream", "min_kernel_s")),
    ("collective", ("collective_half_bytes", "all_to_all_peak")),
])
def test_breakdown_names_every_efficiency_field_of_the_kind(moe_step, kind: str, fields: tuple[str, ...]) -> None:
    plan, s = moe_step
    row = next(r for r in s.breakdown() if r["kind"] == kind)
    paths = [f + row["compute_class"] if f.endswith(".") else f for f in fields]
    assert row["efficiency_source"] == "; ".join(f"{p}: {plan.efficiency.source(p)}" for p in paths)
    assert all(plan.efficiency.source(p) is not None for p in paths)


def test_time_by_bound_splits_the_step_by_what_binds_each_operator(moe_step) -> None:
    _, s = moe_step
    shares = s.cost.time_by_bound()
    want: dict[str, float] = {}
    for c in s.cost.ops:
        if float(c.total_s) > 0:
            want[c.bound] = want.get(c.bound, 0.0) + float(c.total_s)
    assert shares == pytest.approx(want) and set(shares) == set(want)
    assert all(v > 0 for v in shares.values())
    assert sum(shares.values()) == pytest.approx(float(s.cost.time_s))
    arrays = dict(zip(BOUNDS, s.cost.time_by_bound_arrays(), strict=True))
    for bound, v in shares.items():
        if bound in arrays:
            assert float(arrays[bound]) == pytest.approx(v)


def test_bracket_interpolates_inside_and_extrapolates_from_the_end_cells() -> None:
    grid = np.array([1.0, 2.0, 4.0])
    x = np.array([1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 0.5])
    i, w = _bracket(grid, x)
    assert i.tolist() == [0, 0, 1, 1, 1, 1, 0]
    assert w.tolist() == [0.0, 0.5, 0.0, 0.5, 1.0, 1.5, -0.5]
    assert np.allclose(grid[i] + w * (grid[i + 1] - grid[i]), x)  # linear in x, whichever cell


def test_table_time_is_its_lookup_and_close_to_the_exact_step(moe_step) -> None:
    plan, _ = moe_step
    table = StepCostTable.build(plan, max_seqs=64, max_tokens=2048, max_context=4096)
    shape = StepShape.of(decode_contexts=[700] * 12)
    assert float(table.time_s(shape)) == float(table.lookup(shape)[0])
    assert float(table.time_s(shape)) == pytest.approx(float(step_cost(plan, shape).time_s), rel=0.01)


@pytest.mark.parametrize(("args", "message"), [
    ((65, 65 * 10.0), "step has 65 sequences, beyond this step-cost table's 64"),
    ((0, 0.0, [(1100, 0)]), "step has 1100 tokens, beyond this step-cost table's 1024"),
    ((4, 4 * 5000.0), "step has 5000 context, beyond this step-cost table's 4096"),
    ((0, 0.0, [(512, 4000)]), "step has 4512 context, beyond this step-cost table's 4096"),
    ((0, 0.0, [(512, 3900), (16, 0)]), "step has 4412 context, beyond this step-cost table's 4096"),
])
def test_the_fast_path_refuses_steps_outside_the_table_naming_the_limit(moe_step, args, message) -> None:
    from coscale.errors import CoscaleError

    plan, _ = moe_step
    table = StepCostTable.build(plan, max_tokens=1024, max_seqs=64, max_context=4096)
    with pytest.raises(CoscaleError) as info:
        table.step(*args)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(("contexts", "chunks"), [
    ([], [(512, 0)]),                      # one prefill chunk: the bilinear fast path
    ([], [(700, 1500)]),                   # a chunk after a cached prefix
    ([900] * 6, [(300, 200)]),             # decode and a chunk in one step
    ([], [(200, 0), (333, 1000), (64, 0)]),  # several chunks: the per-operator path
    ([1200] * 20, []),
])
def test_a_freshly_built_table_prices_steps_within_one_percent(moe_step, contexts, chunks) -> None:
    """Built here, not cached across tests: time and energy of lookup and of the scalar fast path."""
    plan, _ = moe_step
    table = StepCostTable.build(plan, max_tokens=2048, max_seqs=64, max_context=4096)
    shape = StepShape.of(contexts, chunks)
    exact = step_cost(plan, shape)
    time, energy = table.lookup(shape)
    fast_time, fast_energy = table.step(len(contexts), float(sum(contexts)), chunks)
    for t in (time, fast_time):
        assert float(t) == pytest.approx(float(exact.time_s), rel=0.01)
    for e in (energy, fast_energy):
        assert float(e) == pytest.approx(float(exact.energy_j), rel=0.01)
