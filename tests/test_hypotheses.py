"""The four findings as hypotheses judged by structural fits: the known-answer table."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import partial

import pytest

from subrational_gym import controls, hypotheses
from subrational_gym.inference import ActionCounts
from subrational_gym.studies import STUDIES
from subrational_gym.verdicts import Effect


def _check_table(rows, game):
    assert [r["control"] for r in rows] == list(controls.EXPECTED[game])
    verdicts = {r["verdict"] for r in rows}
    assert {hypotheses.REPRODUCED, hypotheses.NOT_REPRODUCED} <= verdicts
    for row in rows:
        assert row["as_expected"], row
        assert row["bottom_line"].startswith(row["verdict"])
        lo, hi = row["interval"]
        assert lo <= hi


# The ultimatum's table on seed 0 is checked through the command a user runs (below).
@pytest.mark.parametrize("game", [g for g in hypotheses.HYPOTHESES if g != "ultimatum"])
def test_known_answers(game):
    """Every control gets its exact verdict: human-size effects (inside and outside the
    fitted families) reproduced; persona-blind noise, reversed and below-SESOI effects,
    constants and uniform choice not reproduced (or, for a structural effect random
    choices do not identify, inconclusive), at the demo budget of 200 episodes (or the
    study's planned number when more)."""
    _check_table(controls.known_answers(200, seed=0, games=[game]), game)


#: Misses of seed 7, stated in docs/findings.md with the rates over 20 other seeds: at
#: double or nothing's planned 297 episodes the human-size gamblers (loss aversion 3.0 and
#: 1.3, noisy choices) show the gamble gap, but the joint fit does not order their loss
#: aversion (difference +0.91 [-0.06, +2.91]): the finding's second condition lacks power.
SEED_7_MISSES = {"double_or_nothing": [("theory personas, human-size effect", "inconclusive")]}


@pytest.mark.parametrize("game", list(hypotheses.HYPOTHESES))
def test_known_answers_hold_on_other_seeds(game):
    """The same table on a seed the controls were not written against (seed 7): every
    control as due but the misses stated (a changed miss fails too)."""
    rows = controls.known_answers(200, seed=7, games=[game])
    misses = [(r["control"], r["verdict"]) for r in rows if not r["as_expected"]]
    assert misses == SEED_7_MISSES.get(game, [])


def test_the_rule_is_three_way():
    e = partial(Effect, name="d", level=0.9, p_value=0.5, method="m", n=10, sesoi=0.2)
    assert e(value=0.0, interval=(-0.1, 0.1)).verdict() == hypotheses.NOT_REPRODUCED
    assert e(value=-0.5, interval=(-0.6, -0.4)).verdict() == hypotheses.NOT_REPRODUCED
    assert e(value=0.1, interval=(0.05, 0.15)).verdict() == hypotheses.NOT_REPRODUCED
    assert e(value=0.4, interval=(0.3, 0.5)).verdict() == hypotheses.REPRODUCED
    assert e(value=0.4, interval=(0.3, 0.5)).verdict(False) == hypotheses.INCONCLUSIVE
    assert e(value=0.1, interval=(-0.1, 0.3)).verdict() == hypotheses.INCONCLUSIVE


def test_a_verdict_needs_sampled_episodes():
    from subrational_gym import policies

    u = "Subrational/Ultimatum-v0"
    expected = ActionCounts.from_policy(policies.income_maximiser(u, temperature=0.5), 333)
    with pytest.raises(ValueError, match="whole numbers.*ActionCounts.sample"):
        hypotheses.ultimatum(expected, expected)


def test_unknown_game():
    with pytest.raises(ValueError, match="unknown game 'chess'"):
        controls.known_answers(games=["chess"])


def test_every_finding_states_its_sesoi_with_a_source():
    from subrational_gym.human_data import figures_for

    for game, sesoi in hypotheses.SESOI.items():
        assert sesoi.value > 0 and sesoi.units
        assert f"{sesoi.value:g}" in hypotheses.CRITERIA[game]
        # The justification cites (by first author) a human figure the project scores.
        authors = {f.source.split()[0].rstrip(",;") for f in figures_for(game)}
        assert any(a in sesoi.justification for a in authors), (game, authors)


def test_model_card_names_the_best_family_with_intervals():
    from subrational_gym import model_card, policies
    from subrational_gym.inference import ActionCounts

    student = policies.beta_delta("Subrational/Procrastination-v0", beta=0.6,
                                  sophisticated=True, temperature=0.5,
                                  env_kwargs={"self_imposed_deadline": True})
    counts = ActionCounts.sample(student, 500, seed=0)
    human = [{"quantity": "students who procrastinate", "human": [0.8, 0.95], "value": 0.5,
              "score": 0.4}]
    entry = model_card.card_entry(counts, variant="self_imposed_deadline", persona="gpa-2.0",
                                  human=human, present_bias=False)
    assert entry.present_bias == {}
    assert entry.best_family == "beta_delta_sophisticated" and entry.separated
    lo, hi = entry.ci["beta"]
    assert lo < 0.6 < hi < 1.0
    assert entry.delta_bic["beta_delta_sophisticated"] == 0.0
    text = model_card.to_markdown([entry], model="m", endpoint="e")
    assert "| self_imposed_deadline | gpa-2.0 | 4000 | beta_delta_sophisticated |" in text
    assert "students who procrastinate: 0.50 vs 0.8-0.95 (score 0.40)" in text


def test_model_card_says_what_the_data_cannot_tell_apart():
    """Negative cases of the card: families not separated, a parameter not bounded."""
    from subrational_gym import model_card, policies
    from subrational_gym.inference import ActionCounts

    gambler = policies.prospect_theory_gambler("Subrational/DoubleOrNothing-v0",
                                               temperature=2.0)
    entry = model_card.card_entry(ActionCounts.sample(gambler, 100, seed=0), variant="plain",
                                  persona="cautious")
    assert not entry.separated and entry.best_family.startswith("prospect_theory")
    assert any("not separated" in n for n in entry.notes)
    text = model_card.to_markdown([entry], model="m", endpoint="e")
    assert "| no |" in text and "What the data cannot tell apart" in text
    uniform = controls.uniform_policy("Subrational/Marshmallow-v0")
    entry = model_card.card_entry(ActionCounts.sample(uniform, 300, seed=0), variant="plain",
                                  persona="child-4")
    assert entry.best_family == "exponential" and entry.ci["gamma"] == (0.0, 1.0)
    assert any("do not bound gamma" in n for n in entry.notes)
    # Random choices show no present bias by the calibrated test; no estimate of gamma.
    assert entry.present_bias["shown"] is False and entry.present_bias["p_value"] > 0.05
    assert "gamma not identified [0, 1]" in model_card.to_markdown([entry], model="m",
                                                                   endpoint="e")


def test_model_card_shows_present_bias_by_the_calibrated_test():
    from subrational_gym import model_card, policies
    from subrational_gym.inference import ActionCounts

    # Present bias shows only in the minutes few noisy children reach: 1000 episodes.
    child = policies.beta_delta("Subrational/Marshmallow-v0", beta=0.6, temperature=0.3)
    entry = model_card.card_entry(ActionCounts.sample(child, 1000, seed=0), variant="plain",
                                  persona="child-3")
    assert entry.present_bias["shown"] and entry.present_bias["p_value"] <= 0.05
    assert "parametric bootstrap" in entry.present_bias["method"]
    assert "| shown (p = " in model_card.to_markdown([entry], model="m", endpoint="e")


def test_behaviour_effect_of_identical_or_missing_episodes():
    from subrational_gym.verdicts import behaviour_effect

    def alike(n):
        return behaviour_effect({"a": ([0, 1], [0, n]), "b": ([0, 1], [0, n])},
                                {"a": 0, "b": 1}, name="d", sesoi=0.1)

    # Every episode alike: no difference, but 20 episodes cannot show it within 0.1.
    assert alike(20).value == 0 and alike(20).interval[1] > 0.1
    assert alike(20).verdict() == hypotheses.INCONCLUSIVE and alike(20).n == 40
    assert alike(200).verdict() == hypotheses.NOT_REPRODUCED
    apart = behaviour_effect({"a": ([0, 1], [20, 0]), "b": ([0, 1], [0, 20])}, {"a": 0, "b": 1},
                             name="d", sesoi=0.1)
    assert 0.5 < apart.interval[0] < apart.value < 1.0
    assert apart.verdict() == hypotheses.REPRODUCED
    with pytest.raises(ValueError, match="outcome_range"):
        behaviour_effect({"a": ([0, 2], [1, 1]), "b": ([0, 1], [1, 1])}, {"a": 0, "b": 1},
                         name="d", sesoi=0.1)
    none = behaviour_effect({"a": ([0, 1], [0, 0]), "b": ([0, 1], [3, 4])}, {"a": 0, "b": 1},
                            name="d", sesoi=0.1)
    assert not none.identified and none.verdict() == hypotheses.INCONCLUSIVE
    assert "not identified" in none.describe()


def test_the_known_answers_command_as_a_user_runs_it(tmp_path):
    out = tmp_path / "known.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.known_answers", "--games",
                           "ultimatum", "--out", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "8 of 8 as expected" in done.stdout
    written = json.loads(out.read_text())
    rows = written["rows"]
    _check_table(rows, "ultimatum")  # seed 0, 200 episodes: the table test_known_answers checks
    # The study's power analysis plans more than 200 episodes per persona.
    planned = STUDIES["ultimatum"].min_episodes
    assert written["planned"] == {"ultimatum": planned} and planned > 200
    assert {r["episodes"] for r in rows} == {planned, planned * controls.SMALL_EFFECT_EPISODES}
    text = out.with_suffix(".md").read_text()
    assert f"the study's planned number where more: ultimatum {planned}" in text
    assert "Printed by `python -m benchmarks.known_answers --games ultimatum" in text
    assert "| ultimatum | only the $0 tie broken | not reproduced | not reproduced | yes |" in text


def _students(betas, seed):
    from subrational_gym import policies
    from subrational_gym.inference import ActionCounts

    env = "Subrational/Procrastination-v0"
    return {gpa: ActionCounts.sample(policies.beta_delta(
        env, beta=beta, sophisticated=True, temperature=0.5, env_kwargs=controls.COMMIT),
        200, seed=10 * seed + i)
        for i, (gpa, beta) in enumerate(zip((2.0, 3.0, 4.0), betas, strict=True))}


@pytest.mark.parametrize("seed", [0, 1])
def test_no_false_no_when_a_student_is_time_consistent(seed):
    # beta 0.8/0.9/1.0: a slope of exactly the SESOI with the top student at the bound
    # beta = 1. The profile interval alone ended below the SESOI on seed 0 (a boundary
    # problem); the capped end is widened, so "not reproduced" is not claimed.
    v = hypotheses.procrastination(_students((0.8, 0.9, 1.0), seed), seed=seed)
    assert v.numbers["joint"]["capped"][1]
    assert v.verdict != hypotheses.NOT_REPRODUCED, v.bottom_line
    assert v.interval[1] >= hypotheses.SESOI["procrastination"].value


def test_time_consistent_students_alike_are_not_reproduced():
    v = hypotheses.procrastination(_students((1.0, 1.0, 1.0), 0), seed=0)
    assert v.verdict == hypotheses.NOT_REPRODUCED, v.bottom_line


def test_the_unplanned_command_draws_exactly_the_budget(tmp_path):
    """``--unplanned`` judges every control on exactly ``--episodes`` per persona (the
    below-SESOI control on its multiple), even where the study plans more, and says so."""
    import subprocess
    import sys

    out = tmp_path / "unplanned.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.known_answers", "--games",
                           "ultimatum", "--unplanned", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert written["planned"] == {}
    assert {r["episodes"] for r in written["rows"]} == {200, 200 * controls.SMALL_EFFECT_EPISODES}
    assert "planned number" not in out.with_suffix(".md").read_text().splitlines()[0]
