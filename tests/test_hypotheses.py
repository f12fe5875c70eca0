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
