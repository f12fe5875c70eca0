"""Demonstrations: roll any per-state policy out as imitation ``Trajectory`` objects.

This module needs imitation (and so torch) only because imitation's rollout code
imports it; the policies it rolls out are plain :class:`~subrational_gym.policies.
TabularPolicy` objects or anything imitation accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from imitation.data import rollout, types

from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import check_trajectories
from subrational_gym.learners.vec_env import SubrationalVecEnv
from subrational_gym.policies import TabularPolicy
from subrational_gym.tabular import TabularModel


def generate_demonstrations(
    policy: Any,
    env_id: str,
    n_episodes: int,
    seed: int,
    env_kwargs: Mapping[str, Any] | None = None,
) -> list[types.TrajectoryWithRew]:
    """Roll ``policy`` out for exactly ``n_episodes`` episodes, reproducibly.

    Args:
        policy: A :class:`TabularPolicy` (sampled with a copy seeded by ``seed``, so the
            caller's generator is untouched), or any policy ``imitation.data.rollout``
            accepts (an SB3 policy or a callable).
        env_id: Registered id, e.g. ``"Subrational/Ultimatum-v0"``.
        n_episodes: Number of episodes, >= 1.
        seed: Seeds the env and the policy's action draws (as independent streams).
        env_kwargs: Constructor arguments of the env.

    Returns:
        The episodes, with rewards, in the env's raw observations.

    >>> from subrational_gym import policies
    >>> expert = policies.income_maximiser("Subrational/Marshmallow-v0")
    >>> demos = generate_demonstrations(expert, "Subrational/Marshmallow-v0", 3, seed=0)
    >>> len(demos), demos[0].acts.tolist()
    (3, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int | np.integer) \
            or n_episodes < 1:
        raise LearnerError(f"n_episodes must be a positive integer, got {n_episodes!r}")
    kwargs = dict(env_kwargs or {})
    # Independent streams for the env and the policy: seeded alike, Gymnasium's
    # np_random and default_rng(seed) are the same PCG64 stream, and an env that draws
    # its start state with the same uniform the policy draws its action with makes the
    # action a deterministic function of the state.
    env_seed, policy_seed, shuffle_seed = (
        int(x) for x in np.random.SeedSequence(int(seed)).generate_state(3))
    if isinstance(policy, TabularPolicy):
        policy = TabularPolicy(policy.model, policy.probs, seed=policy_seed, name=policy.name,
                               params=policy.params)
    # One copy: the episodes are exactly those of the single env seeded with env_seed
    # (DummyVecEnv + RolloutInfoWrapper, as before the batched env), so demonstrations
    # published from earlier versions are reproduced. The policy's per-observation
    # lookup, not the env, is what costs here.
    venv = SubrationalVecEnv(env_id, 1, env_kwargs=kwargs, rollout_info=True, seed=env_seed)
    trajectories = rollout.rollout(
        policy, venv, rollout.make_sample_until(min_episodes=int(n_episodes)),
        rng=np.random.default_rng(shuffle_seed), verbose=False,
    )
    venv.close()
    return list(trajectories)[: int(n_episodes)]


def action_counts(model: TabularModel, demonstrations: Sequence[Any]) -> np.ndarray:
    """``(n_states, n_actions)`` number of times each action was taken in each state."""
    counts = np.zeros((model.n_states, model.n_actions))
    for traj in check_trajectories(demonstrations):
        states = model.state_indices(np.asarray(traj.obs)[:-1])
        np.add.at(counts, (states, np.asarray(traj.acts, dtype=np.int64)), 1.0)
    return counts


def empirical_policy(
    model: TabularModel, demonstrations: Sequence[Any], *, smoothing: float = 0.5
) -> TabularPolicy:
    """The additively smoothed action frequencies of the demonstrations, per state.

    ``p(a|s) = (n(s, a) + smoothing) / (n(s) + n_actions * smoothing)``; states never
    visited get the uniform distribution. ``smoothing=0.5`` is the Krichevsky-Trofimov
    (Jeffreys-prior) estimator; 0 gives the raw frequencies. This is the discrete-action
    stand-in for the kernel density estimate of Coletta et al. 2024, and, with
    ``smoothing=0``, the best any learner can do state by state: its distance to the
    expert is the sampling-noise floor of the demonstrations.
    """
    if not np.isfinite(smoothing) or smoothing < 0:
        raise LearnerError(f"smoothing must be a finite number >= 0, got {smoothing!r}")
    counts = action_counts(model, demonstrations) + smoothing
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0),
                     1.0 / model.n_actions)
    return TabularPolicy(model, probs, name="empirical",
                         params={"smoothing": float(smoothing)})
