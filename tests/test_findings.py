"""The findings checks on reference policies whose behaviour is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

import subrational_gym
from subrational_gym import findings, policies
from subrational_gym.evaluation import behaviour_summary


def summary(game, policy):
    return behaviour_summary(game, policy)


def test_ultimatum_finding():
    g = subrational_gym.make_env("ultimatum")
    fair = summary(g, policies.inequity_averse_responder(g))
    income = summary(g, policies.income_maximiser(g))
    rl = {"value_iteration": income}
    f = findings.ultimatum(fair, income, rl)
    assert f.reproduced and f.numbers["fair_acceptance_below_30pct"] == 0.0
    assert not findings.ultimatum(income, income, rl).reproduced
    assert not findings.ultimatum(fair, fair, rl).reproduced
    assert "30%" in f.criterion


def test_marshmallow_finding():
    g = subrational_gym.make_env("marshmallow")
    by_age = {age: summary(g, policies.beta_delta(g, beta=0.3 + 0.1 * age, temperature=0.3))
              for age in range(2, 7)}
    exp = {f"gamma={x}": summary(g, policies.exponential_discounter(g, gamma=x))
           for x in (0.5, 0.9, 1.0)}
    f = findings.marshmallow(by_age, by_age, exp)
    assert f.reproduced and f.numbers["spearman_age_vs_wait"] == pytest.approx(1.0)
    # Learners that never give in half-way, from demonstrations that do, fail it.
    flat = {age: exp["gamma=1.0"] for age in by_age}
    assert not findings.marshmallow(by_age, flat, exp).reproduced
    # Waiting that falls with age fails it.
    reversed_ = {age: by_age[8 - age] for age in by_age}
    assert not findings.marshmallow(reversed_, reversed_, exp).reproduced


def test_double_or_nothing_finding():
    g = subrational_gym.make_env("double_or_nothing")
    pt = summary(g, policies.prospect_theory_gambler(g))
    rn = summary(g, policies.income_maximiser(g))
    lover = summary(g, policies.prospect_theory_gambler(g, planning="naive", reference="zero"))
    f = findings.double_or_nothing({"cautious": pt, "risk-seeking": lover}, rn,
                                   persona="cautious")
    assert f.reproduced
    assert not findings.double_or_nothing({"cautious": lover}, rn, persona="cautious").reproduced


def test_procrastination_finding():
    plain = subrational_gym.make_env("procrastination")
    variant = subrational_gym.make_env("procrastination", self_imposed_deadline=True)
    by_gpa = {2.0: summary(plain, policies.beta_delta(plain, beta=0.7)),
              3.0: summary(plain, policies.beta_delta(plain, beta=0.9)),
              4.0: summary(plain, policies.beta_delta(plain, beta=1.0))}
    commit = {g: summary(variant, policies.beta_delta(variant, beta=0.7, sophisticated=True))
              for g in by_gpa}
    exp = {f"gamma={x:.1f}": summary(variant, policies.exponential_discounter(variant, gamma=x))
           for x in np.linspace(0, 1, 6)}
    f = findings.procrastination(by_gpa, commit, commit, exp, deadline_days=7)
    assert f.reproduced
    start = f.numbers["learned_expected_start_day"]
    assert start[0] > start[-1]
    assert f.numbers["learned_commit_probability"][2.0] == 1.0
    flipped = {2.0: by_gpa[4.0], 3.0: by_gpa[3.0], 4.0: by_gpa[2.0]}
    assert not findings.procrastination(flipped, commit, commit, exp, deadline_days=7).reproduced


def test_procrastination_counts_never_starters_as_late():
    """A student who never starts 90% of the time is not diligent (never = after the deadline)."""
    plain = subrational_gym.make_env("procrastination")
    model = plain.tabular_model()
    diligent = summary(plain, policies.exponential_discounter(plain, gamma=1.0))
    probs = np.tile([0.9, 0.1], (model.n_states, 1))  # writes on a day with probability 0.1
    lazy = summary(plain, probs)
    assert lazy["never_start"] > 0.4
    assert lazy["mean_start_day"] < 4.0  # among starters only: looks mid-way diligent
    assert lazy["expected_start_day"] == pytest.approx(
        sum(d * 0.1 * 0.9 ** (d - 1) for d in range(1, 8)) + 8 * 0.9**7)
    variant = subrational_gym.make_env("procrastination", self_imposed_deadline=True)
    commit = {g: summary(variant, policies.beta_delta(variant, beta=0.7, sophisticated=True))
              for g in (2.0, 4.0)}
    f = findings.procrastination({2.0: lazy, 4.0: diligent}, commit, commit, {},
                                 deadline_days=7)
    assert f.reproduced and f.numbers["learned_expected_start_day"][0] > 5.5
    flipped = findings.procrastination({2.0: diligent, 4.0: lazy}, commit, commit, {},
                                       deadline_days=7)
    assert not flipped.reproduced


def test_rank_correlation_ties_do_not_favour_the_hypothesis():
    """A constant waiting curve has no ordering with age: the finding fails."""
    g = subrational_gym.make_env("marshmallow")
    flat = summary(g, policies.beta_delta(g, beta=0.6, temperature=0.3))
    by_age = {age: flat for age in range(2, 7)}
    f = findings.marshmallow(by_age, by_age, {})
    assert f.numbers["spearman_age_vs_wait"] == 0.0 and not f.reproduced
    assert findings._spearman([1, 2, 3, 4], [0.1, 0.1, 0.2, 0.2]) == pytest.approx(
        0.8944, abs=1e-4)


def test_expected_rounds_gambled_is_exact():
    g = subrational_gym.make_env("double_or_nothing")
    model = g.tabular_model()
    always = summary(g, np.tile([0.0, 1.0], (model.n_states, 1)))
    neutral = summary(g, policies.income_maximiser(g))
    assert always["expected_rounds_gambled"] == pytest.approx(1 + 0.5 + 0.25 + 0.125 + 0.0625)
    # Gambling with probability 1/2 in every round: sum over rounds of 0.25**k / 2.
    assert neutral["expected_rounds_gambled"] == pytest.approx(sum(0.5 * 0.25**k
                                                                    for k in range(5)))
