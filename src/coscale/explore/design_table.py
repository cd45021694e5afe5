"""Every design of a space over its whole workload grid, evaluated lazily and kept: the lookup the
gymnasium environment and the search baselines read (one `evaluate_design` call per design)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coscale.explore.evaluate import REASON_VOCAB, Evaluator, point_reasons
from coscale.explore.objectives import get_objective, objective_values
from coscale.explore.space import Space


@dataclass(frozen=True, kw_only=True, slots=True)
class DesignRow:
    """One design at every workload of the space (arrays aligned with `Space.workload_grid`)."""

    objective: np.ndarray  # NaN where infeasible
    feasible: np.ndarray
    reason: tuple[str, ...]
    headroom: np.ndarray  # share of device memory left (NaN where infeasible)
    batch: np.ndarray


@dataclass(kw_only=True, slots=True)
class DesignTable:
    space: Space
    objective: str
    evaluator: Evaluator = field(init=False)
    _rows: dict[int, DesignRow] = field(default_factory=dict)

    def __post_init__(self) -> None:
        get_objective(self.objective)
        self.evaluator = Evaluator(space=self.space)

    def row(self, design: int) -> DesignRow:
        if design not in self._rows:
            isl, osl, batch = self.space.workload_grid()
            r = self.evaluator.evaluate_design(self.space.design(design), isl, osl, batch)
            n = isl.size
            if r.sweep is None:
                nan = np.full(n, np.nan)
                self._rows[design] = DesignRow(objective=nan, feasible=np.zeros(n, dtype=bool),
                                               reason=(r.reason,) * n, headroom=nan, batch=np.zeros(n))
            else:
                s = r.sweep
                reason = point_reasons(self.space, s)  # the sweep's reasons, then the space's SLO limits
                ok = reason == 0
                self._rows[design] = DesignRow(
                    objective=np.where(ok, objective_values(s, self.objective, self.space.usd_per_gpu_hour),
                                       np.nan),
                    feasible=ok, reason=tuple(REASON_VOCAB[int(i)] for i in reason),
                    headroom=np.where(ok, objective_values(s, "memory_headroom"), np.nan), batch=np.asarray(s.batch))
        return self._rows[design]

    def feasible_designs(self, workload: int) -> np.ndarray:
        """Joint mask over the design grid (shape `space.design_shape`) at one workload."""
        flat = np.array([self.row(i).feasible[workload] for i in range(self.space.num_designs)])
        return flat.reshape(self.space.design_shape)

