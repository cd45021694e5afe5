"""Accelerator catalog: built-in chips as data files, user files by path, efficiency families, and the
source of every number."""

from coscale.hardware.catalog import catalog_ids, list_hardware, load_hardware
from coscale.hardware.families import family_ids, load_family
from coscale.hardware.provenance import Provenance, provenance

__all__ = [
    "Provenance",
    "catalog_ids",
    "family_ids",
    "list_hardware",
    "load_family",
    "load_hardware",
    "provenance",
]
