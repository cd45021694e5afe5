"""Efficiency per chip family: every constant has provenance, every chip resolves a family."""

import pytest

from coscale.hardware import list_hardware, load_hardware
from coscale.hardware.families import family_ids, load_family, numeric_fields_of
from coscale.specs.efficiency import SOURCE_KINDS, EfficiencyModel, efficiency_paths

NVIDIA = {"nvidia-hopper", "nvidia-ampere", "nvidia-ada", "nvidia-blackwell"}


def test_the_families_asked_for_exist():
    assert set(family_ids()) == NVIDIA | {"amd-cdna3", "google-tpu", "other"}


@pytest.mark.parametrize("family", family_ids())
def test_every_field_of_every_family_has_provenance(family):
    model = load_family(family)
    assert model.family == family
    assert model.missing_sources() == (), f"{family}: no provenance for {model.missing_sources()}"
    for path in efficiency_paths():
        source = model.source(path)
        assert source.kind in SOURCE_KINDS and len(source.detail) > 10
        if source.kind == "calibrated":
            assert source.cases  # calibrated on a named validation case


def test_missing_provenance_is_detected():
    bare = EfficiencyModel()  # compat default: Hopper numbers, no provenance attached
    assert set(bare.missing_sources()) == set(efficiency_paths())


def test_calibration_cases_exist_in_the_validation_set():
    from coscale.validation.runner import load_cases
    ids = {c["id"] for c in load_cases()}
    for _, source in load_family("nvidia-hopper").sources:
        assert set(source.cases) <= ids


def test_families_without_data_say_what_they_borrow():
    for family in family_ids():
        model = load_family(family)
        if family == "nvidia-hopper":
            assert model.borrows == ""
            continue
        assert model.borrows == "nvidia-hopper" and model.notes[0].startswith("borrows the nvidia-hopper curves")
        # a constant calibrated on Hopper is an assumption on another chip
        assert all(s.kind == "assumed" and s.detail.startswith("borrowed from") for _, s in model.sources)


def test_compat_default_equals_the_hopper_family():
    assert numeric_fields_of(EfficiencyModel()) == numeric_fields_of(load_family("nvidia-hopper"))


@pytest.mark.parametrize("spec", list_hardware(), ids=lambda s: s.id)
def test_every_catalog_chip_resolves_a_family(spec):
    assert spec.efficiency.family in family_ids()
    assert spec.efficiency.missing_sources() == ()
    if spec.vendor != "NVIDIA":
        assert spec.efficiency.borrows, f"{spec.id}: a non-NVIDIA chip must state which curves it borrows"


def test_chips_map_to_their_families():
    expect = {"h100-sxm": "nvidia-hopper", "a100-sxm-80gb": "nvidia-ampere", "b200": "nvidia-blackwell",
              "l40s": "nvidia-ada", "mi300x": "amd-cdna3", "tpu-v5p": "google-tpu", "gaudi3": "other"}
    for hw_id, family in expect.items():
        assert load_hardware(hw_id).efficiency.family == family
