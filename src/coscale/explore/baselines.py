"""Two search baselines over `coscale/CoDesign-v0` at a fixed evaluation budget: uniform random
search, and a (mu + lambda) evolutionary search that mutates one or two design axes of a parent
picked by tournament. Both spend exactly `budget` environment steps on one episode's workload
and report the best reward found (0 if nothing feasible was found)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from coscale.explore.env import CoDesignEnv


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchResult:
    best_reward: float
    best_action: tuple[int, ...]
    rewards: tuple[float, ...]  # every step's reward, in order


def _evaluate(env: CoDesignEnv, action: tuple[int, ...], workload: int) -> float:
    _, reward, _, truncated, _ = env.step(np.asarray(action))
    if truncated:  # keep searching the same workload past the horizon
        env.reset(options={"workload": workload})
    return float(reward)


def _start(env: CoDesignEnv, seed: int, workload: int | None) -> tuple[np.random.Generator, int]:
    env.reset(seed=seed, options=None if workload is None else {"workload": workload})
    return np.random.default_rng(seed), env._workload


def random_search(env: CoDesignEnv, *, budget: int, seed: int, workload: int | None = None) -> SearchResult:
    rng, w = _start(env, seed, workload)
    shape = env.shape
    actions = [tuple(int(rng.integers(n)) for n in shape) for _ in range(budget)]
    rewards = [_evaluate(env, a, w) for a in actions]
    best = int(np.argmax(rewards))
    return SearchResult(best_reward=rewards[best], best_action=actions[best], rewards=tuple(rewards))


def _mutate(parent: tuple[int, ...], shape: tuple[int, ...], rng: np.random.Generator) -> tuple[int, ...]:
    child = list(parent)
    axes = [d for d, n in enumerate(shape) if n > 1]
    for d in rng.choice(axes, size=min(len(axes), int(rng.integers(1, 3))), replace=False):
        others = [v for v in range(shape[d]) if v != child[d]]
        child[d] = int(rng.choice(others))
    return tuple(child)


def evolutionary_search(env: CoDesignEnv, *, budget: int, seed: int, workload: int | None = None,
                        mu: int = 4, lam: int = 4) -> SearchResult:
    rng, w = _start(env, seed, workload)
    shape = env.shape
    seen: dict[tuple[int, ...], float] = {}
    rewards: list[float] = []

    def score(a: tuple[int, ...]) -> float:
        r = _evaluate(env, a, w)
        rewards.append(r)
        seen[a] = r
        return r

    population: list[tuple[float, tuple[int, ...]]] = []
    while len(population) < mu and len(rewards) < budget:
        a = tuple(int(rng.integers(n)) for n in shape)
        population.append((score(a), a))
    while len(rewards) < budget:
        children = []
        for _ in range(lam):
            if len(rewards) >= budget:
                break
            i, j = rng.integers(len(population), size=2)
            parent = max(population[i], population[j])[1]
            child = _mutate(parent, shape, rng)
            tries = 0
            while child in seen and tries < 20:  # spend the budget on designs not yet evaluated
                child, tries = _mutate(child, shape, rng), tries + 1
            children.append((seen[child] if child in seen else score(child), child))
        population = sorted(population + children, reverse=True)[:mu]
    best = max(population)
    return SearchResult(best_reward=best[0], best_action=best[1], rewards=tuple(rewards))


def compare(env: CoDesignEnv, *, budget: int, seeds: range, workload: int | None = None) -> dict[str, Any]:
    """Mean best reward of each baseline over `seeds` (same seeds, same budget, same workloads)."""
    rnd = [random_search(env, budget=budget, seed=s, workload=workload).best_reward for s in seeds]
    evo = [evolutionary_search(env, budget=budget, seed=s, workload=workload).best_reward for s in seeds]
    return {"budget": budget, "seeds": len(seeds), "random": float(np.mean(rnd)), "evolutionary": float(np.mean(evo)),
            "random_each": rnd, "evolutionary_each": evo}
