"""The optional training section equals `coscale plan train --json` for the same ask, and renders."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.errors import CoscaleError, DoesNotFitError
from coscale.report.html.build import build_report
from coscale.report.html.page import render_page
from coscale.report.html.scenario import parse_scenario
from coscale.report.html.training import RUN_TIME_KEYS

TRAIN = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "gpus": 8, "seq_len": 4096, "global_batch": 64, "top": 3}


def test_training_section_equals_plan_train_json(validation_results):
    sc = parse_scenario({"models": ["llama-3.1-8b"], "precisions": ["fp8"], "serve": {"enabled": False},
                         "train": TRAIN})
    d = build_report(sc, validation_results)
    r = CliRunner().invoke(app, ["plan", "train", "--json", "--model", TRAIN["model"], "--hardware", TRAIN["hardware"],
                                 "--gpus", "8", "--seq-len", "4096", "--global-batch", "64", "--top", "3"])
    assert r.exit_code == 0, r.output
    cli = {k: v for k, v in json.loads(r.output).items() if k not in RUN_TIME_KEYS}
    ours = {k: v for k, v in d["training"].items() if k != "ask"}
    assert json.loads(json.dumps(ours)) == cli
    assert len(ours["ranked"]) == 3
    assert d["serving"] is None
    page = render_page(d)
    assert 'id="training"' in page and 'id="serving"' not in page and "training_layouts.csv" in page


@pytest.mark.parametrize("train, message", [
    ({**TRAIN, "gpu": 8}, "did you mean 'gpus'"),
    ({**TRAIN, "gpus": 0}, "gpus as a positive integer"),
    ({k: v for k, v in TRAIN.items() if k != "model"}, "model as a string"),
])
def test_bad_train_table(train, message):
    with pytest.raises(CoscaleError, match=message):
        parse_scenario({"models": ["llama-3.1-8b"], "train": train})


def test_a_train_ask_that_fits_nowhere_stops_the_report_before_any_other_section(monkeypatch):
    """Exit 3 (does not fit) comes before the minutes the serving sections and validation take."""
    import coscale.report.html.build as build

    def must_not_run(*_a, **_k):
        raise AssertionError("a later section ran before the training ask was checked")

    for later in ("_config", "serving_section", "disagg_section", "run_validation"):
        monkeypatch.setattr(build, later, must_not_run)
    sc = parse_scenario({"models": ["llama-3.1-8b"], "train": {**TRAIN, "model": "llama-3.1-405b", "gpus": 1}})
    with pytest.raises(DoesNotFitError, match="nothing fits"):
        build_report(sc)
