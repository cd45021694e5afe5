"""Accelerator catalog: built-in chips as data files, user files by path, and the source of every number."""

from coscale.hardware.catalog import catalog_ids, list_hardware, load_hardware
from coscale.hardware.provenance import Provenance, provenance

__all__ = [
    "Provenance",
    "catalog_ids",
    "list_hardware",
    "load_hardware",
    "provenance",
]
