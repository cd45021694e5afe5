"""Multi-GPU systems built from catalog entries, and the `list hardware` output."""

import json

import numpy as np
import pytest

from coscale.errors import CoscaleError
from coscale.hardware import load_hardware
from coscale.report.hardware import hardware_to_dict, list_hardware_table
from coscale.specs.cluster import Cluster, Pool
from coscale.specs.hardware import Link, System


@pytest.mark.parametrize(("hw_id", "gpus", "domains"), [
    ("h100-sxm", 8, 1), ("h100-sxm", 16, 2), ("h100-sxm", 72, 9), ("gb200", 72, 1), ("gb200", 144, 2),
    ("gb200", 16, 1), ("l40s", 8, 8), ("h100-pcie", 8, 4),
])
def test_num_domains(hw_id, gpus, domains):
    assert System(hardware=load_hardware(hw_id), num_gpus=gpus).num_domains == domains


def test_link_bandwidth_switches_at_the_domain_edge():
    h100 = System(hardware=load_hardware("h100-sxm"), num_gpus=16)
    assert h100.link_for(8).bandwidth_Bps == pytest.approx(450e9)
    assert h100.link_for(16).bandwidth_Bps == pytest.approx(50e9)
    assert h100.link_for(8) is h100.hardware.links.scaleup and h100.link_for(9) is h100.hardware.links.scaleout
    nvl72 = System(hardware=load_hardware("gb200"), num_gpus=72)
    assert nvl72.link_for(72).bandwidth_Bps == pytest.approx(900e9)
    assert nvl72.link_for(73).bandwidth_Bps == pytest.approx(50e9)


def _cluster(*names):
    pools = tuple(Pool(name=n, system=System(hardware=load_hardware(hw), num_gpus=8))
                  for n, hw in zip(names, ("h100-sxm", "l40s", "b200"), strict=False))
    return Cluster(pools=pools, fabric=Link(bandwidth_Bps=50e9, latency_s=15e-6))


def test_cluster_joins_pools_of_different_chips():
    c = _cluster("prefill", "decode")
    assert c.pool("decode").system.hardware.id == "l40s" and c["prefill"].system.hardware.id == "h100-sxm"
    assert c.names == ("prefill", "decode") and c.num_gpus == 16
    assert hash(c) == hash(_cluster("prefill", "decode")) and c == _cluster("prefill", "decode")
    with pytest.raises(CoscaleError, match=r"no pool named 'mixed'.*prefill, decode"):
        c.pool("mixed")


def test_cluster_validation():
    with pytest.raises(CoscaleError, match="at least one pool"):
        Cluster(pools=(), fabric=Link(bandwidth_Bps=1e9, latency_s=1e-6))
    with pytest.raises(CoscaleError, match="'a' appears more than once"):
        _cluster("a", "a")
    with pytest.raises(CoscaleError, match="non-empty name"):
        _cluster(" ")
    for bad in (0, 2.0, True, -8):
        with pytest.raises(CoscaleError, match="whole number of GPUs"):
            System(hardware=load_hardware("h100-sxm"), num_gpus=bad)
    assert System(hardware=load_hardware("h100-sxm"), num_gpus=np.int64(16)).num_domains == 2


def test_json_listing_is_one_object(capsys):
    list_hardware_table(as_json=True)
    out = capsys.readouterr().out
    data = json.loads(out)
    assert set(data) == {"hardware"} and len(data["hardware"]) == 30
    h100 = next(h for h in data["hardware"] if h["id"] == "h100-sxm")
    assert h100 == json.loads(json.dumps(hardware_to_dict(load_hardware("h100-sxm"))))
    assert h100["compute"]["bf16"] == pytest.approx(989.4e12)
    assert h100["memory"]["host"]["capacity_bytes"] == 256 * 2**30
    assert h100["efficiency"]["fields"]["gemm_peak.fp8"]["kind"] == "calibrated"
    tpu = next(h for h in data["hardware"] if h["id"] == "tpu-v5e")
    assert tpu["efficiency"]["borrows"] == "nvidia-hopper"


def test_table_lists_every_id(capsys):
    list_hardware_table(as_json=False)
    out = capsys.readouterr().out
    for hw_id in ("h100-sxm", "gb200", "tpu7x", "apple-m4-max"):
        assert hw_id in out
    assert "9000" in out  # B200 dense FP4
    assert "google-tpu*" in out  # borrowed curves are flagged
