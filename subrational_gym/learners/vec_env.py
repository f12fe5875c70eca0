"""A stable-baselines3 ``VecEnv`` of N copies of a game, stepped together in numpy.

:class:`SubrationalVecEnv` is a drop-in for
``DummyVecEnv([lambda: RolloutInfoWrapper(features.wrap(gym.make(env_id))) ...])``:
SB3's PPO and DQN, imitation's ``rollout.rollout`` / ``generate_trajectories``, and
the generators of GAIL and AIRL take it unchanged. Its copies are one array of state
indices (:class:`~subrational_gym.vector.BatchedGame`), so a step costs a few numpy
operations instead of N Python env steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from subrational_gym.core import SubrationalEnv
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FeatureMap
from subrational_gym.vector import BatchedGame

#: Largest feature table (entries) precomputed for all states; above it features are
#: computed per step from the state indices.
_TABLE_LIMIT = 1 << 22


class SubrationalVecEnv(VecEnv):
    """N copies of a Subrational game as one stable-baselines3 ``VecEnv``.

    ## Autoreset (stable-baselines3's convention)
    When a copy's episode ends (after exactly the game's ``horizon`` steps; episodes
    never truncate), ``step_wait`` returns ``done`` True for it, starts its next
    episode at once and returns that episode's first observation; the observation
    that ended the episode is in ``infos[i]["terminal_observation"]``. This is what
    ``DummyVecEnv`` does with the single env.

    ## Information
    ``infos[i]`` is empty except at the end of an episode, where it holds
    ``"terminal_observation"`` and, with ``rollout_info=True``, ``"rollout"``: the
    episode's ``{"obs": (horizon + 1, obs_dim), "rews": (horizon,)}`` as imitation's
    ``RolloutInfoWrapper`` records them (``imitation.data.rollout.rollout`` reads them
    by default). The game's own info keys (e.g. ``"offer"``) are not repeated here:
    read them from the observation (``venv.game.observation_meaning(obs)``) or from
    ``venv.batch.states``.

    ## Seeding
    ``seed(s)`` (or SB3's ``seed=`` of an algorithm) seeds the copies' one generator
    with ``s`` at the next ``reset``; SB3 hands out ``s, s + 1, ...`` per copy, of
    which only the first is used. The copies' episodes are independent draws from
    the single env's distribution; with one copy, the episodes are exactly those of
    ``DummyVecEnv([lambda: gym.make(env_id)])`` seeded with ``s``.

    Args:
        env: Registered id, game name or game instance (see
            :class:`~subrational_gym.vector.BatchedGame`).
        num_envs: Number of copies.
        env_kwargs: Constructor arguments of the game (with an id or name only).
        features: The learner's feature map; observations are ``features`` of the
            game's observations, as with :meth:`FeatureMap.wrap` (``None``: raw).
        rollout_info: Add ``infos[i]["rollout"]`` at episode ends.
        seed: Seed for the first ``reset`` (as :meth:`seed`).

    >>> import numpy as np
    >>> venv = SubrationalVecEnv("Subrational/Marshmallow-v0", 2, env_kwargs={"wait_minutes": 2})
    >>> _ = venv.seed(0)
    >>> venv.reset().tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    >>> _ = venv.step(np.array([0, 1]))
    >>> obs, rewards, dones, infos = venv.step(np.array([0, 0]))
    >>> rewards.tolist(), dones.tolist(), infos[0]["terminal_observation"].tolist()
    ([2.0, 0.0], [True, True], [1.0, 0.0, 1.0, 1.0])
    """

    def __init__(self, env: str | SubrationalEnv | gym.Env, num_envs: int = 1, *,
                 env_kwargs: Mapping[str, Any] | None = None,
                 features: FeatureMap | None = None, rollout_info: bool = True,
                 seed: int | None = None) -> None:
        self.batch = BatchedGame(env, num_envs, **dict(env_kwargs or {}))
        game, model = self.batch.game, self.batch.model
        if features is not None and features.model.n_states != model.n_states:
            raise LearnerError(
                f"features were built for a model with {features.model.n_states} states, "
                f"but {game.env_id} with these env_kwargs has {model.n_states}; build the "
                f"FeatureMap from this game's tabular_model()"
            )
        self.features = features
        self.rollout_info = bool(rollout_info)
        self._table: np.ndarray | None = model.observations
        if features is not None:
            self._table = (features.of_states(np.arange(model.n_states))
                           if model.n_states * features.dim <= _TABLE_LIMIT else None)
        space = game.observation_space if features is None else features.observation_space
        super().__init__(self.batch.num_envs, space, game.action_space)
        n, horizon = self.batch.num_envs, model.horizon
        self._ep_step = np.zeros(n, dtype=np.int64)
        if self.rollout_info:
            self._hist_states = np.zeros((n, horizon + 1), dtype=np.int64)
            self._hist_rewards = np.zeros((n, horizon), dtype=np.float64)
        self._rows = np.arange(n)
        self._actions: np.ndarray | None = None
        if seed is not None:
            self.seed(seed)

    @property
    def game(self) -> SubrationalEnv:
        """The unwrapped game every copy plays (meaning, description, tabular model)."""
        return self.batch.game

    # ------------------------------------------------------------ VecEnv API
    def reset(self) -> VecEnvObs:
        """Start a new episode in every copy (with the pending seed and options, if any)."""
        seeds = [s for s in self._seeds if s is not None]
        if seeds:
            self.batch.seed(seeds[0])
        groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
        for i, opts in enumerate(self._options):
            groups.setdefault(repr(sorted(opts.items())), (dict(opts), []))[1].append(i)
        if len(groups) == 1:
            states = self.batch.reset(options=self._options[0])
        else:  # different options per copy (set_options with a list)
            for opts, copies in groups.values():
                mask = np.zeros(self.num_envs, dtype=bool)
                mask[copies] = True
                states = self.batch.reset(options=opts, mask=mask)
        self._reset_seeds()
        self._reset_options()
        self._ep_step[:] = 0
        if self.rollout_info:
            self._hist_states[:, 0] = states
        return self._observe(states)

    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step every copy, autoresetting those whose episode ended (see the class doc)."""
        if self._actions is None:
            raise LearnerError("step_wait() was called without step_async(actions)")
        actions, self._actions = self._actions, None
        batch = self.batch
        states, rewards, dones = batch._step(actions)  # states is batch.states itself
        if self.rollout_info:
            self._ep_step += 1
            self._hist_states[self._rows, self._ep_step] = states
            self._hist_rewards[self._rows, self._ep_step - 1] = rewards
        rewards32 = rewards.astype(np.float32)
        if not np.count_nonzero(dones):
            return self._observe(states), rewards32, dones, [{} for _ in range(self.num_envs)]
        ended = dones.nonzero()[0]
        # list(array) makes the row views in one C loop: this is the hot path of
        # one-step games, where every copy ends every step.
        terminal = list(self._observe(states[ended]))
        if self.rollout_info:
            episodes = [{"obs": o, "rews": r} for o, r in zip(
                list(self._observe(self._hist_states[ended])),
                list(self._hist_rewards[ended]), strict=True)]
            entries = [{"terminal_observation": t, "rollout": e}
                       for t, e in zip(terminal, episodes, strict=True)]
        else:
            entries = [{"terminal_observation": t} for t in terminal]
        if len(entries) == self.num_envs:
            infos = entries
        else:
            infos = [{} for _ in range(self.num_envs)]
            for i, entry in zip(ended.tolist(), entries, strict=True):
                infos[i] = entry
        batch._start(ended)
        if self.rollout_info:
            self._ep_step[ended] = 0
            self._hist_states[ended, 0] = batch.states[ended]
        return self._observe(batch.states), rewards32, dones, infos

    def close(self) -> None:
        """Nothing to release: the copies are arrays."""

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the game, once per copy (the copies share one game)."""
        value = getattr(self.game, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Refused: the copies share one game whose parameters fixed the transition tables.

        Raises:
            LearnerError: always.
        """
        raise LearnerError(
            f"cannot set {attr_name!r} on a SubrationalVecEnv: its copies share one game "
            f"whose transition tables are built once; build a new SubrationalVecEnv with "
            f"env_kwargs instead"
        )

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        """Call a method of the shared game once per copy (``describe``, ``tabular_model``...).

        Raises:
            LearnerError: for ``reset``, ``step`` or ``render``, which act on one episode
                and have no meaning for the shared game; use the VecEnv's own.
        """
        if method_name in ("reset", "step", "render"):
            raise LearnerError(
                f"env_method({method_name!r}) would act on the shared game, not on a copy; "
                f"call the SubrationalVecEnv's own {method_name}()"
            )
        method = getattr(self.game, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper],
                       indices: VecEnvIndices = None) -> list[bool]:
        """Always False: the copies are not Gymnasium envs, so no wrapper is applied."""
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        """No images: the games render as text (``venv.game.describe(obs)``)."""
        return [None for _ in range(self.num_envs)]

    def __repr__(self) -> str:
        return f"SubrationalVecEnv({self.game.env_id}, num_envs={self.num_envs})"

    # ---------------------------------------------------------------- helpers
    def _observe(self, states: np.ndarray) -> np.ndarray:
        if self._table is not None:
            return self._table[states]
        assert self.features is not None
        return self.features.of_states(states)
