"""The workload file and the `coscale feedback` command: JSON shape, bad input as one line + exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.feedback.conftest import write_toml

from coscale.errors import CoscaleError
from coscale.explore.feedback.evaluate import evaluate, pin_batches
from coscale.explore.feedback.workload import load_workload, parse_workload
from coscale.specs.precision import get_precision

BASE = 'model = "llama-3.1-8b"\nprecision = "fp8"\n'


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coscale", "feedback", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("text, words", [
    (BASE + "input_len = 10\noutput_len = 10\nbatchh = 4\n", "did you mean 'batch'"),
    (BASE + "input_len = 10\noutput_len = 10\nbatch = 4\nrate = 1.0\n", "only one of batch"),
    (BASE + "input_len = 0\noutput_len = 10\n", "input_len as a positive integer"),
    (BASE + "input_len = 10\noutput_len = 10\nrate = -1\n", "rate (requests/s)"),
    ('precision = "fp8"\ninput_len = 10\noutput_len = 10\n', "needs model"),
    (BASE + "input_len = 10\noutput_len = 10\nmix = []\n", "non-empty list"),
    (BASE + "input_len = [\n", "not valid TOML"),
])
def test_bad_workloads_name_the_problem(tmp_path, text, words):
    with pytest.raises(CoscaleError, match=None) as exc:
        load_workload(write_toml(tmp_path, text))
    assert words in str(exc.value)


def test_mix_weights_normalise_and_inherit_defaults(tmp_path):
    w = load_workload(write_toml(tmp_path, BASE + "batch = 8\n[[mix]]\ninput_len = 4096\noutput_len = 64\nweight = 3\n"
                                               "[[mix]]\ninput_len = 128\noutput_len = 1024\nweight = 1\n"))
    assert [e.weight for e in w.entries] == [0.75, 0.25]
    assert all(e.batch == 8 and e.precision.name == get_precision("fp8").name for e in w.entries)


def test_mix_throughput_is_tokens_over_gpu_time(h100):
    a = dict(model="llama-3.1-8b", precision="fp8", input_len=4096, output_len=64, batch=8)
    b = dict(model="llama-3.1-8b", precision="fp8", input_len=128, output_len=1024, batch=8)
    xa = evaluate(h100, parse_workload(a).entries, "throughput_per_gpu", None).value
    xb = evaluate(h100, parse_workload(b).entries, "throughput_per_gpu", None).value
    mix = parse_workload({"mix": [{**a, "weight": 1}, {**b, "weight": 1}]})
    x = evaluate(h100, mix.entries, "throughput_per_gpu", None).value
    assert x == pytest.approx((64 + 1024) / (64 / xa + 1024 / xb))
    assert min(xa, xb) < x < max(xa, xb)


def test_rate_picks_the_smallest_batch_that_serves_it(h100):
    w = parse_workload(dict(model="llama-3.1-8b", precision="fp8", input_len=1024, output_len=256, rate=5.0))
    (e,) = pin_batches(h100, w.entries)
    ev = evaluate(h100, [e], "throughput_per_gpu", None)
    assert ev.entries[0].throughput_tok_s >= 5.0 * 256
    smaller = evaluate(h100, [e.__class__(**{**{f: getattr(e, f) for f in e.__slots__}, "batch": e.batch - 1})],
                       "throughput_per_gpu", None)
    assert e.batch == 1 or smaller.entries[0].throughput_tok_s < 5.0 * 256


def test_cli_json_levers(tmp_path):
    path = write_toml(tmp_path, BASE + "input_len = 256\noutput_len = 2048\nconcurrency = 64\n")
    out = _run("--workload", str(path), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    top = data["levers"][0]
    assert set(top) >= {"path", "change", "gain", "bound_before", "bound_after", "saturates_at"}
    assert top["path"] == "memory.hbm.bandwidth_Bps"
    assert {w["name"] for w in data["whatifs"]} == {"fp4_tensor_cores", "hbm_capacity_1.5x", "nvlink_domain_72"}
    assert data["flip"]["flips"][0]["after"] == "compute.fp8"


@pytest.mark.parametrize("args, words", [
    (["--objective", "throughput"], "unknown objective"),
    (["--hardware", "h1000"], "h100"),
])
def test_cli_errors_are_one_line_exit_2(tmp_path, args, words):
    path = write_toml(tmp_path, BASE + "input_len = 256\noutput_len = 256\nbatch = 4\n")
    out = _run("--workload", str(path), *args)
    assert out.returncode == 2
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_cli_model_that_does_not_fit(tmp_path):
    path = write_toml(tmp_path, 'model = "llama-3.1-70b"\nprecision = "bf16"\ninput_len = 256\noutput_len = 256\n'
                                "batch = 4\n")
    out = _run("--workload", str(path))
    assert out.returncode == 2 and "cannot run on" in out.stderr


def test_a_workload_error_names_the_file_key_not_a_flag(tmp_path):
    """`feedback` takes its layout from the workload file, so an error names the key there (`tp = 3`)."""
    path = write_toml(tmp_path, BASE + "input_len = 256\noutput_len = 256\nbatch = 4\ntp = 3\n")
    out = _run("--workload", str(path))
    assert out.returncode == 2 and "tp = 3 does not divide" in out.stderr and "--tp" not in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
