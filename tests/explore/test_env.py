"""`coscale/CoDesign-v0`: gymnasium's checker, rewards equal to the explorer's, masks, and a baseline
that learns something (evolution beats random search at equal budget on the shipped task)."""

from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from coscale.explore.baselines import compare, evolutionary_search, random_search  # noqa: E402
from coscale.explore.env import ENV_ID, CoDesignEnv  # noqa: E402


@pytest.fixture(scope="module")
def env():
    return CoDesignEnv()


def test_passes_gymnasium_checker():
    check_env(gym.make(ENV_ID).unwrapped, skip_render_check=True)


def test_step_reward_is_the_objective(env):
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    for _ in range(10):
        action = env.action_space.sample()
        obs, reward, terminated, _, info = env.step(action)
        assert env.observation_space.contains(obs) and not terminated
        row = env.table.row(info["design_index"])
        if info["feasible"]:
            assert reward == row.objective[env._workload] > 0 and info["reason"] == "ok"
        else:
            assert reward == 0.0 and info["reason"] != "ok"


def test_masks_match_evaluation(small_space_file):
    from coscale.explore.space import load_space

    env = CoDesignEnv(load_space(small_space_file), horizon=100)
    env.reset(seed=0, options={"workload": 4})
    joint = env.feasible_designs()
    assert joint.shape == env.space.design_shape and joint.any() and not joint.all()
    masks = env.action_masks()
    assert masks.shape == (sum(env.space.design_shape),)
    rng = np.random.default_rng(0)
    for flat in rng.choice(env.space.num_designs, size=30, replace=False):
        coords = env.space.design_coords(int(flat))
        _, reward, _, _, info = env.step(np.asarray(coords))
        assert info["feasible"] == bool(joint[coords]) and (reward > 0) == bool(joint[coords])


def test_truncates_at_horizon():
    e = CoDesignEnv(horizon=3)
    e.reset(seed=1)
    flags = [e.step(e.action_space.sample())[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_evolution_beats_random_at_equal_budget(env):
    result = compare(env, budget=40, seeds=range(8), workload=4)  # ISL 4096, OSL 1024
    assert result["evolutionary"] > 1.2 * result["random"]
    found = evolutionary_search(env, budget=40, seed=0, workload=4)
    assert found.best_reward == env.table.row(env.space.design_index(found.best_action)).objective[4]


def test_baselines_spend_exactly_the_budget(env):
    assert len(random_search(env, budget=17, seed=0).rewards) == 17
    assert len(evolutionary_search(env, budget=17, seed=0).rewards) == 17
