"""The four findings as hypotheses judged by structural fits: the known-answer table."""

from __future__ import annotations

import pytest

from subrational_gym import hypotheses


@pytest.mark.parametrize("game", list(hypotheses.HYPOTHESES))
def test_known_answers(game):
    """Uniform, persona-blind and noisy-exponential controls fail; theory personas pass."""
    rows = hypotheses.known_answers(games=[game])
    assert [r["control"] for r in rows] == list(hypotheses.EXPECTED)
    for row in rows:
        assert row["verdict"] in hypotheses.VERDICTS
        assert row["as_expected"], row
        assert row["reasons"] and all(isinstance(r, str) and r for r in row["reasons"])
        lo, hi = row["interval"]
        assert lo <= hi


def test_rank_correlation_needs_an_ordering_that_survives_the_intervals():
    rho, (lo, hi) = hypotheses.rank_correlation([1, 2, 3], [0.5, 0.5, 0.5],
                                                [(0.4, 0.6)] * 3)
    assert rho == 0.0 and lo < 0 < hi
    # Rising point estimates whose intervals span the whole range establish nothing.
    rho, (lo, hi) = hypotheses.rank_correlation([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4],
                                                [(0.0, 1.0)] * 4)
    assert rho == 1.0 and lo < 0
    rho, (lo, hi) = hypotheses.rank_correlation([1, 2, 3, 4], [0.1, 0.2, 0.3, 0.4],
                                                [(0.05, 0.15), (0.15, 0.25), (0.25, 0.35),
                                                 (0.35, 0.45)])
    assert lo == hi == 1.0


def test_unknown_game():
    with pytest.raises(ValueError, match="unknown game 'chess'"):
        hypotheses.known_answers(games=["chess"])


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
                                  human=human)
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
    uniform = hypotheses.uniform_policy("Subrational/Marshmallow-v0")
    entry = model_card.card_entry(ActionCounts.sample(uniform, 300, seed=0), variant="plain",
                                  persona="child-4")
    assert entry.best_family == "exponential" and entry.ci["gamma"] == (0.0, 1.0)
    assert any("do not bound gamma" in n for n in entry.notes)
