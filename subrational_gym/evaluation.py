"""Exact evaluation of any policy on a game's tabular model.

A policy enters as its table of action probabilities per state (see
:func:`policy_table`); everything here is then exact arithmetic over the
enumerated states, with no sampling noise: state occupancy, total-variation
distance between two policies, expected return, and each game's behavioural
summary (the curves the paper and the human studies report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import ParameterError
from subrational_gym.planning import _check_probs, layers, policy_evaluation
from subrational_gym.tabular import TabularModel


def policy_table(model: TabularModel, policy: Any) -> np.ndarray:
    """The ``(n_states, n_actions)`` action probabilities of ``policy`` on ``model``.

    Args:
        model: The game's tabular model.
        policy: A probability table of that shape, or any object with an
            ``action_distribution(observations)`` method (a
            :class:`~subrational_gym.policies.TabularPolicy`, an ``LLMExpert``, a
            wrapped learner).

    Raises:
        ParameterError: if ``policy`` is neither.
    """
    if isinstance(policy, np.ndarray):
        return _check_probs(model, policy)
    if hasattr(policy, "action_distribution"):
        return _check_probs(model, np.asarray(policy.action_distribution(model.observations)))
    raise ParameterError(
        f"cannot evaluate {policy!r}: expected a probability table of shape "
        f"({model.n_states}, {model.n_actions}) or an object with action_distribution(obs); "
        f"wrap stable-baselines3 and imitation policies with "
        f"subrational_gym.learners.as_tabular_policy"
    )


def state_occupancy(model: TabularModel, probs: np.ndarray) -> np.ndarray:
    """Probability that an episode visits each state (each state has one time step)."""
    probs = _check_probs(model, probs)
    occ = np.array(model.initial_distribution, dtype=np.float64)
    p = model.sparse_transitions
    for block in reversed(layers(model)):  # earliest time step first
        p.propagate(occ[block, None] * probs[block], block, occ)
    return occ


@dataclass(frozen=True)
class Distance:
    """Total-variation distance between two policies over the decision states.

    Attributes:
        mean: Mean per-state distance weighted by how often the reference visits each
            decision state.
        max: Largest per-state distance over the decision states the reference visits.
        per_state: ``(n_states,)`` distance in each state (0 where actions do not matter).
    """

    mean: float
    max: float
    per_state: np.ndarray


def total_variation(model: TabularModel, reference: Any, other: Any) -> Distance:
    """Total-variation distance of ``other`` from ``reference`` (for example an expert).

    The per-state distance is ``0.5 * sum_a |p(a|s) - q(a|s)|``. States where the
    choice of action changes nothing are ignored; the mean weighs each decision state
    by the reference policy's probability of visiting it.

    >>> import subrational_gym
    >>> from subrational_gym import policies
    >>> game = subrational_gym.make_env("Subrational/Ultimatum-v0")
    >>> model = game.tabular_model()
    >>> accept = np.tile([0.0, 1.0], (model.n_states, 1))
    >>> reject = np.tile([1.0, 0.0], (model.n_states, 1))
    >>> total_variation(model, accept, reject).mean, total_variation(model, accept, accept).mean
    (1.0, 0.0)
    """
    p, q = policy_table(model, reference), policy_table(model, other)
    per_state = 0.5 * np.abs(p - q).sum(axis=1)
    per_state[~model.decision_mask] = 0.0
    occ = state_occupancy(model, p) * model.decision_mask
    if occ.sum() <= 0:
        raise ParameterError(f"the reference policy never reaches a decision in {model.env_id}")
    weights = occ / occ.sum()
    visited = occ > 0
    return Distance(
        mean=float(weights @ per_state),
        max=float(per_state[visited].max()),
        per_state=per_state,
    )


def expected_return(model: TabularModel, policy: Any, gamma: float = 1.0) -> float:
    """Expected discounted return of ``policy`` from the env's default start distribution."""
    probs = policy_table(model, policy)
    return float(model.initial_distribution @ policy_evaluation(model, probs, gamma).v)


def behaviour_summary(game: SubrationalEnv, policy: Any) -> dict[str, Any]:
    """The game's behavioural curve for ``policy``, as JSON-ready numbers.

    - ultimatum: ``acceptance`` probability by ``offer`` (and ``offer_share``).
    - marshmallow: probability of having eaten by each minute, of waiting the full
      time, of giving in half-way (after waiting at least one minute), and the expected
      minutes waited.
    - double_or_nothing: probability of gambling in each round (given the round is
      reached), of reaching it, and the expected winnings taken home; in the odds
      variant the per-round figures pool the probabilities (weighted by how often each
      round is reached at each), and ``win_probabilities``,
      ``gamble_probability_by_odds`` and ``reach_probability_by_odds`` (keyed by the
      probability, e.g. ``"0.3"``) give them at each win probability.
    - procrastination: distribution of the day writing starts and the day it finishes
      (``None`` for never), their means over students who do, and the probability of
      committing in the self-imposed-deadline variant; ``expected_start_day`` and
      ``expected_finish_day`` average over every student, counting one who never starts
      (finishes) as starting (finishing) the day after the deadline.

    Raises:
        ParameterError: for an env that is not one of the four games.
    """
    model = game.tabular_model()
    probs = policy_table(model, policy)
    occ = state_occupancy(model, probs)
    meanings = [game.observation_meaning(o) for o in model.observations]
    summarise = _SUMMARIES.get(game.game)
    if summarise is None:
        raise ParameterError(f"no behavioural summary for game {game.game!r}")
    return summarise(game, model, probs, occ, meanings)


def _ultimatum(game: Any, model: TabularModel, probs: np.ndarray, occ: np.ndarray,
               meanings: list[Any]) -> dict[str, Any]:
    offers, acceptance = [], []
    for s, m in enumerate(meanings):
        if m.t == 0:
            offers.append(m.offer)
            acceptance.append(float(probs[s, 1]))
    order = np.argsort(offers)
    offers = [int(offers[i]) for i in order]
    return {
        "offer": offers,
        "offer_share": [o / game.pie for o in offers],
        "acceptance": [acceptance[i] for i in order],
    }


def _marshmallow(game: Any, model: TabularModel, probs: np.ndarray, occ: np.ndarray,
                 meanings: list[Any]) -> dict[str, Any]:
    w = game.wait_minutes
    waiting = np.zeros(w + 1)
    eat_at = np.zeros(w)
    for s, m in enumerate(meanings):
        if m.status == "waiting":
            waiting[m.t] = occ[s]
            eat_at[m.t] = occ[s] * probs[s, 1]
    eaten_by = np.cumsum(eat_at)
    waited_minutes = float(np.arange(w) @ eat_at + w * (1.0 - eaten_by[-1]))
    return {
        "minute": list(range(1, w + 1)),
        "eaten_by_minute": eaten_by.tolist(),
        "eat_probability_at_minute": eat_at.tolist(),
        "waited_full": float(1.0 - eaten_by[-1]),
        "gave_in_midway": float(eat_at[1:].sum()),
        "ate_at_once": float(eat_at[0]),
        "expected_minutes_waited": waited_minutes,
    }


def _double_or_nothing(game: Any, model: TabularModel, probs: np.ndarray, occ: np.ndarray,
                       meanings: list[Any]) -> dict[str, Any]:
    r = game.max_rounds
    odds = getattr(game, "win_probabilities", None)
    by_odds: dict[str, Any] = {}
    if odds is None:
        reach = np.zeros(r)
        gamble = np.zeros(r)
        for s, m in enumerate(meanings):
            if m.status == "playing":
                reach[m.t] = occ[s]
                gamble[m.t] = probs[s, 1]
    else:
        index = {p: i for i, p in enumerate(odds)}
        reach_at = np.zeros((len(odds), r))
        gamble_at = np.zeros((len(odds), r))
        for s, m in enumerate(meanings):
            if m.status == "playing":
                reach_at[index[m.win_probability], m.t] = occ[s]
                gamble_at[index[m.win_probability], m.t] = probs[s, 1]
        reach = reach_at.sum(axis=0)
        # Pooled over the probabilities as they are met; a round never reached averages
        # them equally.
        gamble = np.where(reach > 0, (reach_at * gamble_at).sum(axis=0)
                          / np.where(reach > 0, reach, 1.0), gamble_at.mean(axis=0))
        by_odds = {
            "win_probabilities": list(odds),
            "gamble_probability_by_odds": {f"{p:g}": gamble_at[i].tolist()
                                           for i, p in enumerate(odds)},
            "reach_probability_by_odds": {f"{p:g}": reach_at[i].tolist()
                                          for i, p in enumerate(odds)},
        }
    winnings: dict[float, float] = {}
    for s, m in enumerate(meanings):
        if m.t == model.horizon:
            key = m.winnings if m.status == "cashed_out" else 0.0
            winnings[key] = winnings.get(key, 0.0) + float(occ[s])
    stop_round = [float(reach[t] * (1 - gamble[t])) for t in range(r)]
    return {
        "round": list(range(1, r + 1)),
        "gamble_probability": gamble.tolist(),
        "reach_probability": reach.tolist(),
        "stop_probability_by_round": stop_round,
        # One gamble per round reached and gambled in.
        "expected_rounds_gambled": float(reach @ gamble),
        "expected_winnings": float(sum(k * v for k, v in winnings.items())),
        "winnings_distribution": {f"{k:g}": v for k, v in sorted(winnings.items())},
        **by_odds,
    }


def _procrastination(game: Any, model: TabularModel, probs: np.ndarray, occ: np.ndarray,
                     meanings: list[Any]) -> dict[str, Any]:
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


_SUMMARIES = {
    "ultimatum": _ultimatum,
    "marshmallow": _marshmallow,
    "double_or_nothing": _double_or_nothing,
    "procrastination": _procrastination,
}
