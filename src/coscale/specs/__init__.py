"""Frozen, typed specs: what (Model), where (Hardware), which formats (Precision), how (Execution)."""
