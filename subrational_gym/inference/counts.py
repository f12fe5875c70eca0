"""How often each action was taken in each state of a game: the data the fits read."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from subrational_gym import make_env
from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError
from subrational_gym.evaluation import policy_table, state_occupancy
from subrational_gym.planning import layers
from subrational_gym.tabular import TabularModel


@dataclass(frozen=True, eq=False)
class ActionCounts:
    """Action counts per state of a game's tabular model.

    Counts may be fractional, so aggregate data with a known number of subjects (a
    published acceptance rate at an offer, say) enter as weights, and expected counts
    under a policy (:meth:`from_policy`) are counts too. Only decision states (where
    the action changes the outcome) enter the likelihood; counts elsewhere are kept
    but ignored.

    Build them with :meth:`from_trajectories`, :meth:`from_observations`,
    :meth:`from_policy` or :meth:`sample` rather than directly.

    Attributes:
        env_id: Registered id of the game.
        env_kwargs: The env's constructor arguments (all of them, as the model records).
        counts: ``(n_states, n_actions)`` non-negative, finite counts.

    >>> from subrational_gym import policies
    >>> expert = policies.income_maximiser("Subrational/Ultimatum-v0")
    >>> counts = ActionCounts.from_policy(expert, n_episodes=110)
    >>> counts.n_obs, counts.env_id
    (110.0, 'Subrational/Ultimatum-v0')
    """

    env_id: str
    env_kwargs: Mapping[str, Any]
    counts: np.ndarray
    game: SubrationalEnv = field(repr=False)

    def __post_init__(self) -> None:
        counts = np.array(self.counts, dtype=np.float64)
        model = self.model
        if counts.shape != (model.n_states, model.n_actions):
            raise ParameterError(
                f"counts for {self.env_id} must have shape ({model.n_states}, "
                f"{model.n_actions}), got {counts.shape}; build them with "
                f"ActionCounts.from_observations(...)"
            )
        if not np.isfinite(counts).all():
            bad = np.argwhere(~np.isfinite(counts))[0]
            raise ParameterError(
                f"counts must be finite, got {counts[tuple(bad)]} for state {bad[0]} action "
                f"{bad[1]}; drop NaN or infinite weights before counting"
            )
        if (counts < 0).any():
            bad = np.argwhere(counts < 0)[0]
            raise ParameterError(
                f"counts must be >= 0, got {counts[tuple(bad)]} for state {bad[0]} action "
                f"{bad[1]}; weights are numbers of observations and cannot be negative"
            )
        counts.setflags(write=False)
        object.__setattr__(self, "counts", counts)

    # ------------------------------------------------------------ properties
    @property
    def model(self) -> TabularModel:
        """The game's exact tabular model."""
        return self.game.tabular_model()

    @property
    def decision_counts(self) -> np.ndarray:
        """``(n_decision_states, n_actions)`` counts in the decision states, in index order."""
        return self.counts[self.model.decision_mask]

    @property
    def n_obs(self) -> float:
        """Number of decisions observed (the sum of the counts in decision states)."""
        return float(self.decision_counts.sum())

    @cached_property
    def cache(self) -> dict[str, Any]:
        """Per-counts scratch space of the families (state arrays they precompute)."""
        return {}

    def frequencies(self) -> np.ndarray:
        """Empirical action frequencies per state (NaN where a state was never seen)."""
        totals = self.counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, self.counts / totals, np.nan)

    def __add__(self, other: ActionCounts) -> ActionCounts:
        """Pool two data sets of the same game and settings."""
        if not isinstance(other, ActionCounts):
            return NotImplemented
        if other.env_id != self.env_id or _canonical(other.env_kwargs) != _canonical(
                self.env_kwargs):
            raise ParameterError(
                f"cannot pool counts of {other.env_id} {dict(other.env_kwargs)} with counts of "
                f"{self.env_id} {dict(self.env_kwargs)}; pool data of the same game and settings"
            )
        return ActionCounts(self.env_id, self.env_kwargs, self.counts + other.counts, self.game)

    def __repr__(self) -> str:
        return (f"ActionCounts({self.env_id}, {self.n_obs:g} decisions in "
                f"{int((self.decision_counts.sum(axis=1) > 0).sum())} of "
                f"{int(self.model.decision_mask.sum())} decision states)")

    # ---------------------------------------------------------- constructors
    @classmethod
    def from_observations(
        cls,
        env_id: str,
        observations: Any,
        actions: Any,
        weights: Any = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> ActionCounts:
        """Count (observation, action) pairs, each with an optional weight.

        Args:
            env_id: Registered id of the game, e.g. ``"Subrational/Ultimatum-v0"``.
            observations: ``(n, obs_dim)`` observations as the env emits them.
            actions: ``(n,)`` integer actions.
            weights: ``(n,)`` non-negative weights (default 1 each), e.g. the number of
                subjects behind an aggregate rate.
            env_kwargs: The env's constructor arguments.

        Raises:
            ParameterError: for mismatched lengths, actions out of range, or negative
                or non-finite weights.
            UnknownObservationError: for an observation that is no state of the game
                with these ``env_kwargs``.
        """
        game = _make_game(env_id, env_kwargs)
        model = game.tabular_model()
        obs = np.asarray(observations, dtype=np.float32)
        if obs.ndim == 1:
            obs = obs.reshape(1, -1)
        if obs.ndim != 2 or obs.shape[1] != model.observations.shape[1]:
            raise ParameterError(
                f"observations for {model.env_id} must have shape (n, "
                f"{model.observations.shape[1]}), got {np.shape(observations)}"
            )
        acts = np.asarray(actions)
        if acts.shape != (len(obs),):
            raise ParameterError(
                f"expected one action per observation ({len(obs)}), got actions of shape "
                f"{acts.shape}"
            )
        if acts.dtype.kind == "f" and acts.size and not np.all(acts == np.round(acts)):
            raise ParameterError(f"actions must be integers, got {acts[acts != np.round(acts)][0]}")
        if acts.dtype.kind not in "iuf" and acts.size:
            raise ParameterError(f"actions must be integers, got dtype {acts.dtype}")
        acts = acts.astype(np.int64)
        if acts.size and (acts.min() < 0 or acts.max() >= model.n_actions):
            bad = acts[(acts < 0) | (acts >= model.n_actions)][0]
            raise ParameterError(
                f"action {bad} is out of range for {model.env_id}: expected "
                f"0..{model.n_actions - 1}"
            )
        if weights is None:
            w = np.ones(len(obs))
        else:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(obs),):
                raise ParameterError(
                    f"expected one weight per observation ({len(obs)}), got weights of shape "
                    f"{w.shape}"
                )
            if not np.isfinite(w).all():
                raise ParameterError(
                    f"weights must be finite, got {w[~np.isfinite(w)][0]} at position "
                    f"{int(np.flatnonzero(~np.isfinite(w))[0])}; drop or fix that observation"
                )
            if (w < 0).any():
                raise ParameterError(
                    f"weights must be >= 0, got {w[w < 0][0]} at position "
                    f"{int(np.flatnonzero(w < 0)[0])}; a weight counts observations"
                )
        idx = _state_indices(model, obs, env_kwargs)
        counts = np.zeros((model.n_states, model.n_actions))
        np.add.at(counts, (idx, acts), w)
        return cls(model.env_id, dict(model.env_kwargs), counts, game)

    @classmethod
    def from_choice_rates(
        cls,
        env_id: str,
        observations: Any,
        rates: Any,
        n: Any,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> ActionCounts:
        """Aggregate data: in each observed state, ``n`` subjects chose with ``rates``.

        For published figures such as "58% of students accept an offer of 10%": the
        state's counts are ``n * rates``.

        Args:
            env_id: Registered id of the game.
            observations: ``(m, obs_dim)`` one observation per reported state.
            rates: ``(m, n_actions)`` share of subjects choosing each action (rows sum to 1).
            n: Number of subjects per state, a number or ``(m,)`` numbers.
            env_kwargs: The env's constructor arguments.

        Raises:
            ParameterError: for rates that are not distributions or a bad ``n``.
        """
        obs = np.asarray(observations, dtype=np.float32).reshape(len(observations), -1)
        rates = np.asarray(rates, dtype=np.float64)
        if rates.ndim != 2 or rates.shape[0] != len(obs):
            raise ParameterError(
                f"rates must have one row per observation ({len(obs)} rows), got shape "
                f"{rates.shape}"
            )
        if not np.isfinite(rates).all() or (rates < 0).any() or not np.allclose(
                rates.sum(axis=1), 1.0, atol=1e-6):
            raise ParameterError(
                f"each row of rates must be a probability distribution, got {rates.tolist()}"
            )
        n_arr = np.broadcast_to(np.asarray(n, dtype=np.float64), (len(obs),))
        m, k = rates.shape
        return cls.from_observations(
            env_id, np.repeat(obs, k, axis=0), np.tile(np.arange(k), m),
            weights=(rates * n_arr[:, None]).reshape(-1), env_kwargs=env_kwargs)

    @classmethod
    def from_trajectories(
        cls,
        env_id: str,
        trajectories: Sequence[Any],
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> ActionCounts:
        """Count the actions of episodes.

        Episodes are ``imitation`` ``Trajectory`` objects, or anything with ``obs`` of
        shape ``(T + 1, obs_dim)`` and ``acts`` of shape ``(T,)``.

        Raises:
            ParameterError: for no trajectories or malformed ones.
            UnknownObservationError: for an observation that is no state of the game.
        """
        trajectories = list(trajectories)
        if not trajectories:
            raise ParameterError(
                "no trajectories to count; pass the episodes of a rollout or saved "
                "demonstrations"
            )
        obs, acts = [], []
        for i, traj in enumerate(trajectories):
            o, a = getattr(traj, "obs", None), getattr(traj, "acts", None)
            if o is None or a is None:
                raise ParameterError(
                    f"trajectory {i} has no obs/acts (got {type(traj).__name__}); pass "
                    f"imitation Trajectory objects"
                )
            o, a = np.asarray(o), np.asarray(a).reshape(-1)
            if len(o) != len(a) + 1:
                raise ParameterError(
                    f"trajectory {i} has {len(o)} observations for {len(a)} actions; expected "
                    f"one more observation than actions"
                )
            obs.append(o[:-1])
            acts.append(a)
        return cls.from_observations(env_id, np.concatenate(obs), np.concatenate(acts),
                                     env_kwargs=env_kwargs)

    @classmethod
    def from_policy(cls, policy: Any, n_episodes: float = 500) -> ActionCounts:
        """Expected counts of ``n_episodes`` episodes under a policy's own occupancy.

        Fitting expected counts gives the large-sample ("pseudo-true") answer: what the
        fits converge to with data of this size, free of sampling noise; comparing
        families on them tells whether they are separable at ``n_episodes``.

        Args:
            policy: A :class:`~subrational_gym.policies.TabularPolicy` (an ``LLMExpert``
                or a fitted policy included).
            n_episodes: Number of episodes, > 0.
        """
        model = _policy_model(policy)
        n = _check_episodes(n_episodes, integer=False)
        probs = policy_table(model, policy)
        occ = state_occupancy(model, probs)
        counts = n * occ[:, None] * probs
        counts[model.terminal_mask] = 0.0  # no action is taken once the episode has ended
        return cls(model.env_id, dict(model.env_kwargs), counts,
                   _make_game(model.env_id, model.env_kwargs))

    @classmethod
    def sample(cls, policy: Any, n_episodes: int, *, seed: int | None = None) -> ActionCounts:
        """The counts of ``n_episodes`` episodes drawn from ``policy``, simulated exactly.

        Equivalent in distribution to rolling the policy out and calling
        :meth:`from_trajectories`, but drawn state by state (multinomial splits of the
        episodes that reach each state), so thousands of data sets cost milliseconds.
        """
        model = _policy_model(policy)
        n = _check_episodes(n_episodes, integer=True)
        probs = policy_table(model, policy)
        rng = np.random.default_rng(seed)
        arrivals = np.zeros(model.n_states, dtype=np.int64)
        start = model.initial_distribution
        arrivals += rng.multinomial(n, start / start.sum())
        counts = np.zeros((model.n_states, model.n_actions))
        p = model.sparse_transitions
        last = model.n_states - 1
        for block in reversed(layers(model)):  # earliest time step first
            for s in range(block.start, block.stop):
                if arrivals[s] == 0:
                    continue
                acts = rng.multinomial(arrivals[s], probs[s])
                counts[s] = acts
                for a in np.flatnonzero(acts):
                    nxt, prob = p.successors(s, a)
                    # Over a full row of next states the last successor is drawn by a
                    # binomial unless it is the last state; a zero-probability pad keeps
                    # that random stream, so seeded counts are those of a dense row.
                    padded = nxt[-1] != last
                    if padded:
                        prob = np.append(prob, 0.0)
                    split = rng.multinomial(acts[a], prob / prob.sum())
                    if padded:  # a draw left on the pad by rounding is the last successor's
                        split[-2] += split[-1]
                        split = split[:-1]
                    arrivals[nxt] += split
        return cls(model.env_id, dict(model.env_kwargs), counts,
                   _make_game(model.env_id, model.env_kwargs))


def _make_game(env_id: str, env_kwargs: Mapping[str, Any] | None) -> SubrationalEnv:
    if not isinstance(env_id, str):
        raise ParameterError(
            f"env_id must be a registered id such as 'Subrational/Ultimatum-v0', got {env_id!r}"
        )
    return make_env(env_id, **dict(env_kwargs or {}))


def _state_indices(model: TabularModel, obs: np.ndarray,
                   env_kwargs: Mapping[str, Any] | None) -> np.ndarray:
    try:
        return model.state_indices(obs)
    except UnknownObservationError as exc:
        raise UnknownObservationError(
            f"{exc}. The counts were built for env_kwargs={dict(env_kwargs or {})}: check "
            f"that they are the arguments the demonstrations were collected with (for "
            f"example self_imposed_deadline=True for the commitment variant)"
        ) from None


def _policy_model(policy: Any) -> TabularModel:
    model = getattr(policy, "model", None)
    if not isinstance(model, TabularModel):
        raise ParameterError(
            f"expected a TabularPolicy (a reference policy, an LLMExpert or a fitted policy), "
            f"got {type(policy).__name__}; wrap learned policies with "
            f"subrational_gym.learners.as_tabular_policy"
        )
    return model


def _check_episodes(n: Any, *, integer: bool) -> Any:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(n, bool) or not isinstance(n, kind) or not math.isfinite(n) or n <= 0:
        raise ParameterError(
            f"n_episodes must be a positive {'integer' if integer else 'number'}, got {n!r}; "
            f"pass e.g. n_episodes=500"
        )
    return int(n) if integer else float(n)


def _canonical(kwargs: Mapping[str, Any]) -> str:
    return json.dumps(dict(kwargs), sort_keys=True, default=str)
