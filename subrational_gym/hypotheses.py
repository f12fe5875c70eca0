"""The paper's findings as hypotheses that can come out "yes", "no" or "cannot tell".

Each finding is a claim about how personas differ (the fairness-minded adult from the
income maximiser, older children from younger ones, the cautious gambler from the bold
one, students by GPA). Each is decided by one *effect* measured on a joint model of all
the game's personas, with a *smallest effect of interest* (SESOI, :data:`SESOI`) grounded
in human data, by the three-way rule of :mod:`subrational_gym.verdicts`:
``not reproduced`` when the effect's 90% interval lies below the SESOI (the personas
behave alike, differ the other way, or differ by less than matters), ``reproduced``
when it lies above 0 and the finding's further conditions hold, ``inconclusive`` only
when the data cannot tell.

The effect is either behavioural, one outcome per sampled episode regressed on the
persona's attribute over all personas (:func:`~subrational_gym.verdicts.behaviour_effect`),
or structural, a parameter of a fitted family as a linear function of the attribute in
one joint fit (:func:`~subrational_gym.inference.joint.attribute_effect`); the further
conditions are likelihood-ratio tests against the simpler theory with its own noise.

Each game's rule, SESOI and criterion live in its study module
(:mod:`subrational_gym.studies`); this module holds the shared machinery and derives
:data:`HYPOTHESES`, :data:`SESOI` and :data:`CRITERIA` from the registered studies. The
rules keep their old names here (``hypotheses.<game>``).

The known answers (:func:`~subrational_gym.controls.known_answers`) are the controls:
persona-blind agents with human-like noise, reversed effects, state- and persona-blind
constants and uniform choice must come out ``not reproduced``; theory personas with
effects of human size, inside and outside the fitted families, ``reproduced``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from subrational_gym._per_game import PerGame
from subrational_gym.inference import ActionCounts, FitResult
from subrational_gym.studies import Sesoi
from subrational_gym.verdicts import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    VERDICTS,
    Effect,
    Verdict,
)

__all__ = ["CRITERIA", "HYPOTHESES", "INCONCLUSIVE", "LEVEL", "NOT_REPRODUCED", "REPRODUCED",
           "SESOI", "VERDICTS", "Sesoi", "Verdict", "decision_counts", "fit_summary",
           "make_verdict", "observation_meanings"]

#: Significance level of the likelihood-ratio tests of the further conditions.
LEVEL = 0.05

#: The smallest effect of interest of each finding, fixed before any verdict was seen.
SESOI: Mapping[str, Sesoi] = PerGame(lambda study: study.sesoi)
#: How each hypothesis is decided, in words (the rules' docstrings say the same).
CRITERIA: Mapping[str, str] = PerGame(lambda study: study.criterion)
#: The rule of each game: keyword arguments as its controls shape them -> the verdict.
HYPOTHESES: Mapping[str, Callable[..., Verdict]] = PerGame(lambda study: study.rule)


def __getattr__(name: str) -> Any:
    """``hypotheses.<game>``: the rule of a registered game (its study's ``rule``)."""
    if not name.startswith("_") and name in HYPOTHESES:
        return HYPOTHESES[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def fit_summary(f: FitResult) -> dict[str, Any]:
    """A fit's family, parameters, intervals, identification, BIC and size, JSON-ready."""
    return {"family": f.family, "params": f.params,
            "ci": {k: list(v) for k, v in f.ci.items()}, "identified": f.identified,
            "bic": f.bic, "n_obs": f.n_obs}


def observation_meanings(counts: ActionCounts) -> list[Any]:
    """The meaning of each state of the counts' model (``observation_meaning``)."""
    game = counts.game
    return [game.observation_meaning(o) for o in counts.model.observations]


def decision_counts(counts: ActionCounts, keep: Callable[[Any], bool]
                    ) -> tuple[list[float], list[float]]:
    """``([0, 1], [n action 0, n action 1])`` over the decision states ``keep`` selects."""
    mask = counts.model.decision_mask & np.array(
        [keep(m) for m in observation_meanings(counts)])
    total = counts.counts[mask].sum(axis=0)
    return [0.0, 1.0], [float(total[0]), float(total[1])]


def make_verdict(game: str, hypothesis: str, effect: Effect, failed: str | None,
                 reasons: list[str], numbers: dict[str, Any], alike: str) -> Verdict:
    """The verdict, with a bottom line that says what was measured and why it decided.

    ``failed`` names the further condition that does not hold (None: all hold); ``alike``
    says in words that the personas do not differ.
    """
    verdict = effect.verdict(failed is None)
    lo, hi = effect.interval
    shown = f"{effect.name} {effect.value:+.3g} [{lo:+.3g}, {hi:+.3g}]"
    if verdict == NOT_REPRODUCED:
        kind = ("the effect is reversed" if hi < 0 else
                "the personas differ, but by less than matters" if lo > 0 else alike)
        why = f"{kind}: {shown}" + ("" if hi < 0 else
                                    f", below the smallest effect of interest {effect.sesoi:g}")
    elif verdict == REPRODUCED:
        why = f"{shown}, above 0 (p = {effect.p_value:.2g})"
    elif not (effect.identified or effect.shown):
        why = f"the data do not bound the {effect.name}, so they cannot tell"
    elif effect.shown:
        why = f"{shown} is above 0, but {failed}"
    else:
        why = (f"{shown} holds both no effect and the smallest effect of interest "
               f"{effect.sesoi:g}: the data cannot tell")
    return Verdict(game=game, hypothesis=hypothesis, verdict=verdict, statistic=effect.name,
                   value=effect.value, interval=effect.interval, threshold=0.0,
                   sesoi=effect.sesoi, bottom_line=f"{verdict}: {why}.",
                   reasons=[effect.describe(), *reasons],
                   numbers={"effect": effect.to_dict(), **numbers},
                   criterion=CRITERIA[game])
