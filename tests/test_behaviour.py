"""Behaviour summaries that the findings and fidelity read, on policies known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

import subrational_gym
from subrational_gym import policies
from subrational_gym.evaluation import behaviour_summary

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)


def test_never_starters_count_as_starting_after_the_deadline():
    """A student who writes on 10% of days is not diligent: never = the day after the deadline."""
    plain = subrational_gym.make_env("procrastination")
    model = plain.tabular_model()
    diligent = behaviour_summary(plain, policies.exponential_discounter(plain, gamma=1.0))
    lazy = behaviour_summary(plain, np.tile([0.9, 0.1], (model.n_states, 1)))
    assert lazy["never_start"] > 0.4
    assert lazy["mean_start_day"] < 4.0  # among starters only: looks mid-way diligent
    assert lazy["expected_start_day"] == pytest.approx(
        sum(d * 0.1 * 0.9 ** (d - 1) for d in range(1, 8)) + 8 * 0.9**7)
    assert lazy["expected_start_day"] > 5.5 > diligent["expected_start_day"]


def test_expected_rounds_gambled_is_exact():
    g = subrational_gym.make_env("double_or_nothing")
    model = g.tabular_model()
    always = behaviour_summary(g, np.tile([0.0, 1.0], (model.n_states, 1)))
    neutral = behaviour_summary(g, policies.income_maximiser(g))
    assert always["expected_rounds_gambled"] == pytest.approx(1 + 0.5 + 0.25 + 0.125 + 0.0625)
    # Gambling with probability 1/2 in every round: sum over rounds of 0.25**k / 2.
    assert neutral["expected_rounds_gambled"] == pytest.approx(sum(0.5 * 0.25**k
                                                                    for k in range(5)))
