"""The data-parallel overlap window of the interleaved pipeline schedule (train/step.py)."""

from __future__ import annotations

import itertools

from coscale.train.layout import TrainLayout
from coscale.train.predict import predict_training
from coscale.train.step import dp_overlap_span

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
