"""Published human figures for the four games, and a fidelity score against them.

Each :class:`HumanFigure` is one number (or range) from a human study, the source
that reports it, the population it describes, and the behavioural quantity of
:func:`~subrational_gym.evaluation.behaviour_summary` it is compared with.
:func:`score_figures` scores how close a policy's behaviour is to those figures.

The scale. For each figure, the distance ``d`` from the policy's value to the human
value (to the nearest end of the range, 0 inside it) is compared with the distance
``d0`` of a uniform random policy (every action equally likely in every state):
the score is ``max(0, 1 - d / d0)``, so 1 means the policy matches the human figure,
0 means it is no closer than chance (further than chance also scores 0, so one figure
cannot swamp the others). A figure that chance already matches (``d0 = 0``) cannot
tell a policy from chance and is left out. A game's score is the mean over its scored
figures, which all describe one population (``SCORED_POPULATION``; the other figures
are reported beside it as context); the overall score is the mean over games. The
scores compare behaviour with a handful of published aggregates, not with individual
data: read them as a coarse, documented yardstick.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from subrational_gym.errors import ParameterError

#: Extracts the comparable number from a behaviour summary.
Extractor = Callable[[Mapping[str, Any]], float | None]


@dataclass(frozen=True)
class HumanFigure:
    """One published human figure.

    Attributes:
        game: ``"ultimatum"``, ``"marshmallow"``, ``"double_or_nothing"`` or
            ``"procrastination"``.
        quantity: What is measured, in words.
        low: Lower end of the human value (equal to ``high`` for a point).
        high: Upper end of the human value.
        source: The study that reports it.
        key: Machine name of the compared quantity.
        persona: The persona whose behaviour is compared (None: the game's default
            persona, or any policy that stands for everyone).
        note: How the figure maps onto the game.
        population: Who was studied.
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

    @property
    def scored(self) -> bool:
        """Whether the figure enters its game's score (it describes the scored population)."""
        return self.population == SCORED_POPULATION[self.game]

    def distance(self, value: float | None) -> float | None:
        """Distance of a policy value to the human value or range (None if undefined)."""
        if value is None or not np.isfinite(value):
            return None
        return float(max(self.low - value, 0.0, value - self.high))

    def score(self, value: float | None, chance: float | None) -> float | None:
        """``max(0, 1 - d / d0)``: 1 matches the figure, 0 is no closer than chance.

        Args:
            value: The policy's value.
            chance: A uniform random policy's value.

        Returns:
            The score, or None if either value is undefined or chance already matches.

        >>> fig = HumanFigure("ultimatum", "q", 0.0, 0.0, "s", "acceptance_at_0")
        >>> fig.score(0.5, 0.5), fig.score(0.0, 0.5), fig.score(0.25, 0.5), fig.score(0.9, 0.5)
        (0.0, 1.0, 0.5, 0.0)
        """
        d, d0 = self.distance(value), self.distance(chance)
        if d is None or d0 is None or d0 <= 1e-12:
            return None
        return float(max(0.0, 1.0 - d / d0))


def _acceptance_at(share: float) -> Extractor:
    def extract(summary: Mapping[str, Any]) -> float | None:
        shares = np.asarray(summary["offer_share"])
        i = int(np.argmin(np.abs(shares - share)))
        return float(summary["acceptance"][i]) if abs(shares[i] - share) < 0.051 else None

    return extract


def _mean_acceptance_below(share: float) -> Extractor:
    def extract(summary: Mapping[str, Any]) -> float | None:
        shares = np.asarray(summary["offer_share"])
        low = (shares > 0) & (shares < share)
        return float(np.mean(np.asarray(summary["acceptance"])[low])) if low.any() else None

    return extract


def _last_days_start(summary: Mapping[str, Any]) -> float | None:
    # Share of students who start writing in the second half of the available time.
    start = np.asarray(summary["start_distribution"])
    half = len(start) // 2
    return float(start[half:].sum() + summary["never_start"])


EXTRACTORS: dict[str, Extractor] = {
    "acceptance_at_0": _acceptance_at(0.0),
    "acceptance_at_10pct": _acceptance_at(0.1),
    "acceptance_at_20pct": _acceptance_at(0.2),
    "acceptance_at_50pct": _acceptance_at(0.5),
    "acceptance_below_30pct": _mean_acceptance_below(0.3),
    "waited_full": lambda s: s["waited_full"],
    "gave_in_midway_share": lambda s: (
        s["gave_in_midway"] / (1.0 - s["waited_full"]) if s["waited_full"] < 1.0 else None
    ),
    "wait_fraction": lambda s: s["expected_minutes_waited"] / len(s["minute"]),
    "acceptance_at_40pct": _acceptance_at(0.4),
    "gamble_first_round": lambda s: s["gamble_probability"][0],
    "start_late": _last_days_start,
}

#: The scale of the scores, in one sentence (for reports).
SCALE = ("Each figure scores max(0, 1 - d/d0), where d is the policy's distance to the human "
         "value and d0 a uniform random policy's: 1 matches the human figure, 0 is no closer "
         "than chance; a game's score averages the figures of one population, the overall "
         "score averages the games.")

US_STUDENTS = "US students, strategy method"
FOUR_YEAR_OLDS = "children of about 4 (Lamm et al.; Kidd et al., mean 4.5; Mischel's preschoolers)"
#: The one population each game's score describes; other figures are context.
SCORED_POPULATION = {
    "ultimatum": US_STUDENTS,
    "marshmallow": FOUR_YEAR_OLDS,
    "double_or_nothing": "adults facing a fair gamble for gains",
    "procrastination": "college students",
}

HUMAN_FIGURES: tuple[HumanFigure, ...] = (
    HumanFigure(
        "ultimatum", "acceptance of a 0% offer", 0.0, 0.0,
        "Henrich et al. strategy-method data, CORE Econ unit 4.12", "acceptance_at_0",
        note="nobody accepts an offer of nothing", population=US_STUDENTS),
    HumanFigure(
        "ultimatum", "acceptance of a 10% offer (US students)", 0.58, 0.58,
        "Henrich et al. strategy-method data, CORE Econ unit 4.12", "acceptance_at_10pct",
        note="Orma farmers in Kenya: 2%", population=US_STUDENTS),
    HumanFigure(
        "ultimatum", "acceptance of a 20% offer (US students)", 0.70, 0.70,
        "Henrich et al. strategy-method data, CORE Econ unit 4.12", "acceptance_at_20pct",
        note="Orma farmers in Kenya: about 10%", population=US_STUDENTS),
    HumanFigure(
        "ultimatum", "acceptance of offers below 30% of the pie", 0.4, 0.6,
        "Nowak, Page and Sigmund 2000 (Science), summary of many studies; Camerer 2003",
        "acceptance_below_30pct", note="about half of responders reject offers below 30%",
        population="responders of many studies pooled (context: mixes populations)"),
    HumanFigure(
        "ultimatum", "acceptance of the offers actually made (mean offer 40% of the pie)",
        0.84, 0.84,
        "Oosterbeek, Sloof and van de Kuilen 2004 (Experimental Economics 7:171), "
        "meta-analysis of 37 papers: 16% of offers rejected", "acceptance_at_40pct",
        note="approximation: a rate over offers averaging 40% compared with acceptance of "
        "a 40% offer", population="37 studies pooled (context: mixes populations)"),
    HumanFigure(
        "ultimatum", "acceptance of an equal split", 1.0, 1.0,
        "Henrich et al. strategy-method data, CORE Econ unit 4.12", "acceptance_at_50pct",
        population=US_STUDENTS),
    HumanFigure(
        "marshmallow", "4-year-olds waiting the full 10 minutes", 0.28, 0.70,
        "Lamm et al. 2018 (Child Development): 28% German, 70% Nso children",
        "waited_full", persona="child-4", population=FOUR_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "3-year-olds waiting the full time", 0.0, 0.35,
        "Developmental Psychobiology 2014, literature summary: most 3-year-olds take the "
        "immediate reward", "waited_full", persona="child-3",
        population="3-year-olds (context: another age group)"),
    HumanFigure(
        "marshmallow", "share of the maximum wait, reliable experimenter (mean age 4.5)",
        0.80, 0.80,
        "Kidd, Palmeri and Aslin 2013 (Cognition 126:109): mean wait 12 min 2 s of 15 after "
        "a reliable experimenter (3 min 2 s after an unreliable one)", "wait_fraction",
        persona="child-4", population=FOUR_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "children who give in, doing so after waiting a while", 0.5, 1.0,
        "Mischel and Ebbesen 1970: those who gave in did so after 5.72 of 15 minutes on "
        "average", "gave_in_midway_share",
        note="share of giving-in that happens after the first minute",
        population=FOUR_YEAR_OLDS),
    HumanFigure(
        "double_or_nothing", "gambling the winnings at fair odds (gains)", 0.0, 0.45,
        "Kahneman and Tversky 1979: risk aversion for gains; Thaler and Johnson 1990: 43% "
        "take a fair gamble without prior gains", "gamble_first_round",
        note="the house-money effect raises this to 70% after a prior $30 gain",
        population="adults facing a fair gamble for gains"),
    HumanFigure(
        "procrastination", "students who procrastinate", 0.80, 0.95,
        "Steel 2007 (Psychological Bulletin 133:65): 80 to 95% of college students",
        "start_late", note="procrastinating = starting in the second half of the time",
        population="college students"),
)


def figures_for(game: str) -> list[HumanFigure]:
    """The human figures of ``game``.

    Raises:
        ParameterError: for an unknown game.
    """
    games = {f.game for f in HUMAN_FIGURES}
    if game not in games:
        raise ParameterError(f"unknown game {game!r}; expected one of {sorted(games)}")
    return [f for f in HUMAN_FIGURES if f.game == game]


@dataclass(frozen=True)
class FigureScore:
    """A policy's value and score against one human figure.

    Attributes:
        figure: The figure.
        value: The policy's value of the figure's quantity.
        chance: A uniform random policy's value.
        score: ``max(0, 1 - d / d0)`` (None where undefined or chance already matches).
    """

    figure: HumanFigure
    value: float | None
    chance: float | None
    score: float | None


def chance_summary(game: str) -> Mapping[str, Any]:
    """Behaviour summary of the uniform random policy in ``game`` (default settings)."""
    from subrational_gym import make_env
    from subrational_gym.evaluation import behaviour_summary

    env = make_env(game)
    model = env.tabular_model()
    return behaviour_summary(env, np.full((model.n_states, model.n_actions),
                                          1.0 / model.n_actions))


def score_figures(
    game: str, summaries: Mapping[str | None, Mapping[str, Any]],
    chance: Mapping[str, Any] | None = None,
) -> list[FigureScore]:
    """Score behaviour summaries against the human figures of ``game``.

    Args:
        game: The game.
        summaries: Behaviour summary per persona name; the entry under ``None`` (or the
            only entry) is used for figures that name no persona. Figures whose persona
            has no summary are skipped. A policy that stands for everyone (a theory or
            RL policy) should be given under every persona, so that every family is
            scored on the same figures.
        chance: The uniform random policy's summary (default: computed for the game's
            default settings).
    """
    chance = chance if chance is not None else chance_summary(game)
    default = summaries.get(None)
    if default is None and len(summaries) == 1:
        default = next(iter(summaries.values()))
    scores = []
    for figure in figures_for(game):
        summary = default if figure.persona is None else summaries.get(figure.persona)
        if summary is None:
            continue
        value = EXTRACTORS[figure.key](summary)
        at_chance = EXTRACTORS[figure.key](chance)
        scores.append(FigureScore(figure, value, at_chance, figure.score(value, at_chance)))
    return scores


def game_fidelity(scores: Sequence[FigureScore]) -> float | None:
    """Mean score over the scored population's figures that could be scored (else None)."""
    values = [s.score for s in scores if s.score is not None and s.figure.scored]
    return float(np.mean(values)) if values else None


def overall_fidelity(per_game: Mapping[str, float | None]) -> float | None:
    """Mean of the per-game scores that exist."""
    values = [v for v in per_game.values() if v is not None]
    return float(np.mean(values)) if values else None


def overall_over_seeds(by_seed: Mapping[Any, Mapping[str, float]],
                       games: Sequence[str]) -> dict[str, float] | None:
    """The overall score over seeds: IQM, 95% bootstrap interval, worst seed, count.

    Args:
        by_seed: Per seed, the game scores of the policies trained with that seed.
        games: The games the family is scored on; a seed counts only where it scored
            every one of them (so seeds are compared on the same figures).

    Returns:
        ``{"iqm", "ci_low", "ci_high", "worst", "n"}``, or None when no seed scored every
        game.

    >>> overall_over_seeds({0: {"a": 0.2, "b": 0.4}, 1: {"a": 0.5}}, ["a", "b"])["worst"]
    0.30000000000000004
    """
    from subrational_gym.aggregate import aggregate

    values = [float(np.mean([scores[g] for g in games])) for scores in by_seed.values()
              if all(scores.get(g) is not None for g in games)]
    if not values:
        return None
    agg = aggregate(values)
    return {"iqm": agg.iqm, "ci_low": agg.ci_low, "ci_high": agg.ci_high,
            "worst": min(values), "n": len(values)}
