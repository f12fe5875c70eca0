from __future__ import annotations

import numpy as np
import pytest

import subrational_gym
from subrational_gym import human_data, policies
from subrational_gym.errors import ParameterError
from subrational_gym.evaluation import behaviour_summary
from subrational_gym.studies import STUDIES

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)

GAMES = list(STUDIES)
CONSTANTS = np.linspace(0.0, 1.0, 41)


def _everyone(game, policy):
    """The same policy for the population and every persona (persona-blind)."""
    return {None: policy, **{p: policy for p in STUDIES[game].persona_names}}


def _table(game, rule):
    """A policy table of the plain game: ``rule(meaning) -> P(first action)``."""
    env = subrational_gym.make_env(game)
    model = env.tabular_model()
    p = np.array([rule(env.observation_meaning(o)) for o in model.observations])
    return np.stack([p, 1.0 - p], axis=1)


# ------------------------------------------------------------------ the figures
def test_every_figure_has_source_extractor_and_verify_mark():
    for fig in human_data.HUMAN_FIGURES:
        assert fig.source and fig.low <= fig.high and fig.population
        extractors = human_data.ACROSS_EXTRACTORS if fig.across else human_data.EXTRACTORS
        assert fig.key in extractors
        assert fig.verify == ("(verify" in fig.source)
        assert fig.persona is None or fig.persona in STUDIES[fig.game].persona_names
        assert all(p in STUDIES[fig.game].persona_names for p in fig.across)


def test_scored_populations_and_matched_framing():
    for game in GAMES:
        figures = human_data.figures_for(game)
        assert any(f.scored for f in figures)
        assert all(f.scored == (f.population in human_data.SCORED_POPULATIONS[game])
                   for f in figures)
    scored = [f.key for f in human_data.figures_for("ultimatum") if f.scored]
    assert scored == ["acceptance_at_0", "acceptance_at_10pct", "acceptance_at_20pct",
                      "acceptance_at_50pct"]
    # Double or nothing is scored on the house-money figure (the prompt's framing); the
    # no-prior-gain 43% is context.
    gamble = {f.low: f.scored for f in human_data.figures_for("double_or_nothing")}
    assert gamble == {0.70: True, 0.43: False}
    # Every marshmallow figure is about one age.
    assert all(f.persona in ("child-3", "child-4")
               for f in human_data.figures_for("marshmallow"))


def test_figure_errors_name_the_value_and_the_fix():
    with pytest.raises(ParameterError, match=r"outside its domain"):
        human_data.HumanFigure("ultimatum", "q", 0.5, 1.5, "s", "acceptance_at_0")
    with pytest.raises(ParameterError, match="unknown game 'chess'"):
        human_data.figures_for("chess")


# -------------------------------------------------------------- the skill score
@pytest.mark.parametrize("game", GAMES)
def test_no_constant_policy_scores_above_zero(game):
    for p in CONSTANTS:
        score = human_data.game_score(game, _everyone(game, human_data.constant_table(game, p)))
        assert score.skill is None or score.skill <= 1e-12, (game, p, score)
        assert score.distance >= score.best_constant_distance - 1e-12
    uniform = human_data.game_score(game, {None: human_data.constant_table(game, 0.5)})
    assert uniform.skill is None or uniform.skill <= 0.0
    assert uniform.uniform_distance == pytest.approx(uniform.distance)


def test_informative_games():
    informative = {g: human_data.game_score(g, {None: human_data.constant_table(g, 0.5)})
                   .informative for g in GAMES}
    # One house-money rate: a constant gambling 70% matches it exactly.
    assert informative == {"ultimatum": True, "marshmallow": True,
                           "double_or_nothing": False, "procrastination": True}
    best = human_data.best_constant("double_or_nothing")
    assert best.p == pytest.approx(0.3) and best.first_action == "stop"
    assert best.distance < human_data.INFORMATIVE_TOLERANCE


def test_fehr_schmidt_population_beats_every_constant_on_the_ultimatum():
    env = subrational_gym.make_env("ultimatum")
    fs = human_data.game_score("ultimatum", {None: policies.fehr_schmidt_population(env)})
    constants = [human_data.game_score("ultimatum", {None: human_data.constant_table(
        "ultimatum", p)}).skill for p in CONSTANTS]
    assert fs.skill > 0.4 and fs.skill > max(constants) + 0.4
    assert fs.best_constant_p == pytest.approx(0.43)  # mean acceptance 0.57 over the figures


def test_a_policy_that_hits_the_figures_scores_one():
    # Acceptance 0, 0.58, 0.70 and 1 at the offers of 0, 10, 20 and 50% of the pie.
    target = {0: 0.0, 1: 0.58, 2: 0.70, 5: 1.0}
    table = _table("ultimatum", lambda m: 1.0 - target.get(m.offer, 0.5))
    score = human_data.game_score("ultimatum", {None: table})
    assert score.skill == pytest.approx(1.0) and score.distance == pytest.approx(0.0)
    # One age figure hit by a policy built for it: 3-year-olds eat at once, 4-year-olds
    # eat at once half the time and otherwise wait the full time (50% wait: inside 28-70%).
    figs = [f for f in human_data.figures_for("marshmallow")
            if f.key in ("ate_at_once", "waited_full")]
    three = _table("marshmallow", lambda m: 0.0)
    four = _table("marshmallow", lambda m: 0.5 if m.t == 0 else 1.0)
    score = human_data.game_score("marshmallow", {"child-3": three, "child-4": four},
                                  figures=figs)
    assert score.informative and score.skill == pytest.approx(1.0)
    assert all(f.error == 0.0 for f in score.figures)


def test_age_figures_are_scored_on_their_age_only():
    env = subrational_gym.make_env("marshmallow")
    other_ages = human_data.game_score("marshmallow", {
        "child-2": policies.beta_delta(env, beta=0.5, temperature=0.3),
        "child-5": policies.beta_delta(env, beta=0.9, temperature=0.3)})
    assert other_ages.figures == () and other_ages.skill is None
    assert len(other_ages.missing) == len([f for f in human_data.figures_for("marshmallow")
                                           if f.scored])
    three, four = (policies.beta_delta(env, beta=b, temperature=0.3) for b in (0.5, 0.9))
    base = human_data.game_score("marshmallow", {"child-3": three, "child-4": four})
    assert {f.figure.persona: f.scored_on for f in base.figures} == {
        "child-3": "child-3", "child-4": "child-4"}
    changed = human_data.game_score("marshmallow", {"child-3": three, "child-4": four,
                                                    "child-6": human_data.constant_table(
                                                        "marshmallow", 0.0)})
    assert changed.skill == base.skill
    # Children who wait longer at 4 than at 3, as people do, beat every constant.
    assert base.skill > 0.0


def test_population_figures_pool_the_personas_or_take_the_stand_in():
    env = subrational_gym.make_env("ultimatum")
    fs, income = policies.fehr_schmidt_population(env), policies.income_maximiser(env)
    pooled = human_data.game_score("ultimatum", {"fairness": fs, "income": income})
    assert all(f.scored_on == "pooled: fairness, income" for f in pooled.figures)
    at_10 = [f for f in pooled.figures if f.figure.key == "acceptance_at_10pct"][0]
    assert at_10.value == pytest.approx((0.3 + 1.0) / 2)
    stand_in = human_data.game_score("ultimatum", {None: fs, "income": income})
    assert stand_in.skill == human_data.game_score("ultimatum", {None: fs}).skill
    # One contrasting persona alone is not the population: nothing to score.
    assert human_data.game_score("ultimatum", {"fairness": fs}).figures == ()


def test_a_gpa_gradient_is_what_a_constant_cannot_show():
    def p_play(gpa):  # weaker students play (put off writing) more
        return {2.0: 0.99, 3.0: 0.975, 4.0: 0.95}[gpa]

    graded = {f"gpa-{g:.1f}": human_data.constant_table("procrastination", p_play(g))
              for g in (2.0, 3.0, 4.0)}
    score = human_data.game_score("procrastination", graded)
    corr = [f for f in score.figures if f.figure.across][0]
    assert -0.25 < corr.value < -0.1 and score.skill == pytest.approx(1.0)


def test_score_summaries_equals_game_score():
    env = subrational_gym.make_env("marshmallow")
    pols = {"child-3": policies.beta_delta(env, beta=0.5, temperature=0.3),
            "child-4": policies.beta_delta(env, beta=0.9, temperature=0.3)}
    summaries = {k: behaviour_summary(env, v) for k, v in pols.items()}
    assert human_data.score_summaries("marshmallow", summaries) == human_data.game_score(
        "marshmallow", pols)
    with pytest.raises(ParameterError, match="no persona 'fairness'"):
        human_data.score_summaries("marshmallow", {"fairness": summaries["child-3"]})


def test_game_score_errors():
    with pytest.raises(ParameterError, match=r"no persona 'child-9'.*child-2"):
        human_data.game_score("marshmallow", {"child-9": human_data.constant_table(
            "marshmallow", 0.5)})
    with pytest.raises(ParameterError, match="unknown game 'chess'"):
        human_data.game_score("chess", {None: np.zeros((1, 2))})
    with pytest.raises(ParameterError, match="non-empty mapping"):
        human_data.game_score("ultimatum", {})
    with pytest.raises(ParameterError, match="build the policy on that env"):
        human_data.game_score("procrastination", {None: np.full((3, 2), 0.5)})
    with pytest.raises(ParameterError, match=r"p=1.5 must lie in \[0, 1\]"):
        human_data.constant_table("ultimatum", 1.5)


def test_score_record_is_json_ready():
    import json

    env = subrational_gym.make_env("ultimatum")
    score = human_data.game_score("ultimatum", {None: policies.fehr_schmidt_population(env)})
    data = json.loads(json.dumps(score.to_dict()))
    assert data["skill"] == pytest.approx(score.skill) and len(data["figures"]) == 4
    assert "skill" in str(score) and "best constant" in str(score)


def test_fidelity_baselines_table():
    from benchmarks import fidelity_baselines

    result = fidelity_baselines.baselines(["ultimatum", "double_or_nothing"])
    assert result["informative"] == {"ultimatum": True, "double_or_nothing": False}
    rows = {(game, label): skill for game, label, _, skill in result["rows"]}
    assert float(rows["ultimatum", "theory: Fehr-Schmidt population"]) > 0.4
    assert float(rows["ultimatum", "uniform random"]) <= 0.0
    assert rows["double_or_nothing", "uniform random"] == "not informative"


# ------------------------------------------------------------- legacy scale
def test_legacy_score_scale():
    fig = human_data.HumanFigure("ultimatum", "q", 0.4, 0.6, "s", "waited_full")
    # Chance (0.1) is 0.3 from the range: a policy inside it scores 1, one at chance 0.
    assert fig.score(0.5, 0.1) == 1.0 and fig.score(0.4, 0.1) == 1.0
    assert fig.score(0.25, 0.1) == pytest.approx(0.5)
    assert fig.score(0.1, 0.1) == 0.0 and fig.score(0.0, 0.1) == 0.0
    assert fig.score(None, 0.1) is None
    assert fig.score(0.5, 0.5) is None  # chance already matches: the figure cannot tell


@pytest.mark.parametrize("game", GAMES)
def test_legacy_uniform_random_scores_zero(game):
    g = subrational_gym.make_env(game)
    model = g.tabular_model()
    summary = behaviour_summary(g, np.full((model.n_states, model.n_actions), 0.5))
    everyone = {None: summary, **{p: summary for p in STUDIES[game].persona_names}}
    assert human_data.game_fidelity(human_data.score_figures(game, everyone)) == 0.0


def test_legacy_persona_figures_are_skipped_without_that_persona():
    g = subrational_gym.make_env("marshmallow")
    summary = behaviour_summary(g, policies.beta_delta(g, beta=0.6, temperature=0.3))
    scores = human_data.score_figures("marshmallow", {"child-4": summary, "other": summary})
    assert {s.figure.persona for s in scores} == {"child-4"} and len(scores) == 4


def test_overall_fidelity():
    assert human_data.overall_fidelity({"a": 1.0, "b": 0.0, "c": None}) == 0.5


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
