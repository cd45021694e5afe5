"""`coscale calibrate`: the fit inverts the cost model's own curves (a model fed the file reproduces the
measurement), the file round-trips through `--efficiency`, the CPU harness runs, the predict path stays
torch-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coscale.calibrate.chips import catalog_id_for
from coscale.calibrate.family_file import load_efficiency_file
from coscale.calibrate.fit import family_document, fit_fields
from coscale.calibrate.measurement import Measurement
from coscale.cli.app import app
from coscale.errors import CoscaleError
from coscale.hardware.catalog import load_hardware
from coscale.validation.kernels import predict_attention, predict_copy, predict_gemm

PROV = {"chip": "test chip", "driver": "0", "torch": "0", "date": "2026-01-01", "device": "cuda"}


def _write(tmp_path: Path, ms: list[Measurement], hw_id: str = "h100-sxm") -> Path:
    hw = load_hardware(hw_id)
    fields = fit_fields(ms, hw, hw.efficiency, PROV)
    doc = family_document(name="test-cal", base=hw.efficiency, hw=hw, fields=fields, measurements=ms, skipped=[],
                          provenance=PROV)
    path = tmp_path / "eff.json"
    path.write_text(json.dumps(doc))
    return path


@settings(max_examples=25, deadline=None)
@given(frac=st.floats(0.2, 0.95), size=st.sampled_from([4096, 8192, 16384]), cls=st.sampled_from(["bf16", "fp8"]))
def test_model_fed_the_file_reproduces_a_measured_gemm(tmp_path_factory, frac: float, size: int, cls: str) -> None:
    hw = load_hardware("h100-sxm")
    flops = 2.0 * size**3
    m = Measurement(kind="gemm", name=f"gemm-{cls}-{size}", compute_class=cls, shape=(size, size, size),
                    seconds=flops / (frac * hw.compute.peak(cls)), flops=flops, bytes=3.0 * size * size)
    eff = load_efficiency_file(_write(tmp_path_factory.mktemp("c"), [m]))
    check = {"m": size, "n": size, "k": size, "compute_class": cls, "hardware": "h100-sxm"}
    predicted = predict_gemm(check, eff)
    measured = m.flops_per_s / 1e12
    if eff.gemm_peak.get(cls, 0.0) < 1.0:  # a capped fraction cannot reproduce a super-peak measurement
        assert predicted == pytest.approx(measured, rel=1e-6)
    assert eff.source(f"gemm_peak.{cls}").kind == "calibrated"
    assert eff.source("attention_peak.bf16").detail.startswith("borrowed from nvidia-hopper")


def test_copy_and_attention_round_trip(tmp_path: Path) -> None:
    hw = load_hardware("h100-sxm")
    copy = Measurement(kind="copy", name="copy-1g", compute_class="vector", shape=(1 << 30,),
                       seconds=2.0 * (1 << 30) / (0.85 * hw.memory.hbm.bandwidth_Bps), bytes=2.0 * (1 << 30))
    b, h, s, d = 1, 32, 8192, 128
    flops = 4.0 * b * h * s * (s / 2.0) * d
    attn = Measurement(kind="attention", name="sdpa", compute_class="bf16", shape=(b, h, s, d),
                       seconds=flops / (0.5 * hw.compute.peak("bf16")), flops=flops)
    eff = load_efficiency_file(_write(tmp_path, [copy, attn]))
    assert eff.memory_stream == pytest.approx(0.85)
    got = predict_copy({"bytes": 1 << 30, "hardware": "h100-sxm"}, eff)
    assert got == pytest.approx(copy.bytes_per_s / 1e9, rel=1e-3)  # the copy also pays the kernel floor
    check = {"seq": s, "head_dim": d, "heads": h, "batch": b, "causal": True, "compute_class": "bf16",
             "hardware": "h100-sxm"}
    assert predict_attention(check, eff) == pytest.approx(attn.flops_per_s / 1e12, rel=1e-6)


def test_bad_efficiency_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CoscaleError, match="does not exist"):
        load_efficiency_file(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"family": "x", "borrows": "nope", "fields": {}}))
    with pytest.raises(CoscaleError, match="borrows"):
        load_efficiency_file(bad)
    bad.write_text(json.dumps({"family": "x", "fields": {"gemm_peak.bf16": {"value": 0.5, "kind": "calibrated",
                                                                          "source": "s"}}}))
    with pytest.raises(CoscaleError, match="names no case"):
        load_efficiency_file(bad)


@pytest.mark.parametrize(("name", "cid"), [("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA H100 PCIe", "h100-pcie"),
                                           ("NVIDIA B200", "b200"), ("NVIDIA GB200", "gb200"),
                                           ("NVIDIA H200", "h200-sxm"), ("AMD Instinct MI300X", "mi300x")])
def test_device_names_map_to_catalog_chips(name: str, cid: str) -> None:
    assert catalog_id_for(name) == cid
    load_hardware(cid)


def test_cpu_harness_runs_and_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "cpu.json"
    r = CliRunner().invoke(app, ["calibrate", "--device", "cpu", "--hardware", "h100-sxm", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["provenance"]["device"] == "cpu" and doc["provenance"]["torch"]
    assert {m["kind"] for m in doc["measurements"]} >= {"gemm", "attention", "copy"}
    assert all(m["seconds"] > 0 for m in doc["measurements"])
    eff = load_efficiency_file(out)
    assert "gemm_peak.bf16" in doc["fields"] and eff.gemm_peak.bf16 == doc["fields"]["gemm_peak.bf16"]["value"]
    p = CliRunner().invoke(app, ["predict", "inference", "--efficiency", str(out), "--json"])
    assert p.exit_code == 0, p.output
    assert json.loads(p.output)["throughput_tok_s"] > 0


@pytest.mark.parametrize("args", [["--device", "tpu"], ["--device", "cpu"]])
def test_calibrate_usage_errors_exit_2(args: list[str]) -> None:
    from coscale.cli.app import main

    r = subprocess.run([sys.executable, "-c", "import sys; from coscale.cli.app import main; sys.argv=['coscale', "
                        "'calibrate', " + ", ".join(repr(a) for a in args) + "]; main()"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2, r.stderr
    assert main is not None


def test_predict_path_never_imports_torch(tmp_path: Path) -> None:
    eff = tmp_path / "e.json"
    eff.write_text(json.dumps({"family": "x", "borrows": "nvidia-hopper", "fields": {}}))
    code = ("import sys; from typer.testing import CliRunner; from coscale.cli.app import app; "
            f"r = CliRunner().invoke(app, ['predict', 'inference', '--efficiency', {str(eff)!r}, '--json']); "
            "assert r.exit_code == 0, r.output; print('torch' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
