"""The data-parallel overlap window of the interleaved pipeline schedule (train/step.py)."""

from __future__ import annotations

import itertools

from coscale.hardware.catalog import load_hardware
from coscale.specs.hardware import System
from coscale.train.context import TrainingContext
from coscale.train.costs import PassTimes
from coscale.train.layout import TrainLayout, TrainOptions
from coscale.train.precision import get_training_precision
from coscale.train.predict import predict_training
from coscale.train.step import _free_window, dp_overlap_span

from .helpers import context, gpt


def _layout(pp: int, vp: int, dp: int, global_batch: int) -> TrainLayout:
    return TrainLayout(gpus=8 * pp * dp, tp=8, pp=pp, vp=vp, dp=dp, micro_batch=1, global_batch=global_batch,
                       seq_len=2048, recompute="none", zero=1)


def test_span_is_one_pass_without_interleaving_and_grows_with_chunks_up_to_pp_passes():
    for pp, dp in itertools.product((2, 4, 8), (1, 4)):
        m = 2 * pp
        assert dp_overlap_span(_layout(pp, 1, dp, m * dp)) == 1.0
        spans = [dp_overlap_span(_layout(pp, vp, dp, m * dp)) for vp in (1, 2, 3, 4, 8)]
        assert spans == sorted(spans)  # more chunks: the last chunk's gradients are final earlier
        assert all(1.0 <= s < pp for s in spans)
        # (pp (vp - 1) + 1) / vp: the last group's remaining chunk passes after the last chunk finishes
        assert dp_overlap_span(_layout(pp, 4, dp, m * dp)) == (pp * 3 + 1) / 4


def test_interleaving_hides_more_data_parallel_traffic_at_scale():
    model = gpt(4096, 32, 32)
    ctx = context(model, gpus=8 * 4 * 64)
    plain = predict_training(ctx, _layout(4, 1, 64, 4 * 64))
    inter = predict_training(ctx, _layout(4, 4, 64, 4 * 64))
    assert inter.step.dp_comm_s < plain.step.dp_comm_s
    assert inter.step.compute_s == plain.step.compute_s


def _dp_layout(tp: int, pp: int, dp: int, zero: int = 1) -> TrainLayout:
    return TrainLayout(gpus=tp * pp * dp, tp=tp, pp=pp, dp=dp, micro_batch=1, global_batch=4 * dp, seq_len=2048,
                       recompute="selective", zero=zero)


def test_fp8_parameter_gather_moves_fp8_bytes_and_drops_the_16_bit_copy():
    model = gpt(4096, 32, 32)
    for zero in (1, 3):
        lay = _dp_layout(8, 1, 16, zero)
        plain = predict_training(context(model, gpus=lay.gpus, precision="fp8-delayed",
                                         options=TrainOptions(dp_overlap=False)), lay)
        fp8 = predict_training(context(model, gpus=lay.gpus, precision="fp8-delayed",
                                       options=TrainOptions(dp_overlap=False, fp8_param_gather=True)), lay)
        assert fp8.step.dp_comm_s < plain.step.dp_comm_s
        assert fp8.memory.weights < plain.memory.weights
        assert fp8.step.compute_s == plain.step.compute_s
    # a 16-bit recipe has no FP8 parameters to gather: the option changes nothing
    lay = _dp_layout(8, 1, 16)
    a = predict_training(context(model, gpus=lay.gpus, options=TrainOptions(dp_overlap=False)), lay)
    b = predict_training(context(model, gpus=lay.gpus, options=TrainOptions(dp_overlap=False, fp8_param_gather=True)),
                         lay)
    assert a.step == b.step and a.memory == b.memory


def test_p2p_scatter_gather_splits_the_stage_boundary_over_tp_without_sequence_parallelism():
    model = gpt(8192, 32, 64)
    for tp in (2, 4, 8):
        lay = _dp_layout(tp, 4, 1)
        full = predict_training(context(model, gpus=lay.gpus, options=TrainOptions(sequence_parallel=False)), lay)
        split = predict_training(context(model, gpus=lay.gpus, options=TrainOptions(
            sequence_parallel=False, p2p_scatter_gather=True)), lay)
        sp = predict_training(context(model, gpus=lay.gpus, options=TrainOptions(sequence_parallel=True)), lay)
        assert split.step.pp_p2p_s < full.step.pp_p2p_s
        assert split.step.pp_p2p_s == sp.step.pp_p2p_s  # the same 1/tp shard per rank either way


def test_tp_traffic_on_nvlink_does_not_take_the_window_of_dp_traffic_on_the_nics():
    """The DP window of one pass: TP traffic hidden behind the GEMMs takes its time from the window
    only when it runs on the DP collective's own link; on another link the whole compute is a window,
    and so is any exposed TP transfer (the compute stream waits, the DP link does not)."""
    for compute, tp_comm, overlap in itertools.product((1e-3, 5e-3), (0.0, 2e-3, 8e-3), (True, False)):
        t = PassTimes(compute_s=compute, tp_comm_s=tp_comm)
        exposed = max(tp_comm / 8, tp_comm - compute) if overlap and tp_comm else tp_comm
        shared = _free_window(t, 8, overlap, True, (True, True))
        separate = _free_window(t, 8, overlap, True, (False, True))
        assert shared == max(compute - (tp_comm - exposed), 0.0)
        assert separate == compute + exposed
        assert separate >= shared


def test_faster_compute_never_slows_a_step_with_tp_inside_and_dp_across_nodes():
    model = gpt(8192, 32, 64)
    lay = _dp_layout(8, 1, 16)  # TP on NVLink, DP over 16 nodes' NICs
    base = predict_training(context(model, gpus=lay.gpus), lay)
    hw = load_hardware("h100-sxm")
    fast = hw.with_value("compute.bf16", 2.0 * hw.compute.peak("bf16"))
    ctx = TrainingContext(model=model, system=System(hardware=fast, num_gpus=lay.gpus),
                          precision=get_training_precision("bf16"))
    assert predict_training(ctx, lay).step_time_s <= base.step_time_s
