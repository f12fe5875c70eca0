"""Procrastination's study: present bias by GPA, with a self-imposed deadline on offer.

The finding: the lowest-GPA student is present-biased, and present bias falls as the
GPA rises (a structural effect: beta linear in GPA in one joint sophisticated fit).
Human figures: how many college students procrastinate, and how starting late goes with
grades (Steel 2007).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from subrational_gym import make_env, policies
from subrational_gym.controls import Control, flat_policy, levels, standard_expected, uniform_policy
from subrational_gym.human_figures import Extractor, HumanFigure
from subrational_gym.policies import TabularPolicy
from subrational_gym.registration import ENV_IDS
from subrational_gym.studies import PersonaSpec, Sesoi, Study, Variant, register_study

GAME = "procrastination"
#: The students' GPAs, one persona each (written once: personas, controls, planted).
GPAS = (2.0, 3.0, 4.0)
#: The self-imposed-deadline variant, where the finding is judged.
COMMIT = {"self_imposed_deadline": True}
Summary = Mapping[str, Any]


def _student(gpa: float) -> str:
    return f"gpa-{gpa:.1f}"


# ------------------------------------------------------------------ behaviour
def summary(game: Any, model: Any, probs: np.ndarray, occ: np.ndarray,
            meanings: list[Any]) -> dict[str, Any]:
    """The behaviour summary: start and finish days, and committing.

    Distribution of the day writing starts and the day it finishes (``None`` for
    never), their means over students who do, and the probability of committing in the
    self-imposed-deadline variant; ``expected_start_day`` and ``expected_finish_day``
    average over every student, counting one who never starts (finishes) as starting
    (finishing) the day after the deadline.
    """
    days = game.deadline_days
    need = game.work_days_needed
    start = np.zeros(days)
    finish = np.zeros(days)
    commit = None
    for s, m in enumerate(meanings):
        if m.day < 0:
            commit = float(probs[s, 1])
        elif m.day < days:
            if m.progress == 0:
                start[m.day] += occ[s] * probs[s, 1]
            if m.progress == need - 1:
                finish[m.day] += occ[s] * probs[s, 1]

    def mean_day(dist: np.ndarray) -> float | None:
        total = dist.sum()
        return float((np.arange(1, days + 1) @ dist) / total) if total > 1e-12 else None

    def expected_day(dist: np.ndarray) -> float:
        # Never doing it counts as doing it the day after the deadline.
        return float(np.arange(1, days + 1) @ dist + (days + 1) * max(0.0, 1.0 - dist.sum()))

    return {
        "day": list(range(1, days + 1)),
        "start_distribution": start.tolist(),
        "never_start": float(max(0.0, 1.0 - start.sum())),
        "finish_distribution": finish.tolist(),
        "never_finish": float(max(0.0, 1.0 - finish.sum())),
        "mean_start_day": mean_day(start),
        "expected_start_day": expected_day(start),
        "expected_finish_day": expected_day(finish),
        "mean_finish_day": mean_day(finish),
        "commit_probability": commit,
    }


def _headline(s: Summary) -> str:
    line = (f"start day {s['expected_start_day']:.1f}, finish day "
            f"{s['expected_finish_day']:.1f} (never = day {len(s['day']) + 1})")
    if s.get("commit_probability") is not None:
        line += f", commits {s['commit_probability']:.2f}"
    return line


def _key(s: Summary) -> float | None:
    if s.get("commit_probability") is not None:
        return float(s["commit_probability"])
    return s["expected_start_day"]


def _curve(s: Summary) -> tuple[Sequence[float], Sequence[float]]:
    return s["day"], np.cumsum(s["start_distribution"]).tolist()


def _contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    env = make_env(ENV_IDS[GAME], **COMMIT)
    pols = (policies.exponential_discounter(env, gamma=1.0),
            policies.exponential_discounter(env, gamma=0.5),
            policies.beta_delta(env), policies.beta_delta(env, sophisticated=True),
            # The same comparison with choice noise (temperature 0.5) on both sides.
            policies.exponential_discounter(env, gamma=1.0, temperature=0.5),
            policies.beta_delta(env, sophisticated=True, temperature=0.5))
    return [(dict(COMMIT), p) for p in pols]


# ------------------------------------------------------------------ hypothesis
SESOI = Sesoi(
    0.10, "present-bias factor beta per GPA point",
    "a judgement: no human figure gives beta per GPA point, and procrastination's "
    "correlation with grades is small (r -0.1 to -0.25; Steel 2007). The margin is "
    "the whole gap between present bias for consumption (beta 0.7; Laibson et al. "
    "2007) and for effort (beta 0.9; Augenblick et al. 2015), 0.2, spread over the GPA "
    "range 2 to 4; the whole gap, not half as in the other games, since a smaller "
    "margin would be a guess below any human comparison")

CRITERION = (
    "In the self-imposed-deadline variant, fit sophisticated beta-delta to all GPAs at "
    "once with beta linear in GPA. Effect: the slope of beta on GPA (profile "
    "likelihood). Not reproduced when its 90% interval lies below the SESOI "
    f"{SESOI.value:g} per GPA point; reproduced when it lies above 0 "
    "and, for the lowest GPA, sophisticated beta-delta rejects every exponential model "
    "with its own noise (likelihood ratio at 0.05) and wins by BIC; inconclusive "
    "otherwise.")


def rule(by_gpa_commit: Mapping[float, Any], *, seed: int = 0) -> Any:
    """The lowest-GPA student is present-biased, and present bias falls as the GPA rises.

    Effect: in the self-imposed-deadline variant, sophisticated beta-delta fitted to all
    GPAs at once with ``beta = b0 + b1 (GPA - mean)``, every other parameter free per
    student; the effect is ``b1`` with its profile-likelihood interval. Not reproduced
    when the 90% interval lies below ``SESOI["procrastination"]``; reproduced when it
    lies above 0 and, for the lowest GPA, the exponential model (with its own noise) is
    rejected with the sophisticated family ahead by BIC; inconclusive otherwise.
    """
    from subrational_gym.hypotheses import LEVEL, fit_summary, make_verdict
    from subrational_gym.inference import fit, lr_test
    from subrational_gym.inference.joint import attribute_effect
    from subrational_gym.verdicts import EFFECT_LEVEL, Effect

    gpas = sorted(by_gpa_commit)
    joint = attribute_effect("beta_delta_sophisticated", by_gpa_commit, {g: g for g in gpas},
                             "beta", level=EFFECT_LEVEL, seed=seed)
    effect = Effect(name="present-bias factor beta, slope per GPA point (joint fit)",
                    value=joint.slope, interval=joint.interval, level=joint.level,
                    sesoi=SESOI.value, p_value=joint.p_value,
                    method="profile likelihood of the slope in one joint fit",
                    n=int(sum(c.n_obs for c in by_gpa_commit.values())),
                    identified=joint.bounded)
    low = gpas[0]
    general = fit("beta_delta_sophisticated", by_gpa_commit[low], ci=False, seed=seed)
    expo = fit("exponential", by_gpa_commit[low], ci=False, seed=seed)
    test = lr_test(by_gpa_commit[low], "exponential", "beta_delta_sophisticated",
                   general_fit=general)
    biased = test.rejects(LEVEL) and general.bic < expo.bic
    reasons = [
        f"GPA {low:g}: the exponential model with its own noise is "
        f"{'rejected' if test.rejects(LEVEL) else 'not rejected'} (p = {test.p_value:.2g}); "
        f"BIC sophisticated {general.bic:.1f} vs exponential {expo.bic:.1f}",
        "beta by GPA in the joint fit: " + ", ".join(
            f"{g:g}: {v:.2f}" for g, v in zip(gpas, joint.values.values(), strict=True))
        + ("" if joint.bounded else " (the data do not bound the slope)"),
    ]
    return make_verdict(
        GAME,
        "With a self-imposed deadline on offer, the lowest-GPA student is present-biased, "
        "and present bias falls as the GPA rises.",
        effect, None if biased else
        f"the lowest-GPA student is not shown present-biased (exponential model with its own "
        f"noise p = {test.p_value:.2g})", reasons,
        {"joint": joint.to_dict(), "exponential_lowest_gpa": fit_summary(expo),
         "lr_lowest_gpa": test.to_dict()},
        "the students are equally present-biased")


# ------------------------------------------------------------------ controls
def controls() -> list[Control]:
    """The known answers, one student per GPA, in the self-imposed-deadline variant."""
    p = ENV_IDS[GAME]

    def student(beta: float, sophisticated: bool = True) -> TabularPolicy:
        return policies.beta_delta(p, beta=beta, sophisticated=sophisticated, temperature=0.5,
                                   env_kwargs=COMMIT)

    return levels(GPAS, [
        ("theory personas, human-size effect", lambda g: student(0.3 + 0.15 * g)),
        ("outside the fitted families", lambda g: student(0.3 + 0.15 * g, sophisticated=False)),
        ("persona-blind, human-like noise", lambda g: student(0.7)),
        ("reversed effect", lambda g: student(1.2 - 0.15 * g)),
        ("effect below the SESOI", lambda g: student(0.5 + 0.02 * g)),
        ("state- and persona-blind constant", lambda g: flat_policy(p, 0.3, COMMIT)),
        ("uniform random", lambda g: uniform_policy(p, COMMIT)),
    ])


# ------------------------------------------------------------------ human figures
def _last_days_start(summary: Mapping[str, Any]) -> float | None:
    # Share of students who start writing in the second half of the available time.
    start = np.asarray(summary["start_distribution"])
    half = len(start) // 2
    return float(start[half:].sum() + summary["never_start"])


def _start_day_moments(summary: Mapping[str, Any]) -> tuple[float, float]:
    # E[S] and E[S^2] of the start day, never starting counted as the day after the deadline.
    start = np.asarray(summary["start_distribution"])
    days = np.arange(1, len(start) + 2, dtype=np.float64)
    dist = np.append(start, summary["never_start"])
    return float(days @ dist), float(days**2 @ dist)


def gpa_start_correlation(summaries: Mapping[str, Mapping[str, Any]]) -> float | None:
    """Pearson r of GPA and start day over the GPA personas pooled in equal shares.

    The persona names carry the GPA (``"gpa-3.0"``). No spread in start days at all
    (every student starts on the same day) has no association: r = 0.

    >>> s = {"start_distribution": [0.5, 0.5], "never_start": 0.0}
    >>> gpa_start_correlation({"gpa-2.0": s, "gpa-4.0": s})
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


COLLEGE_STUDENTS = "college students"

FIGURES: tuple[HumanFigure, ...] = (
    HumanFigure(
        GAME, "students who procrastinate", 0.80, 0.95,
        "Steel 2007 (Psychological Bulletin 133:65): 80 to 95% of college students",
        "start_late", note="procrastinating = starting in the second half of the time",
        population=COLLEGE_STUDENTS),
    HumanFigure(
        GAME, "correlation of grades with starting late", -0.25, -0.10,
        "Steel 2007; Kim and Seo 2015 (Personality and Individual Differences); Richardson "
        "et al. 2012: r about -0.1 to -0.25 (verify the exact r)",
        "gpa_start_day_correlation", across=tuple(_student(g) for g in GPAS),
        domain=(-1.0, 1.0), verify=True,
        note="approximation: self-reported procrastination replaced by the start day "
        "(never = the day after the deadline), grades by the personas' GPAs 2.0, 3.0, 4.0 "
        "in equal shares", population=COLLEGE_STUDENTS),
)

EXTRACTORS: dict[str, Extractor] = {"start_late": _last_days_start}


# ------------------------------------------------------------------ the study
def _naive_or_sophisticated(family: str, betas: Sequence[float], temperature: float
                            ) -> dict[str, tuple[str, dict[str, float]]]:
    return {_student(g): (family, {"beta": b, "delta": 1.0, "temperature": temperature})
            for g, b in zip(GPAS, betas, strict=True)}


STUDY = register_study(Study(
    game=GAME,
    title="Procrastination: started writing, by day",
    personas=tuple(PersonaSpec(_student(gpa),
                               f"a college student with a GPA of {gpa:.1f} out of 4.0",
                               {"gpa": gpa}) for gpa in GPAS),
    variants=(Variant("plain"), Variant("self_imposed_deadline", COMMIT)),
    hypothesis_variant="self_imposed_deadline",
    default_persona=_student(3.0),
    axes=("day", "P(started writing by this day)"),
    key_metric_name="mean start day (variant: P(commit))",
    summary_fn=summary,
    curve_fn=_curve,
    key_metric_fn=_key,
    headline_fn=_headline,
    references_fn=lambda env: [policies.beta_delta(env),
                               policies.beta_delta(env, sophisticated=True)],
    contrast_fn=_contrast,
    rule=rule,
    judge_fn=lambda st, data, seed: rule(st.by_attribute(data, "gpa"), seed=seed),
    sesoi=SESOI,
    criterion=CRITERION,
    controls_fn=controls,
    controls_key="by_gpa_commit",
    expected=standard_expected(structural=True),
    figures=FIGURES,
    extractors=EXTRACTORS,
    across_extractors={"gpa_start_day_correlation": gpa_start_correlation},
    scored_populations=(COLLEGE_STUDENTS,),
    scored_population=COLLEGE_STUDENTS,
    prompt_version="procrastination-2",
    scene="{c} has a report to write before a deadline.",
    chat_scene="You have a report to write before a deadline.",
    planted=_naive_or_sophisticated("beta_delta_sophisticated", (0.5, 0.7, 0.9), 0.5),
    planted_outside=_naive_or_sophisticated("beta_delta_naive",
                                            [0.3 + 0.15 * g for g in GPAS], 0.5),
    planted_sizes=_naive_or_sophisticated("beta_delta_sophisticated", (0.6, 0.75, 0.9), 0.4),
    families=("exponential", "beta_delta_naive", "beta_delta_sophisticated"),
    learner_defaults={
        # One indicator per state and large batches settle on the per-state frequencies.
        "bc": {"budget": 200, "batch_size": 512, "features": "onehot"},
    },
))
