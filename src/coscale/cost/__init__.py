"""Operators x hardware -> time, bound and energy (roofline with stated efficiencies + collectives)."""
