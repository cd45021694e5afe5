"""Crafted checkpoints are refused with one line before anything is loaded; writes are atomic."""

from __future__ import annotations

import pytest
import torch

from coscale.errors import CoscaleError
from coscale.lab.checkpoint import FORMAT, VERSION, load_checkpoint, save_checkpoint
from coscale.lab.recipes import get_recipe
from coscale.lab.train import CHECKPOINT, train_run

from .conftest import with_steps


@pytest.fixture(scope="module")
def saved(tiny_preset, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    train_run(with_steps(tiny_preset, 4), get_recipe("fp8-delayed"), corpus, seed=0, out_dir=out)
    return load_checkpoint(out / CHECKPOINT)


def _tamper(payload: dict, how: str) -> dict:
    p = {k: v for k, v in payload.items() if k not in ("format", "version")}
    p["history"] = dict(p["history"])
    p["model"] = dict(p["model"])
    if how == "shape":
        key = next(k for k, v in p["model"].items() if v.ndim == 2)
        p["model"][key] = torch.zeros(3, 3)
    elif how == "dtype":
        key = next(k for k, v in p["model"].items() if v.dtype == torch.float32)
        p["model"][key] = p["model"][key].double()
    elif how == "missing_tensor":
        p["model"].pop(next(iter(p["model"])))
    elif how == "nan_weight":
        key = next(k for k, v in p["model"].items() if v.ndim == 2)
        p["model"][key] = torch.full_like(p["model"][key], float("nan"))
    elif how == "string_step":
        p["step"] = "4"
    elif how == "negative_step":
        p["step"] = -1
    elif how == "bad_rng":
        p["rng"] = torch.zeros(7, dtype=torch.uint8)
    elif how == "rng_not_tensor":
        p["rng"] = [1, 2, 3]
    elif how == "history_short":
        p["history"]["train_loss"] = p["history"]["train_loss"][:-1]
    elif how == "history_nan":
        p["history"]["train_loss"] = [float("nan")] * len(p["history"]["train_loss"])
    elif how == "val_curve_future":
        p["history"]["val_curve"] = [(99, 1.0)]
    elif how == "seconds_negative":
        p["history"]["train_seconds"] = -1.0
    elif how == "optimizer_shape":
        opt = {"state": dict(p["optimizer"]["state"]), "param_groups": p["optimizer"]["param_groups"]}
        opt["state"][0] = {**opt["state"][0], "exp_avg": torch.zeros(2)}
        p["optimizer"] = opt
    elif how == "optimizer_groups":
        p["optimizer"] = {"state": {}, "param_groups": []}
    return p


CASES = ["shape", "dtype", "missing_tensor", "nan_weight", "string_step", "negative_step", "bad_rng", "rng_not_tensor",
         "history_short", "history_nan", "val_curve_future", "seconds_negative", "optimizer_shape", "optimizer_groups"]


@pytest.mark.parametrize("how", CASES)
def test_crafted_checkpoint_is_a_one_line_error_and_left_alone(saved, how, tiny_preset, corpus, tmp_path):
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, _tamper(saved, how))
    before = path.read_bytes()
    with pytest.raises(CoscaleError) as info:
        train_run(with_steps(tiny_preset, 4), get_recipe("fp8-delayed"), corpus, seed=0, out_dir=tmp_path)
    message = str(info.value)
    assert "\n" not in message and ("invalid" in message or "different run" in message), message
    assert path.read_bytes() == before


def test_untampered_checkpoint_resumes(saved, tiny_preset, corpus, tmp_path):
    save_checkpoint(tmp_path / CHECKPOINT, _tamper(saved, "none"))
    result, _ = train_run(with_steps(tiny_preset, 4), get_recipe("fp8-delayed"), corpus, seed=0, out_dir=tmp_path)
    assert result.resumed_from == 4


def test_no_code_runs_from_a_checkpoint(tmp_path):
    """weights_only loading: a pickle that would call a function is refused, not executed."""
    import pickle

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / CHECKPOINT
    path.write_bytes(pickle.dumps({"format": FORMAT, "version": VERSION, "x": Boom()}))
    with pytest.raises(CoscaleError, match="corrupt or unreadable"):
        load_checkpoint(path)


def test_write_is_atomic_when_saving_fails(tmp_path):
    path = tmp_path / CHECKPOINT
    save_checkpoint(path, {"step": 1})
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - any failure mid-write must leave the old file
        save_checkpoint(path, {"step": lambda: 0})  # not picklable
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT]
