"""Reusable checks for Subrational environments, shipped with the package (after seals).

Every env, including a user's new game built on :class:`SubrationalEnv`, can be
tested the same way::

    from subrational_gym.testing import check_subrational_env
    check_subrational_env("Subrational/Ultimatum-v0", pie=4)

The checks need only gymnasium and numpy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from subrational_gym.core import SubrationalEnv


def rollout_actions(env: gym.Env, actions: list[int], seed: int) -> list[tuple]:
    """Observations, rewards and ends of one episode with the given actions (cycled)."""
    obs, _ = env.reset(seed=seed)
    steps: list[tuple] = [(obs.tobytes(),)]
    i = 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(actions[i % len(actions)])
        steps.append((obs.tobytes(), reward, terminated, truncated))
        i += 1
        if terminated or truncated:
            return steps


def check_fixed_horizon(env: gym.Env, *, episodes: int = 20, seed: int = 0) -> None:
    """Every episode, whatever the actions, lasts exactly ``horizon`` steps."""
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    rng = np.random.default_rng(seed)
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        length = 0
        while True:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            length += 1
            assert not truncated, "Subrational envs never truncate"
            if terminated:
                break
            assert length < game.horizon, f"episode ran past the horizon {game.horizon}"
        assert length == game.horizon, f"episode lasted {length} steps, horizon {game.horizon}"


def check_model_matches_simulator(
    env: gym.Env, *, episodes: int = 300, seed: int = 0, tolerance: float = 0.12
) -> None:
    """The tabular model and ``step`` agree.

    Every observation the simulator emits is a state of the model, every reward and
    next state it produces has positive probability in ``P[s][a]``, and empirical
    transition frequencies are within ``tolerance`` of the model's probabilities.
    """
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    model = game.tabular_model()
    rng = np.random.default_rng(seed)
    counts: dict[tuple[int, int], dict[int, int]] = {}
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        s = model.state_index(obs)
        assert model.initial_distribution[s] > 0, "reset reached a state of zero start mass"
        terminated = False
        while not terminated:
            a = int(rng.integers(model.n_actions))
            obs, reward, terminated, _, _ = env.step(a)
            s2 = model.state_index(obs)
            match = [t for t in model.transitions[s][a] if t.next_state == s2]
            assert match, f"step went {s}->{s2} with action {a}, impossible in the model"
            assert np.isclose(match[0].reward, reward), "reward differs from the model"
            assert match[0].terminated == terminated, "termination differs from the model"
            counts.setdefault((s, a), {}).setdefault(s2, 0)
            counts[(s, a)][s2] += 1
            s = s2
    for (s, a), nxt in counts.items():
        total = sum(nxt.values())
        if total < 50:
            continue
        successors, probabilities = model.sparse_transitions.successors(s, a)
        for s2, k in nxt.items():
            expected = float(probabilities[successors == s2].sum())
            assert abs(k / total - expected) < tolerance, (
                f"P[{s}][{a}]->{s2}: empirical {k / total:.3f}, model {expected:.3f}"
            )


def check_meaning_round_trip(env: gym.Env) -> None:
    """``observation_meaning`` inverts the observation of every state of the model."""
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    model = game.tabular_model()
    for s, obs in enumerate(model.observations):
        state = game.observation_meaning(obs)
        assert np.array_equal(game._observe(state), obs), f"state {s} does not round-trip"
        assert game.observation_space.contains(obs), f"state {s} is outside the space"
        assert model.descriptions[s] == game.describe(obs)
        labels = game.action_labels(obs)
        assert len(labels) == model.n_actions and all(x.isalpha() for x in labels)


def check_subrational_env(env_id: str, **kwargs: Any) -> None:
    """Run every check above plus Gymnasium's ``check_env`` on ``gym.make(env_id, **kwargs)``."""
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    check_fixed_horizon(env)
    check_model_matches_simulator(env)
    check_meaning_round_trip(env)
