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

    Each game's study computes it (:attr:`~subrational_gym.studies.Study.summary_fn`; the
    keys of each game are listed there): choice probabilities along the game's course,
    how often each point is reached, and expected outcomes.

    Raises:
        ParameterError: for an env whose game has no registered study.
    """
    model = game.tabular_model()
    probs = policy_table(model, policy)
    occ = state_occupancy(model, probs)
    meanings = [game.observation_meaning(o) for o in model.observations]
    from subrational_gym.studies import STUDIES

    study = STUDIES.get(game.game)
    if study is None:
        raise ParameterError(f"no behavioural summary for game {game.game!r}; expected one "
                             f"of {list(STUDIES)} (register the game's study)")
    return study.summarise(game, model, probs, occ, meanings)
