"""Every ``register()`` call of the package, in one place, with versioned ids.

Gymnasium calls :func:`register_envs` through the ``gymnasium.envs`` entry-point
group while it is itself being imported (declared in ``pyproject.toml``), so
``gym.make("Subrational/Ultimatum-v0")`` works in a fresh interpreter; importing
``subrational_gym`` registers them too. At that moment ``gym.register`` and
``gym.registry`` do not exist yet, hence the imports from ``registration``.

``max_episode_steps`` is left unset on purpose: each game terminates by itself
after a fixed number of steps that depends on its arguments (``wait_minutes``,
``max_rounds``, ``deadline_days``), so a fixed limit here would truncate
legitimate episodes of a longer game.
"""

from __future__ import annotations

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


def register_envs() -> None:
    """Register the four games under the ``Subrational`` namespace (idempotent)."""
    from gymnasium.envs.registration import register, registry

    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point, max_episode_steps=None)
