"""Exact dynamic programming on a :class:`~subrational_gym.tabular.TabularModel`.

States are sorted by time step and every transition moves forward in time, so one
backward sweep over the state indices solves a finite-horizon problem exactly. The
sweeps use the model's sparse transitions: time and memory are linear in states x
actions x successors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from subrational_gym._validation import check_real
from subrational_gym.tabular import TabularModel


@dataclass(frozen=True)
class Values:
    """Action values and state values of a policy or an optimum.

    Attributes:
        q: ``(n_states, n_actions)`` value of each action, the quantity the agent compares.
        v: ``(n_states,)`` value of each state under the resulting behaviour.
    """

    q: np.ndarray
    v: np.ndarray


def softmax_choice(utilities: np.ndarray, temperature: float) -> np.ndarray:
    """Logit choice rule: ``P(a) ∝ exp(u_a / temperature)`` per row.

    At ``temperature == 0`` the rule is deterministic, with ties (within 1e-9) split
    equally, so an agent indifferent between actions picks each half of the time.

    >>> softmax_choice(np.array([[1.0, 1.0], [0.0, 2.0]]), 0.0)
    array([[0.5, 0.5],
           [0. , 1. ]])
    """
    temperature = check_real("temperature", temperature, low=0.0)
    u = np.atleast_2d(np.asarray(utilities, dtype=np.float64))
    if temperature == 0.0:
        best = u.max(axis=1, keepdims=True)
        chosen = np.isclose(u, best, rtol=0.0, atol=1e-9).astype(np.float64)
        return chosen / chosen.sum(axis=1, keepdims=True)
    z = (u - u.max(axis=1, keepdims=True)) / temperature
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def value_iteration(model: TabularModel, gamma: float = 1.0) -> Values:
    """The exact exponential-discount optimum for discount ``gamma`` in [0, 1].

    Returns:
        :class:`Values` with the optimal action values ``q`` and state values ``v``.
    """
    return _backward_sweep(model, gamma, lambda block, q: q.max(axis=1))


def policy_evaluation(model: TabularModel, probs: np.ndarray, gamma: float = 1.0) -> Values:
    """Action and state values of the stationary policy ``probs`` with discount ``gamma``."""
    probs = _check_probs(model, probs)
    return _backward_sweep(model, gamma, lambda block, q: (probs[block] * q).sum(axis=1))


def layers(model: TabularModel) -> list[slice]:
    """Index ranges of the non-terminal states of each time step, latest step first.

    States are sorted by time step and every transition moves forward in time, so the
    states of one step depend only on later steps: a backward sweep can treat each
    step as one vectorised block.
    """
    cached = _LAYERS.get(model)
    if cached is not None:
        return cached
    steps = np.arange(model.horizon - 1, -1, -1)
    lo = np.searchsorted(model.times, steps, "left").tolist()
    hi = np.searchsorted(model.times, steps, "right").tolist()
    out = [slice(a, b) for a, b in zip(lo, hi, strict=True) if b > a]
    _LAYERS[model] = out
    return out


_LAYERS: weakref.WeakKeyDictionary[TabularModel, list[slice]] = weakref.WeakKeyDictionary()


def _backward_sweep(
    model: TabularModel, gamma: float, state_value: Callable[[slice, np.ndarray], np.ndarray]
) -> Values:
    """One backward pass by time step: ``q = r + gamma * P v``, then ``v = state_value(q)``."""
    gamma = check_real("gamma", gamma, low=0.0, high=1.0)
    p, r = model.sparse_transitions, model.reward_matrix
    v = np.zeros(model.n_states)
    q = np.zeros((model.n_states, model.n_actions))
    for block in layers(model):
        q[block] = r[block] + gamma * p.expected(v, block)
        v[block] = state_value(block, q[block])
    return Values(q=q, v=v)


def quasi_hyperbolic(
    model: TabularModel,
    *,
    beta: float,
    delta: float,
    sophisticated: bool,
    temperature: float = 0.0,
) -> tuple[Values, np.ndarray]:
    """Choices of a quasi-hyperbolic (beta-delta) discounter (Laibson 1997).

    Today's self weighs a reward ``k >= 1`` steps ahead by ``beta * delta**k``. A naive
    agent believes its future selves will follow the exponential ``delta`` optimum; a
    sophisticated agent knows they are present-biased too and plans by backward
    induction over their actual choices (O'Donoghue and Rabin 1999).

    Returns:
        The values today's self compares (``q``), the long-run (``delta``) value of the
        resulting behaviour (``v``), and the choice probabilities ``(n_states, n_actions)``.
    """
    beta = check_real("beta", beta, low=0.0, high=1.0)
    delta = check_real("delta", delta, low=0.0, high=1.0)
    p, r = model.sparse_transitions, model.reward_matrix
    n = model.n_states
    q = np.zeros((n, model.n_actions))
    probs = np.full((n, model.n_actions), 1.0 / model.n_actions)
    w = np.zeros(n)
    believed = value_iteration(model, delta).v if not sophisticated else None
    for block in layers(model):
        future = believed if believed is not None else w
        q[block] = r[block] + beta * delta * p.expected(future, block)
        probs[block] = softmax_choice(q[block], temperature)
        w[block] = (probs[block] * (r[block] + delta * p.expected(w, block))).sum(axis=1)
    return Values(q=q, v=w), probs


def _check_probs(model: TabularModel, probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (model.n_states, model.n_actions):
        raise ValueError(
            f"a policy table for {model.env_id} has shape ({model.n_states}, "
            f"{model.n_actions}), got {probs.shape}; build it with policy_table()"
        )
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6) or (probs < -1e-12).any():
        raise ValueError("every row of a policy table must be a probability distribution")
    return probs
