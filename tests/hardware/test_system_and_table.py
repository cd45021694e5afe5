"""Multi-GPU systems built from catalog entries, and the `list hardware` output."""

import json

import pytest

from coscale.hardware import load_hardware
from coscale.report.hardware import hardware_to_dict, list_hardware_table
from coscale.specs.hardware import System


@pytest.mark.parametrize(("hw_id", "gpus", "domains"), [
    ("h100-sxm", 8, 1), ("h100-sxm", 16, 2), ("h100-sxm", 72, 9), ("gb200", 72, 1), ("gb200", 144, 2),
    ("gb200", 16, 1), ("l40s", 8, 8), ("h100-pcie", 8, 4),
])
def test_num_domains(hw_id, gpus, domains):
    assert System(hardware=load_hardware(hw_id), num_gpus=gpus).num_domains == domains


def test_link_bandwidth_switches_at_the_domain_edge():
    h100 = System(hardware=load_hardware("h100-sxm"), num_gpus=16)
    assert h100.link_bw_Bps(8) == pytest.approx(450e9)
    assert h100.link_bw_Bps(16) == pytest.approx(50e9)
    nvl72 = System(hardware=load_hardware("gb200"), num_gpus=72)
    assert nvl72.link_bw_Bps(72) == pytest.approx(900e9)
    assert nvl72.link_bw_Bps(73) == pytest.approx(50e9)


def test_json_listing_is_one_object(capsys):
    list_hardware_table(as_json=True)
    out = capsys.readouterr().out
    data = json.loads(out)
    assert set(data) == {"hardware"} and len(data["hardware"]) == 25
    h100 = next(h for h in data["hardware"] if h["id"] == "h100-sxm")
    assert h100 == json.loads(json.dumps(hardware_to_dict(load_hardware("h100-sxm"))))
    assert h100["peak_flops"]["bf16"] == pytest.approx(989.4e12)


def test_table_lists_every_id(capsys):
    list_hardware_table(as_json=False)
    out = capsys.readouterr().out
    for hw_id in ("h100-sxm", "gb200", "tpu7x", "apple-m4-max"):
        assert hw_id in out
    assert "9000" in out  # B200 dense FP4
