"""Batched copies of a game: N episodes as one numpy array of states, stepped together.

Every game is a small tabular MDP, so N copies need no N Python objects: a
:class:`BatchedGame` holds one ``(N,)`` array of state indices into the game's
:class:`~subrational_gym.tabular.TabularModel` and steps them all with a few numpy
operations on :class:`TransitionTables`, which are flattened once (per game and
parameters) from the model, itself built from the same hooks as the single env's
``step``. There is one source of truth for the dynamics: the game's ``_outcomes``,
``_initial_outcomes`` and ``_observe``.

Three front ends share this core:

- :class:`BatchedGame`: the library-free core (numpy only): ``reset`` and ``step`` on
  state indices, no autoreset.
- :class:`SubrationalVectorEnv`: a Gymnasium ``VectorEnv``, also what
  ``gym.make_vec("Subrational/...", num_envs=N, vectorization_mode="vector_entry_point")``
  returns on Gymnasium 1.x.
- ``subrational_gym.learners.SubrationalVecEnv``: a stable-baselines3 ``VecEnv``
  (for SB3's PPO/DQN and imitation's rollouts, GAIL and AIRL).

Randomness and seeding: all N copies draw from one ``numpy.random.Generator``
(``np.random.default_rng(seed)``, the generator Gymnasium's ``reset(seed=...)``
makes). Like the single env, a copy draws a uniform number only when the
distribution it samples from has more than one outcome, and compares it with the
same cumulative probabilities in the same order. So one copy (``num_envs=1``)
seeded with ``s`` reproduces the single env reset with ``seed=s`` exactly, draw for
draw, and N copies sample N independent episodes from the same distribution as N
single envs (they are not the same episodes as N single envs seeded ``s, s + 1, ...``).

>>> batch = BatchedGame("Subrational/DoubleOrNothing-v0", 4, max_rounds=2)
>>> batch.reset(seed=0).tolist()
[0, 0, 0, 0]
>>> states, rewards, terminated = batch.step([1, 1, 0, 0])   # GAMBLE, GAMBLE, STOP, STOP
>>> rewards.tolist(), terminated.tolist()
([0.0, 0.0, 10.0, 10.0], [False, False, False, False])
>>> states, rewards, terminated = batch.step([1, 1, 1, 1])   # the last two sit it out
>>> rewards.tolist(), terminated.tolist()
([0.0, 40.0, 0.0, 0.0], [True, True, True, True])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from subrational_gym._validation import check_int
from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import InvalidActionError, ParameterError, ResetNeededError
from subrational_gym.tabular import TabularModel

_GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1
#: Gymnasium >= 1.1 names the autoreset modes; 1.0 knows only next-step autoreset.
_AutoresetMode: Any = getattr(gym.vector, "AutoresetMode", None)
AUTORESET_MODES = ("next_step", "same_step")


@dataclasses.dataclass(frozen=True, eq=False)
class TransitionTables:
    """A game's ``P[s][a]`` as padded arrays, indexed by ``s * n_actions + a``.

    Outcome ``k`` of pair ``i`` is ``(next_state[i, k], reward[i, k])``; with a uniform
    ``u`` it is drawn for the first ``k`` with ``u < cumulative[i, k]``, the single
    env's rule. The last outcome's entry is +inf instead of the full sum (about 1),
    which is the single env's fallback on the last outcome against rounding. Rows are
    padded to the largest number of outcomes of any pair with ``next_state``
    ``n_states`` (no state: looking it up fails, which is how stepping a copy whose
    episode ended is caught) and ``cumulative`` +inf.

    Attributes:
        n_states: Number of states of the model.
        n_actions: Number of actions.
        next_state: ``(n_states * n_actions, max_outcomes)`` int64 next-state indices
            (``n_states`` where there is no outcome).
        reward: ``(n_states * n_actions, max_outcomes)`` float64 rewards.
        cumulative: ``(n_states * n_actions, max_outcomes)`` float64 running sums of
            the outcome probabilities, in the order the game's ``_outcomes`` lists them
            (+inf for the last outcome).
        n_outcomes: ``(n_states * n_actions,)`` number of outcomes (0 in terminal states).
        terminal: ``(n_states,)`` True for the states that end an episode.
    """

    n_states: int
    n_actions: int
    next_state: np.ndarray
    reward: np.ndarray
    cumulative: np.ndarray
    n_outcomes: np.ndarray
    terminal: np.ndarray
    #: ``next_state[:, 0]`` and ``reward[:, 0]`` as contiguous arrays (the fast path of
    #: pairs with one outcome).
    first_next_state: np.ndarray = dataclasses.field(init=False, repr=False)
    first_reward: np.ndarray = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name, column in (("first_next_state", self.next_state[:, 0]),
                             ("first_reward", self.reward[:, 0])):
            column = np.ascontiguousarray(column)
            column.setflags(write=False)
            object.__setattr__(self, name, column)

    @property
    def max_outcomes(self) -> int:
        """Largest number of outcomes of any state-action pair."""
        return int(self.next_state.shape[1])

    @classmethod
    def from_model(cls, model: TabularModel) -> TransitionTables:
        """Flatten ``model.transitions`` (time and memory linear in the transitions)."""
        n, n_actions = model.n_states, model.n_actions
        width = max(1, max((len(outs) for per_action in model.transitions
                            for outs in per_action), default=1))
        next_state = np.full((n * n_actions, width), n, dtype=np.int64)
        reward = np.zeros((n * n_actions, width), dtype=np.float64)
        cumulative = np.full((n * n_actions, width), np.inf, dtype=np.float64)
        n_outcomes = np.zeros(n * n_actions, dtype=np.int64)
        for s, per_action in enumerate(model.transitions):
            for a, outcomes in enumerate(per_action):
                i = s * n_actions + a
                n_outcomes[i] = len(outcomes)
                acc = 0.0
                for k, tr in enumerate(outcomes):
                    acc += tr.probability  # the same running sum as SubrationalEnv.step
                    next_state[i, k] = tr.next_state
                    reward[i, k] = tr.reward
                    cumulative[i, k] = acc
                if outcomes:
                    cumulative[i, len(outcomes) - 1] = np.inf
        terminal = np.asarray(model.terminal_mask, dtype=bool).copy()
        for arr in (next_state, reward, cumulative, n_outcomes, terminal):
            arr.setflags(write=False)
        return cls(n, n_actions, next_state, reward, cumulative, n_outcomes, terminal)


class BatchedGame:
    """N copies of one game as an array of state indices; library-free, no autoreset.

    Args:
        env: A registered id (``"Subrational/Marshmallow-v0"``), a game name (a key
            of :data:`~subrational_gym.registration.ENV_IDS`) or a game instance
            (wrapped or not), whose parameters and tabular model are then shared.
        num_envs: Number of copies, >= 1.
        seed: Seed of the copies' common generator; ``None`` seeds it from the OS at
            first use (or pass ``seed`` to :meth:`reset`).
        **env_kwargs: Constructor arguments of the game, only with an id or name.

    Attributes:
        game: The unwrapped game (its hooks give start states and observations).
        model: The game's tabular model.
        tables: The model's transitions as :class:`TransitionTables`.
        num_envs: Number of copies.
        states: ``(num_envs,)`` current state index of each copy (-1 before the first
            reset); read it, do not write it.

    Raises:
        ParameterError: for an unknown game, a bad parameter or ``num_envs < 1``.
    """

    def __init__(self, env: str | SubrationalEnv | gym.Env, num_envs: int, *,
                 seed: int | None = None, **env_kwargs: Any) -> None:
        from subrational_gym import make_env

        self.num_envs = check_int("num_envs", num_envs, low=1)
        self.game: SubrationalEnv = make_env(env, **env_kwargs)
        self.model = self.game.tabular_model()
        self.tables = TransitionTables.from_model(self.model)
        self.states = np.full(self.num_envs, -1, dtype=np.int64)
        self._all_started = False
        self._rng: np.random.Generator | None = None
        self._default_start: tuple[np.ndarray, np.ndarray] | None = None
        if seed is not None:
            self.seed(seed)

    # ----------------------------------------------------------------- seeding
    @property
    def np_random(self) -> np.random.Generator:
        """The generator all copies draw from (seeded from the OS if never seeded)."""
        if self._rng is None:
            self._rng = np.random.default_rng()
        return self._rng

    def seed(self, seed: int | None) -> None:
        """Re-seed the common generator: ``np.random.default_rng(seed)``.

        Raises:
            ParameterError: if ``seed`` is not a non-negative integer or None.
        """
        if seed is not None:
            seed = check_int("seed", seed, low=0)
        self._rng = np.random.default_rng(seed)

    # --------------------------------------------------------------- dynamics
    def start_distribution(self, options: Mapping[str, Any] | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
        """Start states and their running probability sums, as the game's ``reset`` draws.

        Args:
            options: The ``reset`` options of the game (e.g. ``{"offer": 3}`` for
                ``Subrational/Ultimatum-v0``); validated by the game.

        Returns:
            ``(states, cumulative)``: state indices and running sums, in the order of
            the game's ``_initial_outcomes`` (+inf for the last state, as in
            :class:`TransitionTables`).
        """
        if not options and self._default_start is not None:
            return self._default_start
        outcomes = tuple(self.game._initial_outcomes(dict(options or {})))
        states = np.array([self.model.state_index(self.game._observe(s)) for _, s in outcomes],
                          dtype=np.int64)
        cumulative = np.empty(len(outcomes))
        acc = 0.0
        for k, (p, _) in enumerate(outcomes):
            acc += p  # the same running sum as SubrationalEnv._draw
            cumulative[k] = acc
        cumulative[-1] = np.inf
        if not options:
            self._default_start = (states, cumulative)
        return states, cumulative

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None,
              mask: np.ndarray | None = None) -> np.ndarray:
        """Start new episodes in every copy, or only in the copies where ``mask`` is True.

        Args:
            seed: Re-seeds the common generator first (see :meth:`seed`).
            options: The game's ``reset`` options, for every copy reset.
            mask: ``(num_envs,)`` booleans; ``None`` resets every copy.

        Returns:
            A copy of :attr:`states`.
        """
        if seed is not None:
            self.seed(seed)
        if mask is None:
            self._start(None, options)
        else:
            self._start(np.flatnonzero(np.asarray(mask, dtype=bool).reshape(self.num_envs)),
                        options)
        return self.states.copy()

    def _start(self, copies: np.ndarray | None,
               options: Mapping[str, Any] | None = None) -> None:
        """Draw start states for ``copies`` (indices; ``None``: every copy)."""
        starts, cumulative = self.start_distribution(options)
        targets: Any = slice(None) if copies is None else copies
        count = self.num_envs if copies is None else len(copies)
        if len(starts) == 1:
            self.states[targets] = starts[0]
        elif count:
            u = self.np_random.random(count)
            self.states[targets] = starts[np.searchsorted(cumulative, u, side="right")]
        if not self._all_started:
            self._all_started = copies is None or bool((self.states >= 0).all())

    def step(self, actions: Any, *, mask: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Take one step in every copy (or in the copies where ``mask`` is True).

        Args:
            actions: ``(num_envs,)`` integer actions (entries where ``mask`` is False
                are ignored but must still be valid actions).
            mask: ``(num_envs,)`` booleans; copies where it is False keep their state
                and get reward 0 and ``terminated`` False.

        Returns:
            ``(states, rewards, terminated)``: a copy of the new :attr:`states`,
            float64 rewards and booleans, each of shape ``(num_envs,)``.

        Raises:
            InvalidActionError: for actions of the wrong type, shape or range.
            ResetNeededError: if a copy was never reset, or its episode has ended.
        """
        if mask is None:
            states, rewards, terminated = self._step(actions)
            return states.copy(), rewards, terminated
        a = self._check_actions(actions)
        idx = np.flatnonzero(np.asarray(mask, dtype=bool).reshape(self.num_envs))
        rewards = np.zeros(self.num_envs)
        terminated = np.zeros(self.num_envs, dtype=bool)
        if len(idx):
            nxt, rewards[idx], terminated[idx] = self._advance(self.states[idx], a[idx])
            self.states[idx] = nxt
        return self.states.copy(), rewards, terminated

    def observations(self, states: np.ndarray | None = None) -> np.ndarray:
        """Float32 observations of ``states`` (default: the current ones), any shape."""
        return self.model.observations[self.states if states is None else states]

    # ---------------------------------------------------------------- helpers
    def _step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`step` of every copy, returning :attr:`states` itself (the hot path)."""
        nxt, rewards, terminated = self._advance(self.states, self._check_actions(actions))
        self.states = nxt
        return nxt, rewards, terminated

    def _advance(self, states: np.ndarray, actions: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Written for few numpy calls per step: at small N their fixed cost is the
        # step's cost. Reductions (any, all, max) are the dearest calls, so the ended
        # episodes are caught by the failing lookup of the no-state index instead.
        if not self._all_started:
            raise ResetNeededError(
                "step() was called before reset() for some copies; call reset() first"
            )
        tables = self.tables
        flat = states * tables.n_actions + actions
        if tables.max_outcomes == 1:
            nxt, rewards = tables.first_next_state[flat], tables.first_reward[flat]
        else:
            random = tables.n_outcomes[flat] > 1
            count = np.count_nonzero(random)
            if count:
                k = np.zeros(len(flat), dtype=np.int64)
                chosen = random.nonzero()[0]
                u = self.np_random.random(count)
                k[chosen] = (u[:, None] >= tables.cumulative[flat[chosen]]).sum(axis=1)
                nxt, rewards = tables.next_state[flat, k], tables.reward[flat, k]
            else:
                nxt, rewards = tables.first_next_state[flat], tables.first_reward[flat]
        try:
            terminated = tables.terminal[nxt]
        except IndexError:
            ended = np.flatnonzero(tables.n_outcomes[flat] == 0).tolist()
            raise ResetNeededError(
                f"step() was called after the episode ended in copies {ended[:10]} (every "
                f"episode lasts {self.model.horizon} steps); reset them first, e.g. "
                f"reset(mask=terminated), or use an autoresetting vector env"
            ) from None
        return nxt, rewards, terminated

    def _check_actions(self, actions: Any) -> np.ndarray:
        a = np.asarray(actions)
        if a.dtype.kind not in "iu" or a.size != self.num_envs:
            names = ", ".join(f"{m.value}={m.name}" for m in self.game.Action)
            raise InvalidActionError(
                f"actions must be {self.num_envs} integers in 0..{self.tables.n_actions - 1} "
                f"({names}), one per copy, got {actions!r} (dtype {a.dtype}, shape {a.shape}); "
                f"pass e.g. np.zeros({self.num_envs}, dtype=np.int64)"
            )
        if a.shape != (self.num_envs,) or a.dtype != np.int64:
            a = a.reshape(self.num_envs).astype(np.int64)
        # A few values are checked faster in Python than by a numpy reduction.
        if self.num_envs <= 64:
            values = a.tolist()
            bad = min(values) < 0 or max(values) >= self.tables.n_actions
        else:
            bad = a.view(np.uint64).max() >= self.tables.n_actions  # negatives wrap to huge
        if bad:
            raise InvalidActionError(
                f"actions must be in 0..{self.tables.n_actions - 1}, got "
                f"{sorted(set(a[(a < 0) | (a >= self.tables.n_actions)].tolist()))}"
            )
        return a


class SubrationalVectorEnv(gym.vector.VectorEnv):
    """N copies of a Subrational game as one Gymnasium vector env, stepped in numpy.

    ## Description
    The same game as ``gym.make(env_id, **env_kwargs)``, ``num_envs`` times, with the
    copies held as one array of state indices (see :class:`BatchedGame`): one
    ``step`` costs a few numpy operations whatever ``num_envs`` is.

    ## Spaces
    ``single_observation_space`` and ``single_action_space`` are the game's;
    ``observation_space`` is their batch (``Box`` of shape ``(num_envs, obs_dim)``) and
    ``action_space`` a ``MultiDiscrete``. Actions are an integer array of shape
    ``(num_envs,)``.

    ## Autoreset
    - ``"next_step"`` (Gymnasium 1.x's default): the step that ends a copy's episode
      returns its terminal observation with ``terminated`` True; on the next
      ``step`` that copy ignores its action, starts a new episode and returns the
      first observation with reward 0 and ``terminated`` False.
    - ``"same_step"``: the step that ends an episode also starts the next one and
      returns its first observation; the terminal observation and info are in
      ``info["final_obs"]`` and ``info["final_info"]`` (Gymnasium 1.x; under
      Gymnasium 0.29, whose only mode this is, ``info["final_observation"]``), each
      with its ``_``-prefixed mask.

    Episodes never truncate: every one lasts exactly the game's ``horizon`` steps.

    ## Information
    The game's info keys (e.g. ``info["offer"]``), one array entry per copy, each
    with its ``"_key"`` mask, as Gymnasium's ``SyncVectorEnv`` returns them.

    ## Seeding
    ``reset(seed=s)`` seeds one generator for all copies; the copies' episodes are
    independent draws from the single env's distribution, and ``num_envs=1``
    reproduces ``gym.make(env_id).reset(seed=s)`` exactly.

    ## Arguments
    >>> import gymnasium as gym
    >>> envs = SubrationalVectorEnv("Subrational/Ultimatum-v0", num_envs=3)
    >>> obs, info = envs.reset(seed=0)
    >>> obs.shape, info["offer"].tolist()
    ((3, 3), [7, 2, 0])
    >>> obs, rewards, terminated, truncated, info = envs.step(np.array([1, 1, 0]))
    >>> rewards.tolist(), terminated.tolist()
    ([7.0, 2.0, 0.0], [True, True, True])

    On Gymnasium 1.x, ``gym.make_vec(env_id, num_envs=3,
    vectorization_mode="vector_entry_point", **env_kwargs)`` builds the same.

    - ``env_id`` (str): the registered id (or game name).
    - ``num_envs`` (int, default 1): number of copies.
    - ``autoreset_mode`` (``"next_step"`` or ``"same_step"``, or Gymnasium's
      ``AutoresetMode``; default ``"next_step"`` on Gymnasium 1.x, ``"same_step"``,
      the only one, on 0.29).
    - ``render_mode`` (``"ansi"`` or None): ``render()`` returns one line per copy.
    - ``**env_kwargs``: the game's constructor arguments.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"]}

    def __init__(self, env_id: str, num_envs: int = 1, *, autoreset_mode: Any = None,
                 render_mode: str | None = None, **env_kwargs: Any) -> None:
        self.batch = BatchedGame(env_id, num_envs, render_mode=render_mode, **env_kwargs)
        game = self.batch.game
        mode = _autoreset_mode(autoreset_mode)
        n = self.batch.num_envs
        if _GYMNASIUM_1:
            self.num_envs = n
            self.single_observation_space = game.observation_space
            self.single_action_space = game.action_space
            self.observation_space = gym.vector.utils.batch_space(game.observation_space, n)
            self.action_space = gym.vector.utils.batch_space(game.action_space, n)
        else:
            super().__init__(n, game.observation_space, game.action_space)
        self.render_mode = render_mode
        self.autoreset_mode = mode
        self.metadata = {"render_modes": ["ansi"]}
        if _AutoresetMode is not None:
            self.metadata["autoreset_mode"] = (
                _AutoresetMode.NEXT_STEP if mode == "next_step" else _AutoresetMode.SAME_STEP)
        self._final_obs_key = "final_obs" if _GYMNASIUM_1 else "final_observation"
        self._pending = np.zeros(n, dtype=bool)  # next-step mode: copies to reset next step
        self._any_pending = False
        self._info_tables: dict[str, np.ndarray] | None = None
        self._per_state_infos: list[dict[str, Any]] | None = None

    @property
    def game(self) -> SubrationalEnv:
        """The unwrapped game all copies play (its meaning and description API)."""
        return self.batch.game

    @property
    def np_random(self) -> np.random.Generator:
        """The one generator all copies draw from (``reset(seed=...)`` re-seeds it)."""
        return self.batch.np_random

    @np_random.setter
    def np_random(self, value: np.random.Generator) -> None:
        self.batch._rng = value

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode in every copy; ``options`` are the game's, for all copies.

        Raises:
            ParameterError: for a seed that is not one non-negative integer.
        """
        if seed is not None and not isinstance(seed, int | np.integer):
            raise ParameterError(
                f"seed must be one non-negative integer for all copies, got {seed!r}; the "
                f"copies share one generator, so pass e.g. seed=0"
            )
        states = self.batch.reset(seed=seed, options=options)
        self._pending[:] = False
        self._any_pending = False
        return self.batch.observations(states), self._infos(states)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        """Step every copy; see the class docstring for the autoreset rules."""
        batch = self.batch
        if self._any_pending:  # next-step mode: the copies that ended last step restart
            pending = self._pending
            states, rewards, terminated = batch.step(actions, mask=~pending)
            states = batch.reset(mask=pending)
        else:
            states, rewards, terminated = batch._step(actions)  # states is batch.states
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.autoreset_mode == "next_step":
            self._pending = terminated.copy()
            self._any_pending = bool(np.count_nonzero(terminated))
            return batch.observations(states), rewards, terminated, truncated, \
                self._infos(states)
        infos: dict[str, Any] = {}
        if np.count_nonzero(terminated):
            ended = np.flatnonzero(terminated)
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_obs[ended] = list(batch.observations(states[ended]))
            infos[self._final_obs_key] = final_obs
            infos[f"_{self._final_obs_key}"] = terminated.copy()
            if _GYMNASIUM_1:
                # Gymnasium 1.x nests the final info as a dict of arrays whose masks
                # mark the copies that ended.
                final_info = self._infos(states)
                for key in [k for k in final_info if not k.startswith("_")]:
                    final_info[f"_{key}"] = terminated.copy()
                infos["final_info"] = final_info
            else:
                final_info_list = np.full(self.num_envs, None, dtype=object)
                per_state = self._state_infos
                final_info_list[ended] = [dict(per_state[s]) for s in states[ended].tolist()]
                infos["final_info"] = final_info_list
            infos["_final_info"] = terminated.copy()
            batch._start(ended)
            states = batch.states
        infos.update(self._infos(states))
        return batch.observations(states), rewards, terminated, truncated, infos

    def render(self) -> tuple[str, ...] | None:
        """One line per copy, as the single env's ``render`` (``render_mode="ansi"``)."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                f'Pass render_mode="ansi", e.g. SubrationalVectorEnv("{self.game.env_id}", '
                'num_envs=2, render_mode="ansi")'
            )
            return None
        model = self.batch.model
        lines = []
        for s in self.batch.states.tolist():
            if s < 0:
                lines.append("(no episode yet: call reset())\n")
                continue
            labels = "-" if model.terminal_mask[s] else "/".join(model.action_labels[s])
            lines.append(f"step {model.times[s]}/{model.horizon}: {model.descriptions[s]} "
                         f"[{labels}]\n")
        return tuple(lines)

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the copies are arrays."""

    def __repr__(self) -> str:
        return f"SubrationalVectorEnv({self.game.env_id}, num_envs={self.num_envs})"

    @property
    def _state_infos(self) -> list[dict[str, Any]]:
        """The single env's info of every state of the model (built once)."""
        if self._per_state_infos is None:
            self._per_state_infos = [self.game._info(self.game._decode(o))
                                     for o in self.batch.model.observations]
        return self._per_state_infos

    def _infos(self, states: np.ndarray) -> dict[str, Any]:
        if self._info_tables is None:
            per_state = self._state_infos
            tables = {}
            for key in (per_state[0] if per_state else {}):
                column = np.asarray([info[key] for info in per_state])
                tables[key] = column.astype(object) if column.dtype.kind in "US" else column
            self._info_tables = tables
        infos: dict[str, Any] = {}
        for key, column in self._info_tables.items():
            infos[key] = column[states]
            infos[f"_{key}"] = np.ones(self.num_envs, dtype=bool)
        return infos


def _autoreset_mode(mode: Any) -> str:
    if mode is None:
        return "next_step" if _GYMNASIUM_1 else "same_step"
    value = getattr(mode, "value", mode)
    name = {"NextStep": "next_step", "SameStep": "same_step"}.get(value, value)
    if name not in AUTORESET_MODES or (name == "next_step" and not _GYMNASIUM_1):
        allowed = AUTORESET_MODES if _GYMNASIUM_1 else ("same_step",)
        raise ParameterError(
            f"autoreset_mode must be one of {allowed} on Gymnasium {gym.__version__}, got "
            f"{mode!r}; episodes never truncate, so 'disabled' is not offered (use "
            f"BatchedGame to reset copies yourself)"
        )
    return name


def _vector_entry_point(env_id: str) -> Any:
    def make(num_envs: int = 1, *, max_episode_steps: int | None = None,
             **kwargs: Any) -> SubrationalVectorEnv:
        # make_vec passes the spec's max_episode_steps (None: the games end by themselves).
        if max_episode_steps is not None:
            raise ParameterError(
                f"{env_id} episodes last exactly the game's horizon and never truncate, got "
                f"max_episode_steps={max_episode_steps!r}; leave it unset"
            )
        return SubrationalVectorEnv(env_id, num_envs, **kwargs)

    make.__doc__ = f"``gym.make_vec`` entry point of {env_id}: a SubrationalVectorEnv."
    return make


def __getattr__(name: str) -> Any:
    """``<game>_vector_env``: the string vector entry point of each registered game.

    Derived from :data:`~subrational_gym.registration.GAMES` (the registration table), so
    a game added with :func:`~subrational_gym.registration.register_game` has one too.
    """
    from subrational_gym.registration import GAMES

    game = name.removesuffix("_vector_env")
    if name.endswith("_vector_env") and game in GAMES:
        return _vector_entry_point(GAMES[game].env_id)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
