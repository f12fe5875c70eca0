from __future__ import annotations

import numpy as np
import pytest

import subrational_gym
from subrational_gym import human_data, policies
from subrational_gym.errors import ParameterError
from subrational_gym.evaluation import behaviour_summary


def test_every_figure_has_source_and_extractor():
    for fig in human_data.HUMAN_FIGURES:
        assert fig.source and fig.low <= fig.high and fig.key in human_data.EXTRACTORS


def test_score_scale():
    fig = human_data.HumanFigure("ultimatum", "q", 0.4, 0.6, "s", "waited_full")
    # Chance (0.1) is 0.3 from the range: a policy inside it scores 1, one at chance 0.
    assert fig.score(0.5, 0.1) == 1.0 and fig.score(0.4, 0.1) == 1.0
    assert fig.score(0.25, 0.1) == pytest.approx(0.5)
    assert fig.score(0.1, 0.1) == 0.0 and fig.score(0.0, 0.1) == 0.0
    assert fig.score(None, 0.1) is None
    assert fig.score(0.5, 0.5) is None  # chance already matches: the figure cannot tell


def _uniform(g):
    model = g.tabular_model()
    return np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)


@pytest.mark.parametrize("game", ["ultimatum", "marshmallow", "double_or_nothing",
                                  "procrastination"])
def test_uniform_random_scores_zero(game):
    g = subrational_gym.make_env(game)
    summary = behaviour_summary(g, _uniform(g))
    everyone = {None: summary, "child-3": summary, "child-4": summary}
    assert human_data.game_fidelity(human_data.score_figures(game, everyone)) == 0.0


def test_fehr_schmidt_closer_to_humans_than_income_maximiser():
    g = subrational_gym.make_env("ultimatum")

    def fidelity(policy):
        scores = human_data.score_figures("ultimatum", {None: behaviour_summary(g, policy)})
        return human_data.game_fidelity(scores)

    assert fidelity(policies.fehr_schmidt_population(g)) > fidelity(policies.income_maximiser(g))
    assert fidelity(policies.fehr_schmidt_population(g)) == pytest.approx(0.425)


def test_one_population_per_game_score():
    for game, population in human_data.SCORED_POPULATION.items():
        figures = human_data.figures_for(game)
        assert any(f.scored for f in figures)
        assert all(f.population for f in figures)
        assert all(f.scored == (f.population == population) for f in figures)
    # The ultimatum score uses the US-student strategy-method curve only.
    scored = [f.key for f in human_data.figures_for("ultimatum") if f.scored]
    assert scored == ["acceptance_at_0", "acceptance_at_10pct", "acceptance_at_20pct",
                      "acceptance_at_50pct"]


def test_persona_figures_are_skipped_without_that_persona():
    g = subrational_gym.make_env("marshmallow")
    summary = behaviour_summary(g, policies.beta_delta(g, beta=0.6, temperature=0.3))
    scores = human_data.score_figures("marshmallow", {"child-4": summary, "other": summary})
    assert [s.figure.persona for s in scores] == ["child-4", "child-4"]


def test_overall_and_errors():
    assert human_data.overall_fidelity({"a": 1.0, "b": 0.0, "c": None}) == 0.5
    with pytest.raises(ParameterError, match="unknown game 'chess'"):
        human_data.figures_for("chess")


def test_interquartile_mean_and_bootstrap():
    from subrational_gym.aggregate import aggregate, interquartile_mean

    assert interquartile_mean([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert interquartile_mean([5.0]) == 5.0
    assert interquartile_mean([0, 0, 0, 0, 100, 100, 100, 100]) == 50.0
    agg = aggregate([0.1, 0.2, 0.3, 0.4, 10.0], seed=0)
    assert agg.ci_low <= agg.iqm <= agg.ci_high and agg.n_runs == 5
    assert agg.iqm < 1.0  # the outlier is trimmed
    assert aggregate([0.1, 0.2, 0.3], seed=1) == aggregate([0.1, 0.2, 0.3], seed=1)


def test_overall_over_seeds_reports_the_interval_and_the_worst_seed():
    by_seed = {0: {"a": 0.2, "b": 0.4}, 1: {"a": 0.6, "b": 0.8}, 2: {"a": 0.4, "b": 0.6},
               3: {"a": 0.9}}  # seed 3 missed game b: not comparable, left out
    stats = human_data.overall_over_seeds(by_seed, ["a", "b"])
    assert stats["n"] == 3 and stats["worst"] == pytest.approx(0.3)
    assert stats["iqm"] == pytest.approx(0.5)
    assert stats["ci_low"] <= stats["iqm"] <= stats["ci_high"]
    assert stats["ci_high"] > stats["ci_low"]
    assert human_data.overall_over_seeds({0: {"a": 0.5}}, ["a", "b"]) is None
