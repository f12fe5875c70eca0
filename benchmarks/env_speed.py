"""Env steps per second: each game against FrozenLake-v1, and batched against DummyVecEnv.

Run: ``python -m benchmarks.env_speed [--steps N] [--vec-steps N] [--sizes 1 16 64 256]``;
prints Markdown tables and writes ``results/env_speed.json`` (and ``.md`` beside it).

Two measurements, in the same run:

- ``envs`` (:func:`measure`): the single env through ``gym.make`` (with its default
  wrappers), random actions drawn up front, resetting at episode end, against
  Gymnasium's own ``FrozenLake-v1`` stepped the same way.
- ``vectorised`` (:func:`measure_vectorised`): for each game and each number of
  copies N, SB3's ``DummyVecEnv`` of N ``gym.make`` envs against the batched
  :class:`~subrational_gym.learners.SubrationalVecEnv` with N copies, like for like:
  both plain, and both with imitation's rollout infos (``RolloutInfoWrapper`` on
  each env / ``rollout_info=True``), and the Gymnasium ``SubrationalVectorEnv`` (what
  ``gym.make_vec`` returns on Gymnasium 1.x) against Gymnasium's ``SyncVectorEnv`` of
  N ``gym.make`` envs (both with the game's infos and the installed Gymnasium's
  default autoreset mode: next-step on 1.x, where an episode's end costs a step of its
  own, same-step on 0.29). Each is stepped ``--vec-steps``
  env steps (``vec_steps // N`` batched steps) with the same random actions, drawn up
  front; the ratio is the batched env's steps/s over DummyVecEnv's at the same N. The
  single env's rate is repeated there for reference.

Rates are the best of ``--repeats`` timings (seed 0 throughout), the contenders of one
row taking turns. On a machine shared with other work they move with its load; the
ratios, measured back to back, move less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import subrational_gym  # noqa: F401  (registers the envs)

ENVS = ["FrozenLake-v1", "Subrational/Ultimatum-v0", "Subrational/Marshmallow-v0",
        "Subrational/DoubleOrNothing-v0", "Subrational/Procrastination-v0"]
GAMES = ENVS[1:]
SIZES = (1, 16, 64, 256)
#: Issue 12's goal: the batched env at 64 copies steps at least 10x DummyVecEnv.
GOAL_NUM_ENVS, GOAL_RATIO = 64, 10.0


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


def vec_steps_per_second(venv: Any, actions: np.ndarray, *, gymnasium_api: bool = False,
                         seed: int = 0) -> float:
    """Env steps per second of one pass of a vector env over ``actions``.

    Args:
        venv: A vector env that autoresets by itself (SB3 ``VecEnv`` API, or
            Gymnasium's with ``gymnasium_api``).
        actions: ``(batches, num_envs)`` actions, drawn up front.
        gymnasium_api: ``reset(seed=...)`` instead of SB3's ``seed`` then ``reset``.
        seed: Seeds the env before the pass.
    """
    if gymnasium_api:
        venv.reset(seed=seed)
    else:
        venv.seed(seed)
        venv.reset()
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    return actions.size / (time.perf_counter() - start)


def measure_vectorised(steps: int, sizes: Sequence[int] = SIZES, *, games: Sequence[str] = GAMES,
                       repeats: int = 3, single: dict[str, float] | None = None
                       ) -> dict[str, Any]:
    """DummyVecEnv against the batched envs for every game and number of copies.

    Each contender steps about ``steps`` env steps (``max(1, steps // N)`` batched steps)
    ``repeats`` times, the contenders taking turns so that a change in the machine's
    load hits them alike; the fastest pass counts.

    Returns:
        ``{env_id: {"single_env_steps_per_second": ..., "by_num_envs": {N: record}}}``,
        each record with the steps/s of ``dummy_vec_env``, ``subrational_vec_env``,
        ``dummy_vec_env_rollout_info``, ``subrational_vec_env_rollout_info``,
        ``sync_vector_env`` and ``gymnasium_vector_env``, and the ratios of the
        batched envs to their like: ``ratio`` (to ``dummy_vec_env``),
        ``ratio_rollout_info`` and ``ratio_gymnasium_vector_env`` (to Gymnasium's
        ``SyncVectorEnv``, same autoreset mode and infos).
    """
    out: dict[str, Any] = {}
    for env_id in games:
        rows: dict[str, dict[str, float]] = {}
        for n in sizes:
            actions = np.random.default_rng(0).integers(2, size=(max(1, steps // n), n))
            contenders = {name: (make(), gymnasium_api)
                          for name, (make, gymnasium_api) in _contenders(env_id, n).items()}
            row = dict.fromkeys(contenders, 0.0)
            for _ in range(repeats):
                for name, (venv, gymnasium_api) in contenders.items():
                    row[name] = max(row[name], vec_steps_per_second(
                        venv, actions, gymnasium_api=gymnasium_api))
            for venv, _ in contenders.values():
                venv.close()
            row["ratio"] = row["subrational_vec_env"] / row["dummy_vec_env"]
            row["ratio_rollout_info"] = (row["subrational_vec_env_rollout_info"]
                                         / row["dummy_vec_env_rollout_info"])
            row["ratio_gymnasium_vector_env"] = (row["gymnasium_vector_env"]
                                                 / row["sync_vector_env"])
            rows[str(n)] = row
        out[env_id] = {
            "single_env_steps_per_second": (single or {}).get(env_id)
            or steps_per_second(env_id, steps, repeats=repeats),
            "by_num_envs": rows,
        }
    return out


def _contenders(env_id: str, n: int) -> dict[str, tuple[Callable[[], Any], bool]]:
    """Builders of the vector envs compared, with whether each has Gymnasium's API."""
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.vec_env import DummyVecEnv

    from subrational_gym.learners import SubrationalVecEnv
    from subrational_gym.vector import SubrationalVectorEnv

    def single() -> gym.Env:
        return gym.make(env_id)

    def single_with_rollout_info() -> gym.Env:
        return RolloutInfoWrapper(gym.make(env_id))

    return {
        "dummy_vec_env": (lambda: DummyVecEnv([single] * n), False),
        "subrational_vec_env": (lambda: SubrationalVecEnv(env_id, n, rollout_info=False), False),
        "dummy_vec_env_rollout_info": (lambda: DummyVecEnv([single_with_rollout_info] * n),
                                       False),
        "subrational_vec_env_rollout_info": (
            lambda: SubrationalVecEnv(env_id, n, rollout_info=True), False),
        "sync_vector_env": (lambda: gym.vector.SyncVectorEnv([single] * n), True),
        "gymnasium_vector_env": (lambda: SubrationalVectorEnv(env_id, n), True),
    }


def goal(vectorised: dict[str, Any]) -> dict[str, Any]:
    """Whether every game meets the goal ratio at :data:`GOAL_NUM_ENVS` copies (both pairings)."""
    key = str(GOAL_NUM_ENVS)
    ratios = {env_id: {"plain": rec["by_num_envs"][key]["ratio"],
                       "rollout_info": rec["by_num_envs"][key]["ratio_rollout_info"]}
              for env_id, rec in vectorised.items() if key in rec["by_num_envs"]}
    worst = min((r for game in ratios.values() for r in game.values()), default=float("nan"))
    return {"num_envs": GOAL_NUM_ENVS, "min_ratio": GOAL_RATIO, "ratios": ratios,
            "worst_ratio": worst, "met": bool(ratios) and worst >= GOAL_RATIO}


def markdown(record: dict[str, Any]) -> str:
    """The record as Markdown tables."""
    lines = ["| env | steps/s | x FrozenLake |", "|---|---:|---:|"]
    for env_id, row in record["envs"].items():
        lines.append(f"| {env_id} | {row['steps_per_second']:,.0f} | "
                     f"{row['ratio_to_frozenlake']:.2f} |")
    lines += ["", "| game | N | DummyVecEnv | SubrationalVecEnv | ratio | DummyVecEnv + "
              "rollout info | SubrationalVecEnv + rollout info | ratio | SyncVectorEnv | "
              "SubrationalVectorEnv | ratio |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for env_id, rec in record["vectorised"].items():
        for n, row in rec["by_num_envs"].items():
            lines.append(
                f"| {env_id.split('/')[1]} | {n} | {row['dummy_vec_env']:,.0f} | "
                f"{row['subrational_vec_env']:,.0f} | {row['ratio']:.1f} | "
                f"{row['dummy_vec_env_rollout_info']:,.0f} | "
                f"{row['subrational_vec_env_rollout_info']:,.0f} | "
                f"{row['ratio_rollout_info']:.1f} | {row['sync_vector_env']:,.0f} | "
                f"{row['gymnasium_vector_env']:,.0f} | "
                f"{row['ratio_gymnasium_vector_env']:.1f} |")
    g = record.get("goal")
    if g and g["ratios"]:
        lines += ["", f"Goal: at N = {g['num_envs']}, at least {g['min_ratio']:g}x DummyVecEnv "
                      f"for every game: {'met' if g['met'] else 'NOT met'} (worst "
                      f"{g['worst_ratio']:.1f}x)."]
    return "\n".join(lines) + "\n"


def _machine() -> dict[str, Any]:
    import stable_baselines3

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu_count": os.cpu_count(), "load_average": list(load) if load else None,
            "python": platform.python_version(), "numpy": np.__version__,
            "gymnasium": gym.__version__, "stable_baselines3": stable_baselines3.__version__}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000,
                        help="steps per single-env timing")
    parser.add_argument("--vec-steps", type=int, default=50_000,
                        help="env steps per vector-env timing (divided among the copies)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="numbers of copies")
    parser.add_argument("--repeats", type=int, default=3, help="timings per rate (best counts)")
    parser.add_argument("--out", type=Path, default=Path("results/env_speed.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    machine = _machine()
    envs = measure(args.steps)
    vectorised = measure_vectorised(
        args.vec_steps, args.sizes, repeats=args.repeats,
        single={k: v["steps_per_second"] for k, v in envs.items()})
    machine["load_average_after"] = _machine()["load_average"]
    record = {"steps": args.steps, "vec_steps": args.vec_steps, "sizes": list(args.sizes),
              "repeats": args.repeats, "seed": 0, "machine": machine, "envs": envs,
              "vectorised": vectorised, "goal": goal(vectorised),
              "wall_seconds": time.perf_counter() - started}
    text = markdown(record)
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    args.out.with_suffix(".md").write_text(text)
    return record


if __name__ == "__main__":
    main()
