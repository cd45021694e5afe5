"""Which engine runs a simulation: the compiled kernel where `compiled_ineligible` allows it (same
results, much faster), else the Python engine. `engine="python"` forces Python; `"compiled"` insists
on the kernel (an error naming why when the run is outside its scope)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from coscale.errors import CoscaleError
from coscale.serve.compiled.eligibility import ENGINES, compiled_ineligible
from coscale.serve.engine import SimResult, simulate
from coscale.serve.replica import Replica
from coscale.serve.router import RouterConfig
from coscale.serve.workload import Workload

log = logging.getLogger(__name__)


def simulate_auto(replicas: list[Replica], workload: Workload, router: RouterConfig | None = None,
                  overload_wait_s: float | None = None, capacity_probe: Callable[[], float] | None = None,
                  progress: Callable[[int, int], None] | None = None, engine: str = "auto") -> SimResult:
    if engine not in ENGINES:
        raise CoscaleError(f"unknown simulation engine '{engine}'; use one of {', '.join(ENGINES)}.")
    router = router or RouterConfig()
    if engine != "python":
        why = compiled_ineligible(replicas, workload, router, overload_wait_s, capacity_probe)
        if why is None:
            from coscale.serve.compiled.run import simulate_compiled

            res = simulate_compiled(replicas, workload, router, overload_wait_s, capacity_probe)  # type: ignore[arg-type]
            if res is not None:
                if progress is not None:
                    progress(workload.total, workload.total)
                return res
            why = "the run left the compiled scope (a step outside the cost table, or requests never admitted)"
        if engine == "compiled":
            raise CoscaleError(f"the compiled engine cannot run this simulation: {why}; use engine='python'.")
        log.info("serving simulation on the Python engine: %s", why)
    return simulate(replicas, workload, router, overload_wait_s=overload_wait_s, capacity_probe=capacity_probe,
                    progress=progress)
