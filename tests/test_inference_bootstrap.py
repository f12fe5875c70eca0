"""The parametric bootstrap of the present-bias test (issue 23): power, size, seeding."""

from __future__ import annotations

import math

import pytest

from subrational_gym import policies
from subrational_gym.errors import ParameterError
from subrational_gym.inference import (
    ActionCounts,
    BootstrapLRTest,
    bootstrap_lr_test,
    count_episodes,
    lr_test,
)

MARSHMALLOW = "Subrational/Marshmallow-v0"
NAIVE = "beta_delta_naive"


def _children(gamma: float, temperature: float, seeds: range, n: int = 200) -> list:
    child = policies.exponential_discounter(MARSHMALLOW, gamma=gamma, temperature=temperature)
    return [ActionCounts.sample(child, n, seed=s) for s in seeds]


def test_a_present_biased_child_is_rejected():
    # beta 0.6 with little noise: at beta 0.5 and T 0.5 nearly no child of 200 reaches
    # the last minute, where present bias shows, and the asymptotic p is 0.13-1.
    child = policies.beta_delta(MARSHMALLOW, beta=0.6, delta=1.0, temperature=0.1)
    counts = ActionCounts.sample(child, 200, seed=1)
    test = bootstrap_lr_test(counts, "exponential", NAIVE, n_boot=20, seed=0)
    assert isinstance(test, BootstrapLRTest)
    assert not test.screened and test.n_boot == 20 and test.n_episodes == 200
    assert test.n_exceed == 0 and test.p_value == pytest.approx(1 / 21)
    assert test.rejects(0.05)
    assert test.statistic == pytest.approx(lr_test(counts, "exponential", NAIVE).statistic)
    assert set(test.null_params) == {"gamma", "temperature"}
    assert test.to_dict()["general"] == [NAIVE]


def test_noise_only_children_are_not_called_present_biased_too_often():
    """Size at the median: the old test is anti-conservative there by far.

    With 9 draws and 5 exceedances to stop, a calibrated bootstrap p is ``<= 0.5``
    with probability 0.5 under the null; over 18 independent data sets (three
    noise-only settings, 200 episodes each, gamma 0.97 T 0.5 among them) more than 13
    such p-values happen with probability 0.015 (binomial(18, 0.5) tail). The
    chi-bar-squared p of the old test is below 0.5 in 70-80% of such children (the
    nuisance delta at its bound 1): it fails this check on these data sets.
    """
    settings = [(0.97, 0.5), (0.99, 0.2), (0.9, 1.0)]
    data = [c for g, t in settings for c in _children(g, t, range(6))]
    tests = [bootstrap_lr_test(c, "exponential", NAIVE, n_boot=9, seed=i, screen=None,
                               stop_after=5) for i, c in enumerate(data)]
    new = sum(t.rejects(0.55) for t in tests)  # p in {0.1, ..., 1}: p <= 0.5
    old = sum(t.asymptotic_p < 0.5 for t in tests)
    assert new <= 13, f"{new} of 18 bootstrap p-values <= 0.5"
    assert old > 13, f"the old test's p was < 0.5 in only {old} of 18"
    assert all(t.stopped_early or t.n_boot == 9 for t in tests)


def test_same_seed_same_p_and_screen():
    counts = _children(0.97, 0.5, range(1, 2))[0]  # asymptotic p 0.086 at this seed
    a = bootstrap_lr_test(counts, "exponential", NAIVE, n_boot=5, seed=7)
    b = bootstrap_lr_test(counts, "exponential", NAIVE, n_boot=5, seed=7)
    assert a.p_value == b.p_value and a.boot_statistics == b.boot_statistics
    assert a.n_boot == 5 and not a.screened
    assert math.isclose(a.p_value, (1 + a.n_exceed) / 6)
    screened = bootstrap_lr_test(counts, "exponential", NAIVE, n_boot=5, seed=7, screen=0.05)
    assert screened.screened and screened.n_boot == 0
    assert screened.p_value == screened.asymptotic_p
    assert not screened.rejects(0.01)
    with pytest.raises(ParameterError, match="screen=None"):
        screened.rejects(0.05)


def test_count_episodes_and_errors():
    counts = _children(0.9, 0.2, range(1))[0]
    assert count_episodes(counts) == 200
    half = ActionCounts(counts.env_id, counts.env_kwargs, counts.counts * 0.5, counts.game)
    fraction = ActionCounts(counts.env_id, counts.env_kwargs, counts.counts * 0.0025,
                            counts.game)  # 0.5 episodes: expected or aggregate counts
    with pytest.raises(ParameterError, match="n_episodes="):
        count_episodes(fraction)
    assert count_episodes(half) == 100
    for kwargs, match in [({"n_boot": 0}, "n_boot must be a positive integer, got 0"),
                          ({"seed": -1}, "seed must be"),
                          ({"screen": 1.5}, "screen must be in"),
                          ({"stop_after": 0}, "stop_after must be"),
                          ({"n_episodes": 2.5}, "n_episodes must be")]:
        with pytest.raises(ParameterError, match=match):
            bootstrap_lr_test(counts, "exponential", NAIVE, **kwargs)
    with pytest.raises(ParameterError, match="not nested"):
        bootstrap_lr_test(counts, NAIVE, "exponential")
