"""Env steps per second of each game against Gymnasium's FrozenLake-v1, in the same run.

Run: ``python -m benchmarks.env_speed [--steps N]``; prints a table and writes
``results/env_speed.json``. Steps go through ``gym.make`` (with its default wrappers),
with random actions drawn up front, resetting at episode end.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import subrational_gym  # noqa: F401  (registers the envs)

ENVS = ["FrozenLake-v1", "Subrational/Ultimatum-v0", "Subrational/Marshmallow-v0",
        "Subrational/DoubleOrNothing-v0", "Subrational/Procrastination-v0"]


def steps_per_second(env_id: str, steps: int, seed: int = 0, repeats: int = 3) -> float:
    """Best-of-``repeats`` step rate of ``env_id`` over ``steps`` random steps."""
    env = gym.make(env_id)
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=steps).tolist()
    best = 0.0
    for _ in range(repeats):
        env.reset(seed=seed)
        start = time.perf_counter()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()
        best = max(best, steps / (time.perf_counter() - start))
    return best


def measure(steps: int) -> dict[str, dict[str, float]]:
    """Step rate of every env and its ratio to FrozenLake-v1."""
    rates = {env_id: steps_per_second(env_id, steps) for env_id in ENVS}
    base = rates["FrozenLake-v1"]
    return {env_id: {"steps_per_second": rate, "ratio_to_frozenlake": rate / base}
            for env_id, rate in rates.items()}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("results/env_speed.json"))
    args = parser.parse_args(argv)
    result = measure(args.steps)
    for env_id, row in result.items():
        print(f"{env_id:<34} {row['steps_per_second']:>12,.0f} steps/s  "
              f"x{row['ratio_to_frozenlake']:.2f} FrozenLake")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"steps": args.steps, "envs": result}, indent=2))
    return result


if __name__ == "__main__":
    main()
