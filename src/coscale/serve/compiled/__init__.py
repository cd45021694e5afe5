"""The compiled (numba) fast path of the serving simulator: the aggregated engine's event loop for
the common deployments, value for value the Python engine's (see `eligibility.py` for its scope)."""

from pathlib import Path

from coscale.serve.compiled.cache_guard import drop_stale_cache

drop_stale_cache(Path(__file__).parent)
