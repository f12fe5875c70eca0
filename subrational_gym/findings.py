"""The paper's four findings as checks on behaviour summaries, with the numbers behind them.

Coletta et al. (2024) report, for LLM-persona demonstrations and the policies learned
from them: (1) a fairness-minded responder rejects low offers while an income maximiser
and RL accept every positive offer; (2) older children wait longer in the marshmallow
test and give in half-way, which no exponential discounter does; (3) the learned
gambler cashes out earlier than a risk-neutral agent at fair odds; (4) lower-GPA
students start and finish later. Each function takes behaviour summaries (see
:func:`~subrational_gym.evaluation.behaviour_summary`) and returns a :class:`Finding`
whose ``reproduced`` verdict follows a criterion stated in its docstring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

Summary = Mapping[str, Any]

#: A policy "accepts" / "rejects" an offer when it does so with probability above 1/2.
MAJORITY = 0.5
#: Probability of giving in after the first minute that counts as "giving in half-way".
MIDWAY = 0.05


@dataclass(frozen=True)
class Finding:
    """A checked finding.

    Attributes:
        game: The game.
        finding: The claim, in words.
        reproduced: Whether the criterion holds.
        numbers: The values the verdict rests on.
        criterion: How the verdict is decided.
    """

    game: str
    finding: str
    reproduced: bool
    numbers: dict[str, Any]
    criterion: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _acceptance_between(summary: Summary, low: float, high: float) -> float:
    shares = np.asarray(summary["offer_share"])
    mask = (shares > low) & (shares < high)
    return float(np.mean(np.asarray(summary["acceptance"])[mask]))


def _min_positive_acceptance(summary: Summary) -> float:
    shares = np.asarray(summary["offer_share"])
    return float(np.min(np.asarray(summary["acceptance"])[shares > 0]))


def ultimatum(fair: Summary, income: Summary, rl: Mapping[str, Summary]) -> Finding:
    """Fair persona rejects offers below ~30%; income persona and RL accept all positive ones.

    Criterion: the fairness persona's learned policy accepts offers strictly between 0
    and 30% of the pie with mean probability below 1/2 and offers of at least 50% with
    probability above 1/2; the income persona's learned policy and every RL agent
    accept every positive offer with probability above 1/2.
    """
    fair_low = _acceptance_between(fair, 0.0, 0.3)
    fair_high = _acceptance_between(fair, 0.49, 1.01)
    income_min = _min_positive_acceptance(income)
    rl_min = {name: _min_positive_acceptance(s) for name, s in rl.items()}
    reproduced = (fair_low < MAJORITY < fair_high and income_min > MAJORITY
                  and all(v > MAJORITY for v in rl_min.values()))
    return Finding(
        "ultimatum",
        "The fairness-minded persona's learned policy rejects offers below about 30% of the "
        "pie, while the income-maximising persona and RL accept every positive offer.",
        bool(reproduced),
        {"fair_acceptance_below_30pct": fair_low, "fair_acceptance_from_50pct": fair_high,
         "income_min_acceptance_positive_offers": income_min,
         "rl_min_acceptance_positive_offers": rl_min},
        ultimatum.__doc__.split("Criterion: ")[1].strip().replace("\n    ", " "),
    )


def _spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation with ties given average ranks (scipy); 0 for a constant."""
    if len(set(x)) < 2 or len(set(y)) < 2:
        return 0.0  # no ordering at all: no evidence of a rising curve
    return float(stats.spearmanr(x, y).statistic)


def marshmallow(
    expert_by_age: Mapping[int, Summary],
    learned_by_age: Mapping[int, Summary],
    exponential: Mapping[str, Summary],
) -> Finding:
    """Waiting rises with age; learners give in half-way where demonstrations do; RL never.

    Criterion: across ages, the learned policies' probability of waiting the full time
    has a Spearman correlation with age above 0.5 and is at least 0.05 higher for the
    oldest than the youngest child; for every age whose demonstrations give in
    half-way (probability of eating after the first minute at least 0.05), the learned
    policy does too; and no exponential-discount agent gives in half-way.
    """
    ages = sorted(learned_by_age)
    waited = [float(learned_by_age[a]["waited_full"]) for a in ages]
    rho = _spearman(ages, waited)
    rises = rho > 0.5 and waited[-1] >= waited[0] + 0.05
    midway_demo = {a: float(expert_by_age[a]["gave_in_midway"]) for a in ages}
    midway_learned = {a: float(learned_by_age[a]["gave_in_midway"]) for a in ages}
    with_midway = [a for a in ages if midway_demo[a] >= MIDWAY]
    learners_follow = all(midway_learned[a] >= MIDWAY for a in with_midway)
    exp_midway = {k: float(s["gave_in_midway"]) for k, s in exponential.items()}
    exp_never = all(v < MIDWAY for v in exp_midway.values())
    return Finding(
        "marshmallow",
        "The probability of waiting the full time rises with the child's age; where "
        "demonstrations give in half-way the learned policy does too, which no "
        "exponential-discount agent does.",
        bool(rises and learners_follow and exp_never),
        {"ages": ages, "learned_waited_full": waited, "spearman_age_vs_wait": rho,
         "expert_waited_full": [float(expert_by_age[a]["waited_full"]) for a in ages],
         "demonstrations_gave_in_midway": midway_demo, "learned_gave_in_midway": midway_learned,
         "ages_with_midway_demonstrations": with_midway,
         "exponential_gave_in_midway": exp_midway},
        marshmallow.__doc__.split("Criterion: ")[1].strip().replace("\n    ", " "),
    )


def double_or_nothing(
    learned_by_persona: Mapping[str, Summary], risk_neutral: Summary, *, persona: str
) -> Finding:
    """The learned policy cashes out earlier than a risk-neutral agent at fair odds.

    Criterion: the learned policy of ``persona`` gambles fewer rounds in expectation
    than the risk-neutral agent (the undiscounted optimum, indifferent at fair odds,
    so it gambles with probability 1/2 in every round).
    """
    rounds = {p: float(s["expected_rounds_gambled"]) for p, s in learned_by_persona.items()}
    first = {p: float(s["gamble_probability"][0]) for p, s in learned_by_persona.items()}
    neutral = float(risk_neutral["expected_rounds_gambled"])
    return Finding(
        "double_or_nothing",
        f"The learned policy ({persona} persona) cashes out earlier than a risk-neutral agent "
        f"at fair odds.",
        bool(rounds[persona] < neutral),
        {"learned_expected_rounds_gambled": rounds, "learned_gamble_first_round": first,
         "risk_neutral_expected_rounds_gambled": neutral,
         "risk_neutral_gamble_first_round": float(risk_neutral["gamble_probability"][0])},
        double_or_nothing.__doc__.split("Criterion: ")[1].strip().replace("\n    ", " "),
    )


def procrastination(
    learned_by_gpa: Mapping[float, Summary],
    learned_commit_by_gpa: Mapping[float, Summary],
    expert_commit_by_gpa: Mapping[float, Summary],
    exponential_commit: Mapping[str, Summary],
    *,
    deadline_days: int,
) -> Finding:
    """Lower-GPA personas start and finish later; only time inconsistency commits.

    Criterion: the learned policies' expected start day and expected finish day (a
    student who never starts or finishes counts as doing so the day after the deadline)
    do not decrease as the GPA falls, and the lowest-GPA student starts or finishes at
    least 0.1 day later than the highest-GPA one; and, in the self-imposed-deadline variant, no
    exponential-discount agent commits. Whether each persona commits is reported.
    """
    gpas = sorted(learned_by_gpa)  # ascending GPA
    start = [float(learned_by_gpa[g]["expected_start_day"]) for g in gpas]
    finish = [float(learned_by_gpa[g]["expected_finish_day"]) for g in gpas]
    monotone = all(a >= b - 1e-9 for a, b in zip(start, start[1:], strict=False)) and all(
        a >= b - 1e-9 for a, b in zip(finish, finish[1:], strict=False))
    later = start[0] >= start[-1] + 0.1 or finish[0] >= finish[-1] + 0.1
    exp_commit = {k: float(s["commit_probability"]) for k, s in exponential_commit.items()}
    return Finding(
        "procrastination",
        "Lower-GPA personas start and finish later; in the self-imposed-deadline variant "
        "the personas' commitment is reported, and no exponential-discount agent commits "
        "for any gamma.",
        bool(monotone and later and all(v < MAJORITY for v in exp_commit.values())),
        {"gpa": gpas, "learned_expected_start_day": start,
         "learned_expected_finish_day": finish,
         "learned_commit_probability": {
             g: learned_commit_by_gpa[g]["commit_probability"] for g in gpas
             if g in learned_commit_by_gpa},
         "expert_commit_probability": {
             g: expert_commit_by_gpa[g]["commit_probability"] for g in gpas
             if g in expert_commit_by_gpa},
         "exponential_commit_probability": exp_commit},
        procrastination.__doc__.split("Criterion: ")[1].strip().replace("\n    ", " "),
    )
