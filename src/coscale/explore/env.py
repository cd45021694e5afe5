"""`coscale/CoDesign-v0`: a gymnasium environment over a design space (optional extra `coscale[gym]`).

An episode draws one workload (input length, output length, and batch where the space fixes it)
from the space's workload grid. Each step's action picks one design — a MultiDiscrete vector
with one entry per design axis: model, chip, each chip-field scaling, precision, KV format, TP,
PP, EP and GPU count — and the environment evaluates it at that workload through the explorer's
array path. The reward is the space's objective: its value when larger is better, its reciprocal
when smaller is better (seconds -> 1/s, $/Mtok -> Mtok/$), and 0 for an infeasible design, so
infeasible is always worst. Episodes are truncated after `horizon` steps.

Observation (float32, each in [0, 1]): the workload (log2 input and output length / 20, log2
batch / 10 or 0 for auto), then the last evaluation — feasible flag, log10(1 + reward) / 7,
memory headroom, the last action's coordinates scaled to [0, 1] — and the share of the horizon used.

`action_masks()` follows the MultiDiscrete convention of sb3-contrib (per-axis masks concatenated):
a value is allowed when at least one feasible design at this workload uses it. The exact joint mask
is `feasible_designs()`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from coscale.explore.design_table import DesignTable
from coscale.explore.objectives import get_objective
from coscale.explore.space import Space, load_space

ENV_ID = "coscale/CoDesign-v0"
DEFAULT_TASK = "codesign-task"


class CoDesignEnv(gym.Env):
    metadata = {"render_modes": []}  # noqa: RUF012 - gymnasium's class attribute

    def __init__(self, space: Space | str = DEFAULT_TASK, objective: str | None = None, horizon: int = 32,
                 table: DesignTable | None = None) -> None:
        self.space = load_space(space) if isinstance(space, str) else space
        self.objective = objective or self.space.objectives[0]
        self.maximize = get_objective(self.objective).maximize
        self.table = table if table is not None and table.objective == self.objective and table.space == self.space \
            else DesignTable(space=self.space, objective=self.objective)
        self.horizon = horizon
        self.shape = self.space.design_shape
        self.action_space = spaces.MultiDiscrete(np.asarray(self.shape, dtype=np.int64))
        self.obs_size = 3 + 3 + len(self.shape) + 1
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.obs_size,), dtype=np.float32)
        isl, osl, batch = self.space.workload_grid()
        self._workloads = (isl, osl, batch)
        self._workload = 0
        self._t = 0
        self._last: tuple[float, float, float, tuple[int, ...]] = (0.0, 0.0, 0.0, (0,) * len(self.shape))

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        n = self._workloads[0].size
        wanted = (options or {}).get("workload")
        self._workload = int(wanted) if wanted is not None else int(self.np_random.integers(n))
        self._t = 0
        self._last = (0.0, 0.0, 0.0, (0,) * len(self.shape))
        return self._observation(), {"workload": self.workload()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        coords = tuple(int(a) for a in np.asarray(action).ravel())
        if len(coords) != len(self.shape) or any(not 0 <= c < n for c, n in zip(coords, self.shape, strict=True)):
            raise ValueError(f"action {coords} is outside {self.action_space}")
        index = self.space.design_index(coords)
        row = self.table.row(index)
        w = self._workload
        feasible = bool(row.feasible[w])
        value = float(row.objective[w]) if feasible else float("nan")
        reward = self.reward_of(value) if feasible else 0.0
        headroom = float(row.headroom[w]) if feasible else 0.0
        self._t += 1
        self._last = (1.0 if feasible else 0.0, reward, headroom, coords)
        info = {"design": self.space.design(index), "design_index": index, "feasible": feasible,
                "reason": row.reason[w], "objective": value, "batch": float(row.batch[w])}
        return self._observation(), reward, False, self._t >= self.horizon, info

    # -- masks and helpers ----------------------------------------------------------------------
    def reward_of(self, value: float) -> float:
        return value if self.maximize else 1.0 / value

    def workload(self) -> dict[str, float | None]:
        isl, osl, batch = self._workloads
        w = self._workload
        return {"input_len": float(isl[w]), "output_len": float(osl[w]),
                "batch": None if batch is None else float(batch[w])}

    def feasible_designs(self) -> np.ndarray:
        """Exact joint mask over the design grid at this episode's workload."""
        return self.table.feasible_designs(self._workload)

    def action_masks(self) -> np.ndarray:
        joint = self.feasible_designs()
        per_axis = [joint.any(axis=tuple(a for a in range(joint.ndim) if a != d)) for d in range(joint.ndim)]
        return np.concatenate(per_axis)

    def _observation(self) -> np.ndarray:
        isl, osl, batch = self._workloads
        w = self._workload
        feasible, reward, headroom, coords = self._last
        parts = [np.log2(isl[w]) / 20, np.log2(osl[w]) / 20, 0.0 if batch is None else np.log2(batch[w]) / 10,
                 feasible, np.log10(1.0 + max(reward, 0.0)) / 7, headroom,
                 *(c / max(n - 1, 1) for c, n in zip(coords, self.shape, strict=True)), self._t / self.horizon]
        return np.clip(np.asarray(parts, dtype=np.float32), 0.0, 1.0)


def register() -> None:
    """Register `coscale/CoDesign-v0` with gymnasium (idempotent); importing this module does it."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="coscale.explore.env:CoDesignEnv")


register()
