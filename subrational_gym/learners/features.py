"""Observation features for learners: the env's raw observation, a state one-hot, or both.

Every game has a small, enumerable state space, so a learner may see each state's
one-hot indicator (from the tabular model's enumeration) instead of, or next to, the
env's raw float features. The choice is an inductive bias:

- ``"raw"``: the env's observation. A small network then interpolates between states
  (it pools evidence across similar offers, minutes or days), which lowers sampling
  noise where the expert's choice varies smoothly and blurs it where it jumps.
- ``"onehot"``: one indicator per state. The network is then a lookup table; behaviour
  cloning converges to the empirical action frequencies of each state.
- ``"raw+onehot"``: both, concatenated; the network can pool and still fit jumps.

The same :class:`FeatureMap` is applied to the env (as a Gymnasium wrapper), to the
demonstrations and, when reading a trained network back as a table, to the tabular
model's observations, so the three can never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from imitation.data import types

from subrational_gym.learners.errors import LearnerError
from subrational_gym.tabular import TabularModel

FEATURE_KINDS = ("raw", "onehot", "raw+onehot")


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureMap:
    """Maps a game's raw observations to a learner's input features.

    Attributes:
        model: The game's tabular model (its state enumeration defines the one-hot).
        kind: One of :data:`FEATURE_KINDS`.
    """

    model: TabularModel
    kind: str = "raw"

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise LearnerError(
                f"features must be one of {FEATURE_KINDS}, got {self.kind!r}; "
                f"'raw' is the env's own observation"
            )

    @property
    def dim(self) -> int:
        """Length of a feature vector."""
        raw = self.model.observations.shape[1]
        return {"raw": raw, "onehot": self.model.n_states,
                "raw+onehot": raw + self.model.n_states}[self.kind]

    @property
    def observation_space(self) -> gym.spaces.Box:
        """The Box space of the features (every game's observations lie in [0, 1])."""
        return gym.spaces.Box(0.0, 1.0, shape=(self.dim,), dtype=np.float32)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        """Features of a batch ``(n, obs_dim)`` (or one observation), as float32."""
        obs = np.asarray(observations, dtype=np.float32)
        single = obs.ndim == 1
        obs = obs.reshape(-1, self.model.observations.shape[1])
        if self.kind == "raw":
            out = obs.copy()
        else:
            onehot = np.zeros((len(obs), self.model.n_states), dtype=np.float32)
            onehot[np.arange(len(obs)), self.model.state_indices(obs)] = 1.0
            out = onehot if self.kind == "onehot" else np.concatenate([obs, onehot], axis=1)
        return out[0] if single else out

    def of_states(self, states: np.ndarray) -> np.ndarray:
        """Features of the states with these indices (any shape), as float32.

        The same as ``self(model.observations[states])``, without looking the
        observations up again (what a batched env that holds state indices needs).
        """
        idx = np.asarray(states, dtype=np.int64)
        raw = self.model.observations[idx]
        if self.kind == "raw":
            return raw
        onehot = np.zeros((idx.size, self.model.n_states), dtype=np.float32)
        onehot[np.arange(idx.size), idx.reshape(-1)] = 1.0
        onehot = onehot.reshape(*idx.shape, self.model.n_states)
        return onehot if self.kind == "onehot" else np.concatenate([raw, onehot], axis=-1)

    def wrap(self, env: gym.Env) -> gym.Env:
        """``env`` with its observations replaced by these features."""
        return FeatureWrapper(env, self)

    def transform_trajectories(self, trajectories: Sequence[Any]) -> list[Any]:
        """Demonstrations with their observations replaced by these features."""
        if self.kind == "raw":
            return list(trajectories)
        return [dataclasses.replace(t, obs=self(t.obs)) for t in trajectories]


class FeatureWrapper(gym.ObservationWrapper):
    """Gymnasium wrapper applying a :class:`FeatureMap` to every observation."""

    def __init__(self, env: gym.Env, features: FeatureMap) -> None:
        super().__init__(env)
        self.features = features
        self.observation_space = features.observation_space

    def observation(self, observation: np.ndarray) -> np.ndarray:
        """The features of one observation."""
        return self.features(observation)


def check_trajectories(demonstrations: Sequence[Any]) -> list[types.Trajectory]:
    """Validate demonstrations: a non-empty sequence of imitation ``Trajectory`` objects.

    Raises:
        LearnerError: if ``demonstrations`` is empty or holds something else.
    """
    demos = list(demonstrations or [])
    if not demos:
        raise LearnerError(
            "demonstrations are empty; pass a sequence of imitation Trajectory objects, e.g. "
            "from subrational_gym.learners.generate_demonstrations(policy, env_id, 500, seed=0)"
        )
    bad = [type(d).__name__ for d in demos if not isinstance(d, types.Trajectory)]
    if bad:
        raise LearnerError(
            f"demonstrations must be imitation Trajectory objects, got {sorted(set(bad))}; "
            f"roll a policy out with generate_demonstrations or imitation.data.rollout"
        )
    return demos
