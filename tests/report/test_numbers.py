"""Same numbers everywhere: the report's sections equal what the corresponding `--json` commands print for
the same scenario, and the page embeds exactly the report's numbers."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from coscale.cli.app import app
from coscale.serve.workload import LENGTH_PRESETS


def _cli_json(args: list[str]) -> dict:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _same(a, b) -> None:
    assert json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def _predict_args(d: dict, model: str, chip: str, precision: str, batch: int | str) -> list[str]:
    sc = d["scenario"]
    args = ["predict", "inference", "--json", "--model", model, "--hardware", chip, "--precision", precision,
            "--input-len", str(sc["input_len"]), "--output-len", str(sc["output_len"]), "--batch", str(batch)]
    args += ["--max-batch", str(sc["max_batch"])] if batch == "auto" else []  # it bounds only --batch auto
    return args + (["--kv-precision", sc["kv_precision"]] if sc["kv_precision"] else [])


def test_recommended_equals_predict_inference_json(default_report):
    rec = default_report["recommended"]
    cli = _cli_json(_predict_args(default_report, rec["model"], rec["hardware"], rec["precision"], rec["batch"]))
    _same(rec["prediction"], cli)


@pytest.mark.parametrize("index", [0, 4, 17])
def test_configurations_equal_predict_inference_json(default_report, index):
    c = default_report["configs"][index]
    assert c["fits"]
    cli = _cli_json(_predict_args(default_report, c["model"], c["hardware"], c["precision"],
                                  default_report["scenario"]["batch"]))
    _same(c["prediction"], cli)


def test_anatomy_equals_describe_json(default_report):
    for m in default_report["models"]:
        _same(m, _cli_json(["describe", "--json", "--model", m["model"]]))


def _toml(w: dict) -> str:
    lines, tables = [], []
    for k, v in w.items():
        if k == "model_levers":
            tables.append("[model_levers]")
        elif k == "answers":
            for a in v:
                tables += ["[[answers]]", *(f"{ak} = {json.dumps(av)}" for ak, av in a.items())]
        else:
            lines.append(f"{k} = {json.dumps(v)}")
    return "\n".join(lines + tables) + "\n"


def test_feedback_equals_feedback_json(default_report, tmp_path: Path):
    path = tmp_path / "workload.toml"
    path.write_text(_toml(default_report["feedback_workload"]))
    cli = _cli_json(["feedback", "--json", "--workload", str(path), "--hardware",
                     default_report["recommended"]["hardware"], "--objective", default_report["scenario"]["objective"]])
    ours = dict(default_report["feedback"])
    cli["workload"]["source"] = ours["workload"]["source"]  # the file name is the only difference
    _same(ours, cli)


def test_page_embeds_the_report_and_csv_matches(default_report, default_page: Path):
    text = default_page.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="coscale-data">(.*?)</script>', text, re.S)
    assert m
    _same(json.loads(m.group(1).replace("<\\/", "</")), default_report)
    href = re.search(r'download="configurations.csv" href="data:text/csv;charset=utf-8,([^"]*)"', text).group(1)
    rows = list(csv.DictReader(io.StringIO(unquote(href))))
    assert len(rows) == len(default_report["configs"])
    for row, c in zip(rows, default_report["configs"], strict=True):
        assert float(row["throughput_tok_s_per_gpu"]) == c["prediction"]["throughput_tok_s_per_gpu"]


@pytest.mark.slow
def test_validation_equals_validate_json(default_report):
    _same(default_report["validation"], _cli_json(["validate", "--json"]))


WALL_CLOCK = ("wall_s", "speedup_vs_real_time")  # the simulator's own run time, not a result


@pytest.mark.slow
def test_serving_curve_equals_serve_sweep_json(default_report):
    s = default_report["serving"]
    dep, w = s["deployment"], s["workload"]
    args = ["serve", "sweep", "--json", "--model", dep["model"], "--hardware", dep["hardware"], "--precision",
            dep["precision"], "--rates", ",".join(str(p["rate_rps"]) for p in s["points"]), "--length-dist",
            w["length_dist"], "--num-requests", str(w["num_requests"])]
    if w["length_dist"] not in LENGTH_PRESETS:  # a preset brings its own means (serve refuses them beside it)
        args += ["--input-len", str(w["input_len"]), "--output-len", str(w["output_len"])]
    if dep["kv_precision"]:
        args += ["--kv-precision", dep["kv_precision"]]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    cli = json.loads(r.output)["points"]
    strip = [[{k: v for k, v in p.items() if k not in WALL_CLOCK} for p in ps] for ps in (s["points"], cli)]
    _same(strip[0], strip[1])


@pytest.mark.slow
def test_report_json_equals_the_page_it_writes(tmp_path: Path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    printed = json.loads(r.output)
    assert printed.pop("out") == str(out)
    m = re.search(r'<script type="application/json" id="coscale-data">(.*?)</script>', out.read_text(), re.S)
    embedded = json.loads(m.group(1).replace("<\\/", "</"))
    _same(printed, embedded)
