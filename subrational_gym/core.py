"""The base class of every subrational_gym game.

A game defines its states (hashable records carrying the time step ``t``), the
outcomes of each action, how a state is observed and described, and which
states can start an episode. From those few pure functions the base class
derives both the Gymnasium ``reset``/``step`` and the exact
:class:`~subrational_gym.tabular.TabularModel`, so the simulator and the model
can never disagree.
"""

from __future__ import annotations

import abc
import difflib
import gc
import inspect
import numbers
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np

from subrational_gym.errors import (
    InvalidActionError,
    ParameterError,
    ResetNeededError,
)
from subrational_gym.tabular import TabularModel, Transition

S = TypeVar("S", bound=Hashable)

#: One outcome of an action: (probability, next state, reward).
Outcome = tuple[float, Any, float]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a tabular model is built.

    A large model creates hundreds of thousands of small acyclic records (states,
    outcomes, transitions); with the collector on, its full collections over them took
    about a quarter of the build of a 134,000-state model.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SubrationalEnv(gym.Env[np.ndarray, np.int64], Generic[S], abc.ABC):
    """Fixed-horizon game with a finite, enumerable state space.

    Subclasses implement the ``_``-prefixed hooks; everything public is shared.
    Every state is a hashable record with an integer field ``t`` (the step), and the
    episode terminates exactly when ``t`` reaches :attr:`horizon`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}
    #: Short name of the game: its key in the registration table and the study registry.
    game: ClassVar[str]
    #: Registered id, e.g. ``"Subrational/Ultimatum-v0"``.
    env_id: ClassVar[str]
    #: The actions, as an IntEnum whose values are the action indices.
    Action: ClassVar[type[IntEnum]]

    def __new__(cls, *args: Any, **kwargs: Any) -> SubrationalEnv:
        """Refuse unknown keywords with the valid ones named (before ``__init__``)."""
        if args:
            raise ParameterError(
                f"{cls.__name__} takes keyword arguments only, got {len(args)} positional; "
                f"pass e.g. gym.make({cls.env_id!r}, name=value)"
            )
        valid = [name for name, p in inspect.signature(cls.__init__).parameters.items()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY]
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            hints = [f"{u!r} (did you mean {close[0]!r}?)" if (
                close := difflib.get_close_matches(u, valid, n=1)) else repr(u)
                for u in unknown]
            raise ParameterError(
                f"{cls.env_id} has no parameter {', '.join(hints)}; its keyword arguments "
                f"are {valid}"
            )
        return super().__new__(cls)

    def __init__(self, *, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ParameterError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}; use render_mode='ansi' for a text description"
            )
        self.render_mode = render_mode
        self._state: S | None = None
        self._done = False
        self._obs_cache: dict[S, np.ndarray] = {}
        self._outcome_cache: dict[tuple[S, int], tuple[Outcome, ...]] = {}
        self._model: TabularModel | None = None
        self._default_start: tuple[tuple[float, S], ...] | None = None

    # ------------------------------------------------------------------ hooks
    @property
    @abc.abstractmethod
    def horizon(self) -> int:
        """Number of steps in every episode."""

    @abc.abstractmethod
    def _kwargs(self) -> dict[str, Any]:
        """The constructor arguments, for the tabular model's provenance."""

    @abc.abstractmethod
    def _start_states(self) -> Sequence[S]:
        """Every state an episode may start in under any ``reset`` options."""

    @abc.abstractmethod
    def _initial_outcomes(self, options: Mapping[str, Any]) -> Sequence[tuple[float, S]]:
        """Distribution of the start state for these ``reset`` options."""

    @abc.abstractmethod
    def _outcomes(self, state: S, action: int) -> Sequence[Outcome]:
        """Outcomes of ``action`` in the non-terminal ``state``: (probability, next, reward)."""

    @abc.abstractmethod
    def _observe(self, state: S) -> np.ndarray:
        """Float32 observation of ``state``."""

    @abc.abstractmethod
    def _decode(self, observation: np.ndarray) -> S:
        """Inverse of :meth:`_observe`; raises ``UnknownObservationError`` if impossible."""

    @abc.abstractmethod
    def _describe(self, state: S) -> str:
        """Natural-language description of ``state``, second person."""

    def _labels(self, state: S) -> tuple[str, ...]:
        """One-word label of each action in ``state`` (lowercase), in index order."""
        return tuple(a.name.lower() for a in self.Action)

    def _info(self, state: S) -> dict[str, Any]:
        """Extra ``info`` entries for ``state``."""
        return {}

    # ------------------------------------------------------------ meaning API
    def observation_meaning(self, observation: np.ndarray) -> S:
        """The state an observation stands for, as a typed record.

        This is a pure function of the observation and the env's parameters.

        Raises:
            UnknownObservationError: if the observation is no reachable state of this game.
        """
        return self._decode(np.asarray(observation, dtype=np.float32))

    def describe(self, observation: np.ndarray) -> str:
        """Natural-language description of the state behind ``observation``."""
        return self._describe(self.observation_meaning(observation))

    def action_labels(self, observation: np.ndarray) -> tuple[str, ...]:
        """One-word label of each action in the state behind ``observation``."""
        return self._labels(self.observation_meaning(observation))

    # ---------------------------------------------------------- gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode; see the class docstring for the ``options`` accepted."""
        super().reset(seed=seed)
        if options:
            outcomes = tuple(self._initial_outcomes(options))
        else:
            if self._default_start is None:
                self._default_start = tuple(self._initial_outcomes({}))
            outcomes = self._default_start
        self._state = self._draw(outcomes)
        self._done = False
        return self._obs(self._state), self._info(self._state)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Take one step; the episode terminates exactly after :attr:`horizon` steps."""
        if self._state is None:
            raise ResetNeededError(
                "step() was called before reset(); call env.reset() to start an episode"
            )
        if self._done:
            raise ResetNeededError(
                f"step() was called after the episode ended (it lasts {self.horizon} steps); "
                f"call env.reset() to start a new one"
            )
        a = self._check_action(action)
        key = (self._state, a)
        outcomes = self._outcome_cache.get(key)
        if outcomes is None:
            outcomes = tuple(self._outcomes(self._state, a))
            self._outcome_cache[key] = outcomes
        chosen = outcomes[-1]  # the last outcome absorbs rounding error
        if len(outcomes) > 1:
            u = self.np_random.random()
            acc = 0.0
            for outcome in outcomes:
                acc += outcome[0]
                if u < acc:
                    chosen = outcome
                    break
        _, nxt, reward = chosen
        self._state = nxt
        self._done = nxt.t >= self.horizon
        return self._obs(nxt), float(reward), self._done, False, self._info(nxt)

    def render(self) -> str | None:
        """Describe the current state in words (``render_mode="ansi"``)."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                "You can specify the render_mode at initialization, e.g. "
                f'gym.make("{self.env_id}", render_mode="ansi")'
            )
            return None
        if self._state is None:
            return "(no episode yet: call reset())\n"
        labels = "/".join(self._labels(self._state)) if not self._done else "-"
        return f"step {self._state.t}/{self.horizon}: {self._describe(self._state)} [{labels}]\n"

    # ----------------------------------------------------------- tabular model
    def tabular_model(self) -> TabularModel:
        """The exact model: every reachable state, its observation and ``P[s][a]``.

        Built once per env instance by breadth-first search from every possible start state.
        """
        if self._model is None:
            with _gc_paused():
                self._model = self._build_model()
        return self._model

    def _build_model(self) -> TabularModel:
        starts = list(dict.fromkeys(self._start_states()))
        index: dict[S, int] = {s: i for i, s in enumerate(starts)}
        order: list[S] = list(starts)
        queue = deque(starts)
        raw: dict[S, list[tuple[Outcome, ...]]] = {}
        n_actions = len(self.Action)
        while queue:
            state = queue.popleft()
            if state.t >= self.horizon:
                raw[state] = [() for _ in range(n_actions)]
                continue
            per_action = []
            for a in range(n_actions):
                outs = tuple(self._outcomes(state, a))
                per_action.append(outs)
                for _, nxt, _ in outs:
                    if nxt not in index:
                        index[nxt] = len(order)
                        order.append(nxt)
                        queue.append(nxt)
            raw[state] = per_action
        # Sort by time step so dynamic programming can sweep layers in index order.
        order.sort(key=lambda s: s.t)
        index = {s: i for i, s in enumerate(order)}
        transitions = tuple(
            tuple(
                tuple(
                    Transition(float(p), index[nxt], float(r), bool(nxt.t >= self.horizon))
                    for p, nxt, r in outs
                    if p > 0
                )
                for outs in raw[s]
            )
            for s in order
        )
        init = np.zeros(len(order))
        for p, s in self._initial_outcomes({}):
            init[index[s]] += p
        decision = np.array(
            [len({frozenset((t.next_state, t.reward, t.probability) for t in outs)
                  for outs in per_action}) > 1
             for per_action in transitions],
            dtype=bool,
        )
        return TabularModel(
            env_id=self.env_id,
            env_kwargs=self._kwargs(),
            horizon=self.horizon,
            n_actions=n_actions,
            observations=np.stack([self._observe(s) for s in order]).astype(np.float32),
            times=np.array([s.t for s in order], dtype=np.int64),
            initial_distribution=init,
            transitions=transitions,
            decision_mask=decision,
            descriptions=tuple(self._describe(s) for s in order),
            action_labels=tuple(self._labels(s) for s in order),
        )

    # ---------------------------------------------------------------- helpers
    def _obs(self, state: S) -> np.ndarray:
        obs = self._obs_cache.get(state)
        if obs is None:
            obs = np.asarray(self._observe(state), dtype=np.float32)
            obs.setflags(write=False)
            self._obs_cache[state] = obs
        return obs.copy()

    def _draw(self, weighted: Sequence[tuple[float, S]]) -> S:
        if len(weighted) == 1:
            return weighted[0][1]
        u = self.np_random.random()
        acc = 0.0
        for p, s in weighted:
            acc += p
            if u < acc:
                return s
        return weighted[-1][1]

    def _check_action(self, action: Any) -> int:
        if isinstance(action, np.ndarray) and action.size == 1:
            action = action.reshape(()).item() if action.dtype.kind in "iu" else action
        if isinstance(action, bool | np.bool_) or not isinstance(action, numbers.Integral):
            raise InvalidActionError(
                f"action must be an integer in 0..{len(self.Action) - 1} "
                f"({', '.join(f'{a.value}={a.name}' for a in self.Action)}), got {action!r} "
                f"of type {type(action).__name__}; pass e.g. {self.Action.__name__}."
                f"{list(self.Action)[-1].name} or int(action)"
            )
        a = int(action)
        if not 0 <= a < len(self.Action):
            raise InvalidActionError(
                f"action must be in 0..{len(self.Action) - 1} "
                f"({', '.join(f'{m.value}={m.name}' for m in self.Action)}), got {a}"
            )
        return a
