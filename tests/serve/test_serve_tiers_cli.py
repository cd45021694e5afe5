"""`coscale serve` with KV tiers and routing flags: the report sections, and one-line exit-2 errors."""

from __future__ import annotations

import json

import pytest

from .cli_run import run_cli as cli

BASE = ("serve", "simulate", "--rate", "2", "--turns", "4", "--think-time", "5", "--input-len", "1500",
        "--output-len", "60", "--num-requests", "80", "--num-gpu-blocks", "1200", "--seed", "2")


def test_tiers_report_hit_rates_bytes_and_the_change_against_no_offload(monkeypatch, capsys):
    code, out, err = cli(monkeypatch, capsys, *BASE, "--kv-offload", "dram,nvme", "--nvme-kv-gib", "64", "--json")
    assert code == 0, err
    kt = json.loads(out)["kv_tiers"]
    assert [t["tier"] for t in kt["tiers"]] == ["dram", "nvme"]
    assert kt["tiers"][0]["capacity_gib"] == pytest.approx(256, rel=0.01)  # H100 host DRAM per GPU (catalog)
    assert kt["tiers"][1]["capacity_gib"] == pytest.approx(64, rel=0.01)
    assert kt["tiers"][0]["hit_rate"] > 0 and kt["loaded_bytes"] > 0 and kt["stored_bytes"] > 0
    vs = kt["vs_no_offload"]
    assert vs["no_offload"]["prefix_hit_rate"] < json.loads(out)["prefix_hit_rate"]
    assert vs["change"]["ttft_mean"] < 0  # multi-turn sessions on a small GPU pool: the tiers pay


def test_scenario_file_section_and_kv_aware_router(monkeypatch, capsys, tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"gpus": 2, "router": "kv-aware", "kv_offload": {"tiers": ["dram"], "dram_gib": 8}}))
    code, out, err = cli(monkeypatch, capsys, *BASE, "--scenario", str(f), "--json")
    assert code == 0, err
    d = json.loads(out)
    dram = d["kv_tiers"]["tiers"][0]
    assert d["replicas"] == 2 and dram["instances"] == 2
    assert dram["capacity_gib"] == pytest.approx(2 * 8, rel=0.01)  # 8 GiB per GPU, summed over the replicas


@pytest.mark.parametrize(("args", "needle"), [
    (("--kv-offload", "dram,tape"), "unknown KV tier 'tape'"),
    (("--kv-offload", "nvme,dram"), "out of order"),
    (("--kv-offload", "dram", "--dram-kv-gib", "-1"), "--dram-kv-gib must be a finite number >= 0"),
    (("--kv-offload", "dram", "--dram-kv-gib", "0.0001"), "smaller than one KV block"),
    (("--nvme-kv-gib", "10"), "need --kv-offload"),
    (("--kv-offload", "dram", "--nvme-kv-gib", "10"), "does not list"),
    (("--kv-offload", "dram", "--kv-store", "sometimes"), "--kv-store"),
    (("--kv-offload", "dram", "--hardware", "l4"), None),  # L4 has host DRAM: fine
    (("--kv-offload", "nvme", "--hardware", "l4"), "no nvme tier"),
    (("--router", "random"), "unknown router"),
    (("--admission", "reject"), "--admission-ttft"),
])
def test_bad_input_is_one_line_exit_2(monkeypatch, capsys, args, needle):
    code, _out, err = cli(monkeypatch, capsys, "serve", "simulate", "--rate", "1", "--num-requests", "5",
                          "--input-len", "200", "--output-len", "10", "--json", *args)
    if needle is None:
        assert code == 0, err
        return
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and needle in lines[0], err


@pytest.mark.parametrize(("section", "needle"), [
    ({"tiers": ["dram"], "dram_gib": "lots"}, "scenario 'kv_offload': dram_gib must be a finite number"),
    ({"tiers": ["nvme", "dram"]}, "scenario 'kv_offload': tiers nvme,dram is out of order"),
    ({"tiers": ["dram"], "keep": "all"}, "scenario 'kv_offload': unknown keep 'all'"),
])
def test_a_scenario_section_error_names_its_keys(monkeypatch, capsys, tmp_path, section, needle):
    """A bad `kv_offload` section in a scenario file is named by its keys, not by the CLI flags."""
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"kv_offload": section}))
    code, _out, err = cli(monkeypatch, capsys, "serve", "simulate", "--rate", "1", "--num-requests", "5",
                          "--scenario", str(f), "--json")
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and needle in lines[0], err


def test_a_scenario_may_name_its_tiers_as_the_flag_does(monkeypatch, capsys, tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"kv_offload": "dram"}))
    code, out, err = cli(monkeypatch, capsys, *BASE, "--scenario", str(f), "--json")
    assert code == 0, err
    assert [t["tier"] for t in json.loads(out)["kv_tiers"]["tiers"]] == ["dram"]
