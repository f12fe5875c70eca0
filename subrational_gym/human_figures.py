"""Published human figures, as data: the record, the extractors' types, the tables.

Each game's figures, extractors and scored populations live in its study module
(:mod:`subrational_gym.studies`); the tables here are their union.

Each :class:`HumanFigure` is one number (or range) from a human study, the source that
reports it, the population it describes, the persona of the game's study it is compared
with, and the behavioural quantity of :func:`~subrational_gym.evaluation.behaviour_summary`
it maps onto (its ``key``: an entry of :data:`EXTRACTORS`, or of :data:`ACROSS_EXTRACTORS`
for a figure that compares personas). Figures whose exact number should still be checked
against the original carry ``verify=True`` and say "(verify)" in their source.

Which figures enter a game's score: those whose population is one of
:data:`SCORED_POPULATIONS` of the game; the others are context (other populations or
another framing), shown beside the score. Scoring lives in
:mod:`subrational_gym.human_data`, which re-exports every name of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from subrational_gym._per_game import PerGame
from subrational_gym.errors import ParameterError

#: Extracts the comparable number from a behaviour summary.
Extractor = Callable[[Mapping[str, Any]], float | None]
#: Extracts the comparable number from behaviour summaries keyed by persona name.
AcrossExtractor = Callable[[Mapping[str, Mapping[str, Any]]], float | None]


@dataclass(frozen=True)
class HumanFigure:
    """One published human figure.

    Attributes:
        game: The game's name (a key of :data:`~subrational_gym.studies.STUDIES`).
        quantity: What is measured, in words.
        low: Lower end of the human value (equal to ``high`` for a point).
        high: Upper end of the human value.
        source: The study that reports it.
        key: Machine name of the compared quantity (a key of :data:`EXTRACTORS`, or of
            :data:`ACROSS_EXTRACTORS` when ``across`` is set).
        persona: The persona whose behaviour is compared; None for a figure about a
            whole population (scored on the policy given for ``None``, else on the
            study's personas pooled in equal shares).
        note: How the figure maps onto the game.
        population: Who was studied.
        across: For a figure that compares personas (a gradient), the personas compared.
        domain: The range the quantity can take (for the worst possible miss).
        verify: Whether the exact number still has to be checked against the original.
    """

    game: str
    quantity: str
    low: float
    high: float
    source: str
    key: str
    persona: str | None = None
    note: str = ""
    population: str = ""
    across: tuple[str, ...] = ()
    domain: tuple[float, float] = (0.0, 1.0)
    verify: bool = False

    def __post_init__(self) -> None:
        if not self.domain[0] <= self.low <= self.high <= self.domain[1]:
            raise ParameterError(
                f"human figure {self.quantity!r} has range [{self.low}, {self.high}] "
                f"outside its domain {self.domain}; expected domain[0] <= low <= high <= "
                f"domain[1] (fix the figure's numbers or its domain)")
        if self.across and self.persona is not None:
            raise ParameterError(
                f"human figure {self.quantity!r} names persona {self.persona!r} and compares "
                f"personas {self.across}; expected one of the two (set persona=None)")

    @property
    def scored(self) -> bool:
        """Whether the figure enters its game's score (it describes a scored population)."""
        return self.population in SCORED_POPULATIONS[self.game]

    def distance(self, value: float | None) -> float | None:
        """Distance of a policy value to the human value or range (None if undefined).

        >>> HumanFigure("a game", "q", 0.4, 0.6, "s", "key").distance(0.9)
        0.30000000000000004
        """
        if value is None or not np.isfinite(value):
            return None
        return float(max(self.low - value, 0.0, value - self.high))

    @property
    def worst_distance(self) -> float:
        """The largest distance a value inside the domain can have from the human range."""
        return float(max(self.low - self.domain[0], self.domain[1] - self.high))

    def score(self, value: float | None, chance: float | None) -> float | None:
        """Legacy per-figure scale ``max(0, 1 - d / d0)`` against uniform random play.

        Kept for :func:`subrational_gym.human_data.score_figures`; a game's fidelity is
        :func:`subrational_gym.human_data.game_score`, a skill score against the best
        constant policy.

        >>> fig = HumanFigure("a game", "q", 0.0, 0.0, "s", "key")
        >>> fig.score(0.5, 0.5), fig.score(0.0, 0.5), fig.score(0.25, 0.5), fig.score(0.9, 0.5)
        (0.0, 1.0, 0.5, 0.0)
        """
        d, d0 = self.distance(value), self.distance(chance)
        if d is None or d0 is None or d0 <= 1e-12:
            return None
        return float(max(0.0, 1.0 - d / d0))


# ------------------------------------------------------------------ the tables
def _merged(attribute: str) -> dict[str, Any]:
    from subrational_gym.studies import STUDIES

    return {k: v for study in STUDIES.values() for k, v in getattr(study, attribute).items()}


class _Merged(Mapping[str, Any]):
    """The union over the registered studies of one of their tables (figure keys)."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def __getitem__(self, key: str) -> Any:
        return _merged(self._attribute)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_merged(self._attribute))

    def __len__(self) -> int:
        return len(_merged(self._attribute))


#: Extractor of each figure key, over every game (each study holds its own).
EXTRACTORS: Mapping[str, Extractor] = _Merged("extractors")
#: Extractors of figures that compare personas (``HumanFigure.across``).
ACROSS_EXTRACTORS: Mapping[str, AcrossExtractor] = _Merged("across_extractors")
#: The populations whose figures enter each game's score (the others are context).
SCORED_POPULATIONS: Mapping[str, tuple[str, ...]] = PerGame(
    lambda study: study.scored_populations)
#: What each game's score describes, in words.
SCORED_POPULATION: Mapping[str, str] = PerGame(lambda study: study.scored_population)


def __getattr__(name: str) -> Any:
    """``HUMAN_FIGURES``: every registered game's figures, in the studies' order."""
    if name == "HUMAN_FIGURES":
        from subrational_gym.studies import STUDIES

        return tuple(f for study in STUDIES.values() for f in study.figures)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def figures_for(game: str) -> list[HumanFigure]:
    """The human figures of ``game``.

    Raises:
        ParameterError: for an unknown game.
    """
    from subrational_gym.studies import STUDIES

    if game not in STUDIES:
        raise ParameterError(f"unknown game {game!r}; expected one of {list(STUDIES)}")
    return list(STUDIES[game].figures)
