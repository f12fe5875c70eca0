"""The games' one registration table, and every ``register()`` call of the package.

:data:`GAMES` holds one row per game (its name, env id, entry point and vector entry
point); :data:`ENV_IDS` and the Gymnasium registrations derive from it. A game outside
the package adds its row with :func:`register_game` (see ``docs/adding-a-game.md``).

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
import sys
from dataclasses import dataclass

__all__ = ["ENV_IDS", "GAMES", "GameRow", "register_envs", "register_game"]


@dataclass(frozen=True)
class GameRow:
    """One row of the registration table.

    Attributes:
        game: The game's name (``SubrationalEnv.game``), a key of :data:`ENV_IDS`.
        env_id: The versioned Gymnasium id, ``"Subrational/<Game>-v<N>"``.
        entry_point: ``"module:EnvClass"`` of the simulator.
        vector_entry_point: ``"module:callable"`` of the vector env (default: the
            generic one of :mod:`subrational_gym.vector`, named after the game).
    """

    game: str
    env_id: str
    entry_point: str
    vector_entry_point: str = ""

    def __post_init__(self) -> None:
        if not self.game.isidentifier():
            raise ValueError(f"game name must be a Python identifier such as 'coin_or_wait', "
                             f"got {self.game!r}")
        if "/" not in self.env_id or "-v" not in self.env_id:
            raise ValueError(f"env id must look like 'Namespace/Name-v0', got {self.env_id!r}")
        if ":" not in self.entry_point:
            raise ValueError(f"entry point must be 'module:Class', got {self.entry_point!r}")
        if not self.vector_entry_point:
            object.__setattr__(self, "vector_entry_point",
                               f"subrational_gym.vector:{self.game}_vector_env")


def _row(game: str, env_id: str, entry_point: str) -> GameRow:
    return GameRow(game, env_id, f"subrational_gym.envs.{entry_point}")


#: The table: one row per game, in the paper's order.
GAMES: dict[str, GameRow] = {row.game: row for row in (
    _row("ultimatum", "Subrational/Ultimatum-v0", "ultimatum:UltimatumEnv"),
    _row("marshmallow", "Subrational/Marshmallow-v0", "marshmallow:MarshmallowEnv"),
    _row("double_or_nothing", "Subrational/DoubleOrNothing-v0",
         "double_or_nothing:DoubleOrNothingEnv"),
    _row("procrastination", "Subrational/Procrastination-v0",
         "procrastination:ProcrastinationEnv"),
)}

#: The env id of each game (derived from :data:`GAMES`; kept in step by
#: :func:`register_game`).
ENV_IDS: dict[str, str] = {row.game: row.env_id for row in GAMES.values()}


def register_game(game: str, env_id: str, entry_point: str,
                  vector_entry_point: str = "") -> GameRow:
    """Add a game's row to the table and register its env id with Gymnasium.

    Idempotent for the same row.

    Args:
        game: The game's name (its env's ``game`` attribute).
        env_id: Its versioned id, e.g. ``"Subrational/CoinOrWait-v0"``.
        entry_point: ``"module:EnvClass"``.
        vector_entry_point: ``"module:callable"`` (default: the generic vector env).

    Raises:
        ValueError: the game or the id is already registered with another row.
    """
    row = GameRow(game, env_id, entry_point, vector_entry_point)
    for other in GAMES.values():
        if other != row and (other.game == game or other.env_id == env_id):
            raise ValueError(f"game {game!r} / {env_id!r} clashes with the registered row "
                             f"{other}; choose another name and id")
    GAMES[game] = row
    ENV_IDS[game] = env_id
    if "gymnasium.envs.registration" in sys.modules:
        register_envs()
    return row


def register_envs() -> None:
    """Register every game of :data:`GAMES` under its id (idempotent)."""
    from gymnasium.envs.registration import register, registry

    vectorised = "vector_entry_point" in inspect.signature(register).parameters
    for row in GAMES.values():
        if row.env_id not in registry:
            extra = {"vector_entry_point": row.vector_entry_point} if vectorised else {}
            register(id=row.env_id, entry_point=row.entry_point, max_episode_steps=None,
                     **extra)
