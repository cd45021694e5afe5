"""The compiled (numba) fast path of the serving simulator: the aggregated engine's event loop for
the common deployments, value for value the Python engine's (see `eligibility.py` for its scope)."""
