"""Host issue time: dropless MoE layers synchronise the host, so their kernel launches show."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.train.helpers import context

from coscale.models.registry import load_model
from coscale.train.host import HOST_S_PER_LAUNCH, MOE_ROUTING_LAUNCHES, launches
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.predict import predict_training
from coscale.workload.ops import Op


def _layout(gpus: int, ep: int, micro_batch: int, global_batch: int = 512) -> TrainLayout:
    return TrainLayout(gpus=gpus, dp=gpus, ep=ep, micro_batch=micro_batch, global_batch=global_batch,
                       seq_len=4096, recompute="none", zero=1)


def _moe(micro_batch: int = 1, ep: int = 8, gpus: int = 8, hardware: str = "b200", precision: str = "mxfp8"):
    ctx = context(load_model("qwen3-30b-a3b"), hardware=hardware, gpus=gpus, precision=precision)
    return predict_training(ctx, _layout(gpus, ep, micro_batch))


@given(groups=st.integers(1, 512), count=st.integers(1, 8))
def test_a_grouped_operator_launches_one_kernel_per_expert(groups: int, count: int) -> None:
    op = Op(name="moe.experts_up", kind="grouped_gemm", layer="moe", count=count, groups=groups)
    assert launches(op) == groups * count


def test_a_dense_model_hides_its_host_time_behind_the_gpu() -> None:
    ctx = context(load_model("llama-3.1-8b"), hardware="b200", precision="fp8")
    p = predict_training(ctx, TrainLayout(gpus=8, dp=8, micro_batch=2, global_batch=128, seq_len=8192,
                                          recompute="none", zero=1))
    assert p.step.host_s == 0.0


def test_a_moe_layer_exposes_at_least_its_routing_and_per_expert_launches() -> None:
    p = _moe()
    layers = len(load_model("qwen3-30b-a3b").layers)
    m = p.layout.num_microbatches
    # forward + backward of every layer: the routing kernels and 16 experts x (2 GEMMs + 2 quantizes) forward
    floor = m * layers * HOST_S_PER_LAUNCH * (2 * MOE_ROUTING_LAUNCHES + 16 * 4)
    assert p.step.host_s >= floor
    assert p.step.step_time_s == pytest.approx(sum(
        v if isinstance(v, float) else sum(v.values()) for v in p.step.as_dict().values()))


@settings(max_examples=4, deadline=None)
@given(ep=st.sampled_from([8, 16, 32, 64]))
def test_fewer_experts_per_gpu_issue_fewer_kernels(ep: int) -> None:
    """Host time per micro-batch falls as EP spreads the 128 experts over more GPUs."""
    narrow, wide = _moe(ep=ep, gpus=64), _moe(ep=ep * 2 if ep < 64 else 128, gpus=128)
    per_mb = [p.step.host_s / p.layout.num_microbatches for p in (narrow, wide)]
    assert per_mb[1] < per_mb[0]


def test_host_time_is_per_launch_so_larger_micro_batches_amortise_it() -> None:
    small, large = _moe(micro_batch=1), _moe(micro_batch=4)
    assert small.step.host_s / small.step_time_s > large.step.host_s / large.step_time_s
    assert small.tokens_per_s_per_gpu < large.tokens_per_s_per_gpu


def test_a_sync_free_moe_stack_lets_the_host_run_ahead_and_is_faster() -> None:
    """Without the sync only the excess of host over device time shows (at micro-batch 1 the eager
    host is still the slower side, so some remains)."""
    synced = _moe()
    ctx = context(load_model("qwen3-30b-a3b"), hardware="b200", gpus=8, precision="mxfp8",
                  options=TrainOptions(moe_host_sync=False))
    free = predict_training(ctx, _layout(8, 8, 1))
    assert 0.0 <= free.step.host_s < synced.step.host_s
    assert free.step_time_s < synced.step_time_s
