"""subrational-gym: environments for subrational, human-like agents.

The four games of Coletta et al. 2024 ("LLM-driven Imitation of Subrational
Behavior: Illusion or Reality?", arXiv 2402.08755) as Gymnasium environments,
with their exact tabular models and closed-form behavioural reference policies.

>>> import gymnasium as gym
>>> import subrational_gym
>>> env = gym.make("Subrational/Ultimatum-v0")
>>> env.unwrapped.tabular_model().n_states
33
"""

from __future__ import annotations

from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import (
    InvalidActionError,
    ModelTooLargeError,
    ParameterError,
    ResetNeededError,
    SubrationalError,
    UnknownObservationError,
)
from subrational_gym.registration import ENV_IDS, register_envs
from subrational_gym.tabular import SparseTransitions, TabularModel, Transition

register_envs()

__version__ = "0.1.0"

__all__ = [
    "ENV_IDS",
    "InvalidActionError",
    "ModelTooLargeError",
    "ParameterError",
    "ResetNeededError",
    "SparseTransitions",
    "SubrationalEnv",
    "SubrationalError",
    "TabularModel",
    "Transition",
    "UnknownObservationError",
    "make_env",
    "register_envs",
]


def make_env(env: str | SubrationalEnv, **kwargs: object) -> SubrationalEnv:
    """Return the unwrapped game for an env id (or game name) and kwargs, or ``env`` itself.

    Args:
        env: A registered id such as ``"Subrational/Ultimatum-v0"``, a game name (a key of
            :data:`ENV_IDS`), or an env (wrapped or not).
        **kwargs: Constructor arguments, only when ``env`` is an id.

    Raises:
        ParameterError: for an unknown id, or kwargs given together with an env instance.
    """
    import gymnasium as gym

    if isinstance(env, str):
        env_id = ENV_IDS.get(env, env)
        if env_id not in ENV_IDS.values():
            raise ParameterError(
                f"unknown game {env!r}; expected one of {sorted(ENV_IDS.values())} "
                f"or a game name in {sorted(ENV_IDS)}"
            )
        return gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped
    unwrapped = getattr(env, "unwrapped", env)
    if not isinstance(unwrapped, SubrationalEnv):
        raise ParameterError(
            f"expected a Subrational env or its id, got {env!r}; use e.g. "
            f"gym.make('Subrational/Ultimatum-v0') or pass the id string"
        )
    if kwargs:
        raise ParameterError(
            f"env kwargs {sorted(kwargs)} were given together with an env instance; "
            f"pass them to gym.make instead, or pass the env id"
        )
    return unwrapped
