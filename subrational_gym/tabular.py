"""The exact tabular model of a game: every reachable state, its observation, and ``P[s][a]``.

One enumeration of each game serves reference policies, value iteration, LLM
tabulation and exact evaluation, in the spirit of Gymnasium toy-text's ``P``.
States are indexed ``0 .. n_states - 1``. Each state carries its time step, and
the time step only grows, so the state graph is a layered DAG: finite-horizon
dynamic programming is exact with one backward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from subrational_gym.errors import UnknownObservationError


@dataclass(frozen=True)
class Transition:
    """One outcome of taking an action in a state.

    Attributes:
        probability: Probability of this outcome, in (0, 1].
        next_state: Index of the next state.
        reward: Reward received on this transition.
        terminated: Whether the episode ends with this transition.
    """

    probability: float
    next_state: int
    reward: float
    terminated: bool


@dataclass(frozen=True, eq=False)
class TabularModel:
    """Exact model of a game with fixed horizon.

    Attributes:
        env_id: Registered id of the game, e.g. ``"Subrational/Ultimatum-v0"``.
        env_kwargs: Constructor keyword arguments the model was built with.
        horizon: Number of steps in every episode.
        n_actions: Number of actions (the same in every state).
        observations: ``(n_states, obs_dim)`` float32 observation of each state.
        times: ``(n_states,)`` time step of each state (``horizon`` for terminal states).
        initial_distribution: ``(n_states,)`` probability of starting in each state under
            the env's default ``reset``.
        transitions: ``transitions[s][a]`` is a tuple of :class:`Transition`; empty for
            terminal states.
        decision_mask: ``(n_states,)`` True where the choice of action changes the outcome.
        descriptions: Natural-language description of each state (second person).
        action_labels: One-word label of each action in each state, in action-index order.
    """

    env_id: str
    env_kwargs: Mapping[str, Any]
    horizon: int
    n_actions: int
    observations: np.ndarray
    times: np.ndarray
    initial_distribution: np.ndarray
    transitions: tuple[tuple[tuple[Transition, ...], ...], ...]
    decision_mask: np.ndarray
    descriptions: tuple[str, ...]
    action_labels: tuple[tuple[str, ...], ...]
    _index: dict[bytes, int] = field(init=False, repr=False)
    _p: np.ndarray = field(init=False, repr=False)
    _r: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.transitions)
        if self.observations.shape[0] != n or self.times.shape != (n,):
            raise ValueError(
                f"inconsistent tabular model: {n} states but observations of shape "
                f"{self.observations.shape} and times of shape {self.times.shape}"
            )
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(self.env_kwargs)))
        index = {obs.tobytes(): i for i, obs in enumerate(self.observations)}
        if len(index) != n:
            raise ValueError("two states of the tabular model share an observation")
        object.__setattr__(self, "_index", index)
        p = np.zeros((n, self.n_actions, n), dtype=np.float64)
        r = np.zeros((n, self.n_actions), dtype=np.float64)
        for s, per_action in enumerate(self.transitions):
            for a, outcomes in enumerate(per_action):
                for tr in outcomes:
                    p[s, a, tr.next_state] += tr.probability
                    r[s, a] += tr.probability * tr.reward
        for arr in (p, r, self.observations, self.times, self.initial_distribution,
                    self.decision_mask):
            arr.setflags(write=False)
        object.__setattr__(self, "_p", p)
        object.__setattr__(self, "_r", r)

    @property
    def n_states(self) -> int:
        """Number of states, terminal states included."""
        return len(self.transitions)

    @property
    def transition_matrix(self) -> np.ndarray:
        """Dense ``(n_states, n_actions, n_states)`` transition probabilities (read-only)."""
        return self._p

    @property
    def reward_matrix(self) -> np.ndarray:
        """``(n_states, n_actions)`` expected immediate reward (read-only)."""
        return self._r

    @property
    def terminal_mask(self) -> np.ndarray:
        """``(n_states,)`` True for states reached at the end of an episode."""
        return self.times >= self.horizon

    def state_index(self, observation: np.ndarray) -> int:
        """Index of the state whose observation is ``observation``.

        Raises:
            UnknownObservationError: if no reachable state has this observation.
        """
        obs = np.asarray(observation, dtype=np.float32).reshape(self.observations.shape[1:])
        try:
            return self._index[obs.tobytes()]
        except KeyError:
            raise UnknownObservationError(
                f"observation {obs.tolist()} is not a reachable state of {self.env_id} "
                f"with {dict(self.env_kwargs)}; pass an observation produced by an env built "
                f"with the same arguments (see TabularModel.observations for all of them)"
            ) from None

    def state_indices(self, observations: np.ndarray) -> np.ndarray:
        """Indices of a batch of observations, shape ``(batch,)``.

        Raises:
            UnknownObservationError: if an observation is not a reachable state.
        """
        obs = np.asarray(observations, dtype=np.float32)
        obs = obs.reshape(-1, *self.observations.shape[1:])
        return np.fromiter((self.state_index(o) for o in obs), dtype=np.int64, count=len(obs))
