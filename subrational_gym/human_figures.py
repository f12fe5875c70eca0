"""Published human figures for the four games, as data.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from subrational_gym.errors import ParameterError

#: Extracts the comparable number from a behaviour summary.
Extractor = Callable[[Mapping[str, Any]], float | None]
#: Extracts the comparable number from behaviour summaries keyed by persona name.
AcrossExtractor = Callable[[Mapping[str, Mapping[str, Any]]], float | None]


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

        >>> HumanFigure("ultimatum", "q", 0.4, 0.6, "s", "waited_full").distance(0.9)
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

        >>> fig = HumanFigure("ultimatum", "q", 0.0, 0.0, "s", "acceptance_at_0")
        >>> fig.score(0.5, 0.5), fig.score(0.0, 0.5), fig.score(0.25, 0.5), fig.score(0.9, 0.5)
        (0.0, 1.0, 0.5, 0.0)
        """
        d, d0 = self.distance(value), self.distance(chance)
        if d is None or d0 is None or d0 <= 1e-12:
            return None
        return float(max(0.0, 1.0 - d / d0))


# ------------------------------------------------------------------ extractors
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


def _give_in_time(summary: Mapping[str, Any]) -> float | None:
    # Mean minute at which the children who ate did so, as a share of the maximum wait.
    eat = np.asarray(summary["eat_probability_at_minute"])
    total = eat.sum()
    if total <= 1e-12:
        return None
    return float(np.arange(len(eat)) @ eat / total / len(summary["minute"]))


def _start_day_moments(summary: Mapping[str, Any]) -> tuple[float, float]:
    # E[S] and E[S^2] of the start day, never starting counted as the day after the deadline.
    start = np.asarray(summary["start_distribution"])
    days = np.arange(1, len(start) + 2, dtype=np.float64)
    dist = np.append(start, summary["never_start"])
    return float(days @ dist), float(days**2 @ dist)


def _gpa_start_correlation(summaries: Mapping[str, Mapping[str, Any]]) -> float | None:
    """Pearson r of GPA and start day over the GPA personas pooled in equal shares.

    The persona names carry the GPA (``"gpa-3.0"``). No spread in start days at all
    (every student starts on the same day) has no association: r = 0.

    >>> s = {"start_distribution": [0.5, 0.5], "never_start": 0.0}
    >>> _gpa_start_correlation({"gpa-2.0": s, "gpa-4.0": s})
    0.0
    """
    gpa = np.array([float(name.split("-", 1)[1]) for name in summaries])
    moments = np.array([_start_day_moments(s) for s in summaries.values()])
    mean_s, mean_s2 = moments[:, 0].mean(), moments[:, 1].mean()
    var_s, var_g = mean_s2 - mean_s**2, gpa.var()
    if var_s <= 1e-12 or var_g <= 1e-12:
        return 0.0
    cov = float(np.mean(gpa * moments[:, 0]) - gpa.mean() * mean_s)
    return float(np.clip(cov / np.sqrt(var_s * var_g), -1.0, 1.0))


EXTRACTORS: dict[str, Extractor] = {
    "acceptance_at_0": _acceptance_at(0.0),
    "acceptance_at_10pct": _acceptance_at(0.1),
    "acceptance_at_20pct": _acceptance_at(0.2),
    "acceptance_at_50pct": _acceptance_at(0.5),
    "acceptance_below_30pct": _mean_acceptance_below(0.3),
    "waited_full": lambda s: s["waited_full"],
    "ate_at_once": lambda s: s["ate_at_once"],
    "gave_in_midway_share": lambda s: (
        s["gave_in_midway"] / (1.0 - s["waited_full"]) if s["waited_full"] < 1.0 else None
    ),
    "give_in_time": _give_in_time,
    "wait_fraction": lambda s: s["expected_minutes_waited"] / len(s["minute"]),
    "acceptance_at_40pct": _acceptance_at(0.4),
    "gamble_first_round": lambda s: s["gamble_probability"][0],
    "start_late": _last_days_start,
}

#: Extractors of figures that compare personas (``HumanFigure.across``).
ACROSS_EXTRACTORS: dict[str, AcrossExtractor] = {
    "gpa_start_day_correlation": _gpa_start_correlation,
}

# ------------------------------------------------------------------ populations
US_STUDENTS = "US students, strategy method"
THREE_YEAR_OLDS = "children of about 3"
FOUR_YEAR_OLDS = "children of about 4 (Lamm et al.; Kidd et al., mean 4.5; Mischel's preschoolers)"
HOUSE_MONEY = "adults after a prior gain (house money, the game's framing)"
COLLEGE_STUDENTS = "college students"

#: The populations whose figures enter each game's score (the others are context).
SCORED_POPULATIONS: Mapping[str, tuple[str, ...]] = {
    "ultimatum": (US_STUDENTS,),
    "marshmallow": (THREE_YEAR_OLDS, FOUR_YEAR_OLDS),
    "double_or_nothing": (HOUSE_MONEY,),
    "procrastination": (COLLEGE_STUDENTS,),
}
#: What each game's score describes, in words.
SCORED_POPULATION: Mapping[str, str] = {
    "ultimatum": US_STUDENTS,
    "marshmallow": "children of 3 and of 4, each figure on its age's persona",
    "double_or_nothing": HOUSE_MONEY,
    "procrastination": COLLEGE_STUDENTS,
}

_CORE = "Henrich et al. strategy-method data, CORE Econ unit 4.12"
_GPA_PERSONAS = ("gpa-2.0", "gpa-3.0", "gpa-4.0")

HUMAN_FIGURES: tuple[HumanFigure, ...] = (
    # ------------------------------------------------------------- ultimatum
    HumanFigure(
        "ultimatum", "acceptance of a 0% offer", 0.0, 0.0, _CORE, "acceptance_at_0",
        note="nobody accepts an offer of nothing", population=US_STUDENTS),
    HumanFigure(
        "ultimatum", "acceptance of a 10% offer (US students)", 0.58, 0.58, _CORE,
        "acceptance_at_10pct", note="Orma farmers in Kenya: 2%", population=US_STUDENTS),
    HumanFigure(
        "ultimatum", "acceptance of a 20% offer (US students)", 0.70, 0.70, _CORE,
        "acceptance_at_20pct", note="Orma farmers in Kenya: about 10%",
        population=US_STUDENTS),
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
        "ultimatum", "acceptance of an equal split", 1.0, 1.0, _CORE, "acceptance_at_50pct",
        population=US_STUDENTS),
    # ----------------------------------------------------------- marshmallow
    HumanFigure(
        "marshmallow", "3-year-olds taking the immediate reward", 0.5, 1.0,
        "Developmental Psychobiology 2014, literature summary of delay-choice tasks: most "
        "3-year-olds take the immediate reward", "ate_at_once", persona="child-3",
        note="a delay choice is the game's first decision: 'most' = more than half eat at "
        "once", population=THREE_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "4-year-olds taking the immediate reward", 0.0, 0.5,
        "Developmental Psychobiology 2014, literature summary of delay-choice tasks: most "
        "4-year-olds take the delayed reward", "ate_at_once", persona="child-4",
        note="a delay choice is the game's first decision: 'most' wait = at most half eat "
        "at once", population=FOUR_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "4-year-olds waiting the full 10 minutes", 0.28, 0.70,
        "Lamm et al. 2018 (Child Development): 28% German, 70% Nso children",
        "waited_full", persona="child-4", population=FOUR_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "share of the maximum wait, reliable experimenter (mean age 4.5)",
        0.80, 0.80,
        "Kidd, Palmeri and Aslin 2013 (Cognition 126:109): mean wait 12 min 2 s of 15 after "
        "a reliable experimenter (3 min 2 s after an unreliable one)", "wait_fraction",
        persona="child-4", note="15-minute maximum scaled to the game's 10; the game's "
        "grown-up is reliable", population=FOUR_YEAR_OLDS),
    HumanFigure(
        "marshmallow", "when the children who gave in did so, as a share of the maximum wait",
        0.381, 0.381,
        "Mischel and Ebbesen 1970 (as cited by Kidd et al. 2013): those who gave in did so "
        "after 5.72 of 15 minutes on average", "give_in_time", persona="child-4",
        note="5.72 / 15 = 0.381; Mischel's preschoolers compared with the 4-year-old "
        "persona", population=FOUR_YEAR_OLDS),
    # ----------------------------------------------------- double or nothing
    HumanFigure(
        "double_or_nothing", "gambling the winnings after a prior gain (house money)",
        0.70, 0.70,
        "Thaler and Johnson 1990 (Management Science 36:643): after winning $30, 70% accept "
        "a coin flip to win or lose $9", "gamble_first_round",
        note="every prompt says 'You have won $10 so far': the matched framing; stakes "
        "differ (the game risks all of the winnings)", population=HOUSE_MONEY),
    HumanFigure(
        "double_or_nothing", "taking a fair gamble without a prior gain", 0.43, 0.43,
        "Thaler and Johnson 1990 (Management Science 36:643): 43% gamble facing the "
        "equivalent choice without the prior gain", "gamble_first_round",
        note="risk aversion for gains (Kahneman and Tversky 1979)",
        population="adults without a prior gain (context: another framing)"),
    # ------------------------------------------------------- procrastination
    HumanFigure(
        "procrastination", "students who procrastinate", 0.80, 0.95,
        "Steel 2007 (Psychological Bulletin 133:65): 80 to 95% of college students",
        "start_late", note="procrastinating = starting in the second half of the time",
        population=COLLEGE_STUDENTS),
    HumanFigure(
        "procrastination", "correlation of grades with starting late", -0.25, -0.10,
        "Steel 2007; Kim and Seo 2015 (Personality and Individual Differences); Richardson "
        "et al. 2012: r about -0.1 to -0.25 (verify the exact r)",
        "gpa_start_day_correlation", across=_GPA_PERSONAS, domain=(-1.0, 1.0), verify=True,
        note="approximation: self-reported procrastination replaced by the start day "
        "(never = the day after the deadline), grades by the personas' GPAs 2.0, 3.0, 4.0 "
        "in equal shares", population=COLLEGE_STUDENTS),
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
