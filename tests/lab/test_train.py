"""Training: same seed -> same losses; interrupted + resumed == uninterrupted; checkpoint safety."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from coscale.errors import CoscaleError
from coscale.lab.checkpoint import load_checkpoint
from coscale.lab.recipes import get_recipe
from coscale.lab.train import CHECKPOINT, train_run

from .conftest import with_steps


def test_same_seed_same_losses_and_loss_decreases(tiny_preset, corpus):
    bf16 = get_recipe("bf16")
    a, _ = train_run(tiny_preset, bf16, corpus, seed=1, out_dir=None)
    b, _ = train_run(tiny_preset, bf16, corpus, seed=1, out_dir=None)
    c, _ = train_run(tiny_preset, bf16, corpus, seed=2, out_dir=None)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss
    assert a.train_loss != c.train_loss
    assert a.train_loss[-1] < a.train_loss[0] - 0.5


def test_interrupted_then_resumed_equals_uninterrupted(tiny_preset, corpus, tmp_path):
    bf16 = get_recipe("bf16")
    full, _ = train_run(tiny_preset, bf16, corpus, seed=0, out_dir=tmp_path / "full")
    part, _ = train_run(tiny_preset, bf16, corpus, seed=0, out_dir=tmp_path / "part", should_stop=lambda s: s == 3)
    assert part.interrupted and part.steps == 3
    assert load_checkpoint(tmp_path / "part" / CHECKPOINT)["step"] == 3
    resumed, _ = train_run(tiny_preset, bf16, corpus, seed=0, out_dir=tmp_path / "part")
    assert resumed.resumed_from == 3 and not resumed.interrupted
    assert resumed.train_loss == full.train_loss
    assert resumed.val_loss == full.val_loss


def test_completed_run_is_reused_without_training(tiny_preset, corpus, tmp_path):
    bf16 = get_recipe("bf16")
    first, _ = train_run(tiny_preset, bf16, corpus, seed=0, out_dir=tmp_path)
    again, _ = train_run(tiny_preset, bf16, corpus, seed=0, out_dir=tmp_path)
    assert again.resumed_from == tiny_preset.train.steps and again.train_loss == first.train_loss
    # the LR schedule depends on the run length, so a different --steps is refused, not resumed
    with pytest.raises(CoscaleError, match="resume with --steps"):
        train_run(with_steps(tiny_preset, 10), bf16, corpus, seed=0, out_dir=tmp_path)


def test_corrupt_checkpoint_is_a_user_error_and_left_alone(tiny_preset, corpus, tmp_path):
    (tmp_path / CHECKPOINT).write_bytes(b"not a checkpoint at all")
    with pytest.raises(CoscaleError, match="corrupt"):
        train_run(tiny_preset, get_recipe("bf16"), corpus, seed=0, out_dir=tmp_path)
    assert (tmp_path / CHECKPOINT).read_bytes() == b"not a checkpoint at all"


def test_truncated_checkpoint_is_a_user_error(tiny_preset, corpus, tmp_path):
    train_run(with_steps(tiny_preset, 2), get_recipe("bf16"), corpus, seed=0, out_dir=tmp_path)
    data = (tmp_path / CHECKPOINT).read_bytes()
    (tmp_path / CHECKPOINT).write_bytes(data[: len(data) // 2])
    with pytest.raises(CoscaleError, match="corrupt"):
        train_run(tiny_preset, get_recipe("bf16"), corpus, seed=0, out_dir=tmp_path)


def test_other_run_does_not_overwrite_checkpoint(tiny_preset, corpus, tmp_path):
    train_run(with_steps(tiny_preset, 2), get_recipe("bf16"), corpus, seed=0, out_dir=tmp_path)
    before = (tmp_path / CHECKPOINT).read_bytes()
    with pytest.raises(CoscaleError, match="different run"):
        train_run(tiny_preset, get_recipe("bf16"), corpus, seed=5, out_dir=tmp_path)
    assert (tmp_path / CHECKPOINT).read_bytes() == before


def test_diverged_run_keeps_last_good_checkpoint(tiny_preset, corpus, tmp_path):
    bf16 = get_recipe("bf16")
    train_run(with_steps(tiny_preset, 4), bf16, corpus, seed=0, out_dir=tmp_path)
    before = (tmp_path / CHECKPOINT).read_bytes()
    wild = dataclasses.replace(tiny_preset, train=dataclasses.replace(tiny_preset.train, lr=1e30, grad_clip=1e30))
    with pytest.raises(CoscaleError):
        train_run(wild, bf16, corpus, seed=0, out_dir=tmp_path)  # other config: refused before training
    with pytest.raises(CoscaleError, match="diverged"):
        train_run(wild, bf16, corpus, seed=0, out_dir=tmp_path / "wild")
    assert not (tmp_path / "wild" / CHECKPOINT).exists()
    assert (tmp_path / CHECKPOINT).read_bytes() == before


@pytest.mark.parametrize("name", ["ci", "default", "gpu"])
def test_schedule_warms_up_then_decays_to_zero(name):
    """Every preset's LR rises linearly, then never increases, and the last updates are near zero."""
    from coscale.lab.config import get_preset
    from coscale.lab.train import lr_at, schedule_text

    preset = get_preset(name)
    t = preset.train
    lrs = [lr_at(s, preset) for s in range(t.steps)]
    assert lrs[: t.warmup_steps] == pytest.approx([t.lr * (s + 1) / t.warmup_steps for s in range(t.warmup_steps)])
    tail = lrs[t.warmup_steps - 1:]
    assert all(b <= a for a, b in itertools.pairwise(tail))
    assert 0 < lrs[-1] < 0.01 * t.lr and lr_at(t.steps, preset) == 0.0
    assert "cosine decay to 0 at step" in schedule_text(preset)
