"""A read-only mapping derived per game from the study registry, computed on access.

Generic modules (hypotheses, controls, human data, inference, prompts, learners) expose
tables keyed by game (``SESOI``, ``FAMILIES``, ``PROMPT_VERSIONS``, ...) without naming a
game: each is a view over :data:`subrational_gym.studies.STUDIES`, imported only when the
table is first read (so those modules can be imported by the study modules, and a game
registered later appears in every table).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["PerGame"]


class PerGame(Mapping[str, Any]):
    """``{game: value(study)}`` over the registered studies, in registration order.

    Args:
        value: Study -> the entry of that game.
        keep: Study -> whether the game has an entry (default: every game).
    """

    def __init__(self, value: Callable[[Any], Any],
                 keep: Callable[[Any], bool] | None = None) -> None:
        self._value, self._keep = value, keep

    def _studies(self) -> dict[str, Any]:
        from subrational_gym.studies import STUDIES

        return {g: s for g, s in STUDIES.items() if self._keep is None or self._keep(s)}

    def __getitem__(self, game: str) -> Any:
        study = self._studies().get(game)
        if study is None:
            raise KeyError(game)
        return self._value(study)

    def __iter__(self) -> Iterator[str]:
        return iter(self._studies())

    def __len__(self) -> int:
        return len(self._studies())

    def __repr__(self) -> str:
        return repr(dict(self))
