"""Attention-DP ranks of unequal batches: the routed experts serve the group's tokens, the rest of a
rank's pass its own; the step table agrees with the exact step cost."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coscale.cost.step import step_cost
from coscale.errors import CoscaleError
from coscale.serve.scenario import Deployment, build
from coscale.workload.build import forward_ops
from coscale.workload.shape import StepShape


@cache
def _ep4():
    return build(Deployment(model="qwen3-30b-a3b", hardware="h100-sxm", gpus=4, ep=4, precision="fp8")).cost


def _ops(shape: StepShape) -> dict[str, float]:
    plan = _ep4().plan
    out: dict[str, float] = {}
    for o in forward_ops(plan.model, plan.forward_pass(shape)):
        out[o.name] = out.get(o.name, 0.0) + float(o.flops if o.kind != "collective" else o.collective.bytes) * o.count
    return out


def test_equal_ranks_are_the_default():
    ctx, chunks = [900.0] * 12, [(300, 50)]
    own = 12 + 300
    plain = step_cost(_ep4().plan, StepShape.of(ctx, chunks))
    told = step_cost(_ep4().plan, StepShape.of(ctx, chunks, group_tokens=4 * own))
    assert float(told.time_s) == float(plain.time_s) and float(told.energy_j) == float(plain.energy_j)


def test_experts_serve_the_group_and_the_exchange_the_rank():
    ctx = [500.0] * 8
    light, heavy = _ops(StepShape.of(ctx, group_tokens=4 * 8)), _ops(StepShape.of(ctx, group_tokens=4 * 8 + 3000))
    assert heavy["moe.experts_up"] > 10 * light["moe.experts_up"]  # the experts' work grows with the group
    for own in ("moe.dispatch", "moe.combine", "moe.router", "attn.qkv_proj"):
        assert heavy[own] == light[own]  # a rank's own rows and layers do not


@settings(max_examples=60, deadline=None)
@given(decode=st.integers(0, 60), context=st.integers(1, 8000), chunk=st.one_of(st.none(), st.integers(1, 3000)),
       others=st.integers(0, 6000))
@example(decode=0, context=1, chunk=109, others=6000)  # a wave of SMs crossed between 6108 and 6112 group tokens
def test_table_agrees_with_the_exact_step_cost(decode, context, chunk, others):
    chunks = [] if chunk is None else [(chunk, 0)]
    own = decode + (chunk or 0)
    if own == 0:
        return
    ctx = np.full(decode, float(context))

    def exact(group: int) -> tuple[float, float]:
        c = step_cost(_ep4().plan, StepShape.of(ctx, chunks, group_tokens=group))
        return float(c.time_s), float(c.energy_j)

    group = own + others
    table = _ep4().table.step(decode, float(ctx.sum()), chunks, group_tokens=group)
    want = exact(group)
    # above _GROUP_EXACT group tokens the experts are interpolated between whole tokens per rank (group
    # tokens a multiple of the 4 ranks): where a GEMM's tiles cross a wave of SMs between those two
    # points the exact cost steps, and the table lies between the exact costs at the two points
    low, high = (exact(4 * (group // 4)), exact(4 * (group // 4) + 4)) if group > 4096 and group % 4 else (want, want)
    for k in (0, 1):
        within = table[k] == pytest.approx(want[k], rel=0.01)
        between = min(low[k], high[k]) * 0.99 <= table[k] <= max(low[k], high[k]) * 1.01
        assert within or between, (k, table[k], want[k], low[k], high[k])


def test_a_decode_run_takes_the_group_tokens_step_by_step():
    ctx = np.array([300, 4000, 77])
    t, e = _ep4().decode_run(ctx, 30, group_tokens=900.0)
    one = [_ep4().decode_run(ctx + j, 1, group_tokens=900.0) for j in range(30)]
    assert t.tolist() == [float(x[0][0]) for x in one] and e.tolist() == [float(x[1][0]) for x in one]


def test_fewer_group_tokens_than_the_ranks_own_is_refused():
    with pytest.raises(CoscaleError, match="group tokens"):
        StepShape.of([100.0] * 5, group_tokens=3)
