"""Every ``register()`` call of the package, in one place, with versioned ids.

Gymnasium calls :func:`register_envs` through the ``gymnasium.envs`` entry-point
group while it is itself being imported (declared in ``pyproject.toml``), so
``gym.make("Subrational/Ultimatum-v0")`` works in a fresh interpreter; importing
``subrational_gym`` registers them too. At that moment ``gym.register`` and
``gym.registry`` do not exist yet, hence the imports from ``registration``.

On Gymnasium 1.x each id also has a ``vector_entry_point``, so
``gym.make_vec(env_id, num_envs=N)`` (and ``vectorization_mode="vector_entry_point"``)
returns a :class:`~subrational_gym.vector.SubrationalVectorEnv`, whose copies step
together in numpy; ``vectorization_mode="sync"`` still builds Gymnasium's
``SyncVectorEnv``. Gymnasium 0.29's ``register`` has no such argument, so there it
is left out.

``max_episode_steps`` is left unset on purpose: each game terminates by itself
after a fixed number of steps that depends on its arguments (``wait_minutes``,
``max_rounds``, ``deadline_days``), so a fixed limit here would truncate
legitimate episodes of a longer game.
"""

from __future__ import annotations

import inspect

ENV_IDS: dict[str, str] = {
    "ultimatum": "Subrational/Ultimatum-v0",
    "marshmallow": "Subrational/Marshmallow-v0",
    "double_or_nothing": "Subrational/DoubleOrNothing-v0",
    "procrastination": "Subrational/Procrastination-v0",
}

_ENTRY_POINTS: dict[str, str] = {
    "Subrational/Ultimatum-v0": "subrational_gym.envs.ultimatum:UltimatumEnv",
    "Subrational/Marshmallow-v0": "subrational_gym.envs.marshmallow:MarshmallowEnv",
    "Subrational/DoubleOrNothing-v0": "subrational_gym.envs.double_or_nothing:DoubleOrNothingEnv",
    "Subrational/Procrastination-v0": "subrational_gym.envs.procrastination:ProcrastinationEnv",
}

_VECTOR_ENTRY_POINTS: dict[str, str] = {
    "Subrational/Ultimatum-v0": "subrational_gym.vector:ultimatum_vector_env",
    "Subrational/Marshmallow-v0": "subrational_gym.vector:marshmallow_vector_env",
    "Subrational/DoubleOrNothing-v0": "subrational_gym.vector:double_or_nothing_vector_env",
    "Subrational/Procrastination-v0": "subrational_gym.vector:procrastination_vector_env",
}


def register_envs() -> None:
    """Register the four games under the ``Subrational`` namespace (idempotent)."""
    from gymnasium.envs.registration import register, registry

    vectorised = "vector_entry_point" in inspect.signature(register).parameters
    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in registry:
            extra = {"vector_entry_point": _VECTOR_ENTRY_POINTS[env_id]} if vectorised else {}
            register(id=env_id, entry_point=entry_point, max_episode_steps=None, **extra)
