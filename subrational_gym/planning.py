"""Exact dynamic programming on a :class:`~subrational_gym.tabular.TabularModel`.

States are sorted by time step and every transition moves forward in time, so one
backward sweep over the state indices solves a finite-horizon problem exactly. The
sweeps use the model's sparse transitions: time and memory are linear in states x
actions x successors.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

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
    q, v = _backward_sweep(model, _reals("gamma", [gamma], 0.0, 1.0),
                           lambda block, q: q.max(axis=-1))
    return Values(q=q[0], v=v[0])


def value_iteration_many(model: TabularModel, gammas: Sequence[float]) -> Values:
    """:func:`value_iteration` at several discounts in one vectorised sweep.

    A likelihood's finite-difference gradient needs the planner at a handful of nearby
    parameters; one sweep over a batch costs little more than one over a single value.

    Returns:
        :class:`Values` with ``q`` of shape ``(len(gammas), n_states, n_actions)`` and
        ``v`` of shape ``(len(gammas), n_states)``.
    """
    q, v = _backward_sweep(model, _reals("gamma", gammas, 0.0, 1.0),
                           lambda block, q: q.max(axis=-1))
    return Values(q=q, v=v)


def policy_evaluation(model: TabularModel, probs: np.ndarray, gamma: float = 1.0) -> Values:
    """Action and state values of the stationary policy ``probs`` with discount ``gamma``."""
    probs = _check_probs(model, probs)
    q, v = _backward_sweep(model, _reals("gamma", [gamma], 0.0, 1.0),
                           lambda block, q: (probs[block] * q).sum(axis=-1))
    return Values(q=q[0], v=v[0])


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


def _reals(name: str, values: Sequence[float], low: float, high: float | None
           ) -> np.ndarray:
    """``values`` checked one by one (:func:`check_real`), as a float array."""
    return np.array([check_real(name, x, low=low, high=high) for x in values], dtype=float)


def _backward_sweep(
    model: TabularModel, gammas: np.ndarray,
    state_value: Callable[[slice, np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """One backward pass by time step for each discount of the batch ``gammas``.

    ``q = r + gamma * P v``, then ``v = state_value(q)``; returns ``q`` of shape
    ``(batch, n_states, n_actions)`` and ``v`` of shape ``(batch, n_states)``.
    """
    batch = len(gammas)
    v = np.zeros((batch, model.n_states))
    q = np.zeros((batch, model.n_states, model.n_actions))
    g = gammas[:, None, None]
    for step in _steps(model):
        q[:, step.block] = step.reward + g * step.expected(v)
        v[:, step.block] = state_value(step.block, q[:, step.block])
    return q, v


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
    values, probs = quasi_hyperbolic_many(model, betas=[beta], deltas=[delta],
                                          sophisticated=sophisticated,
                                          temperatures=[temperature])
    return Values(q=values.q[0], v=values.v[0]), probs[0]


def quasi_hyperbolic_many(
    model: TabularModel,
    *,
    betas: Sequence[float],
    deltas: Sequence[float],
    sophisticated: bool,
    temperatures: Sequence[float],
) -> tuple[Values, np.ndarray]:
    """:func:`quasi_hyperbolic` at a batch of parameters in one vectorised sweep.

    Returns:
        :class:`Values` with ``q`` of shape ``(batch, n_states, n_actions)`` and ``v`` of
        shape ``(batch, n_states)``, and the choice probabilities ``(batch, n_states,
        n_actions)``.
    """
    beta = _reals("beta", betas, 0.0, 1.0)
    delta = _reals("delta", deltas, 0.0, 1.0)
    temperature = _reals("temperature", temperatures, 0.0, None)
    if not len(beta) == len(delta) == len(temperature):
        raise ValueError(f"betas, deltas and temperatures must be as long as each other, "
                         f"got {len(beta)}, {len(delta)} and {len(temperature)}")
    batch, n = len(beta), model.n_states
    q = np.zeros((batch, n, model.n_actions))
    probs = np.full((batch, n, model.n_actions), 1.0 / model.n_actions)
    w = np.zeros((batch, n))
    believed = None if sophisticated else _backward_sweep(
        model, delta, lambda block, q: q.max(axis=-1))[1]
    present, later = (beta * delta)[:, None, None], delta[:, None, None]
    t, noisy = temperature[:, None, None], bool(np.all(temperature > 0.0))
    for step in _steps(model):
        ahead = step.expected(w)  # the long-run value of the selves to come
        seen = ahead if believed is None else step.expected(believed)
        q[:, step.block] = step.reward + present * seen
        probs[:, step.block] = choice = _softmax(q[:, step.block], t, noisy)
        w[:, step.block] = (choice * (step.reward + later * ahead)).sum(axis=-1)
    return Values(q=q, v=w), probs


def _softmax(u: np.ndarray, temperature: np.ndarray, noisy: bool) -> np.ndarray:
    """:func:`softmax_choice` along the last axis of ``u``.

    Args:
        u: ``(batch, k, n_actions)`` utilities.
        temperature: ``(batch, 1, 1)`` checked temperatures.
        noisy: Whether every temperature is positive.
    """
    if noisy and u.shape[-1] == 2:  # the logistic: no reductions, the common case
        gap = (u[..., 1] - u[..., 0]) / temperature[..., 0]
        out = np.empty_like(u)
        out[..., 1] = special.expit(gap)
        out[..., 0] = special.expit(-gap)
        return out
    best = u.max(axis=-1, keepdims=True)
    if noisy:
        chosen = np.exp((u - best) / temperature)
    else:
        positive = temperature > 0.0
        chosen = np.where(positive, np.exp((u - best) / np.where(positive, temperature, 1.0)),
                          (np.abs(u - best) <= 1e-9).astype(np.float64))
    return chosen / chosen.sum(axis=-1, keepdims=True)


#: A time step's successors are gathered into a dense block when it holds at most this
#: many entries (or at most 8 times its sparse entries): a small game's sweep is
#: dominated by per-call overhead, and one small matrix product is the cheapest step.
DENSE_STEP_ENTRIES = 65_536


@dataclass(frozen=True)
class _Step:
    """One time step of a backward sweep: its states, rewards and successor values.

    Attributes:
        block: The step's (non-terminal) states, a contiguous range.
        reward: ``(k, n_actions)`` expected immediate reward of each action.
        successors: Every state the step's actions can lead to.
        matrix: ``(len(successors), k * n_actions)`` their probabilities, dense; None
            for a step too large for a dense block (the sparse path is used instead).
        sparse: The model's sparse transitions (used when ``matrix`` is None).
    """

    block: slice
    reward: np.ndarray
    successors: np.ndarray
    matrix: np.ndarray | None
    sparse: Any

    def expected(self, values: np.ndarray) -> np.ndarray:
        """``(batch, k, n_actions)`` expected successor value under each row of ``values``.

        Args:
            values: ``(batch, n_states)`` values of the states.
        """
        if self.matrix is None:
            return np.stack([self.sparse.expected(row, self.block) for row in values])
        return (values[:, self.successors] @ self.matrix).reshape(
            len(values), *self.reward.shape)


def _steps(model: TabularModel) -> list[_Step]:
    """The model's time steps, latest first, each with what a sweep needs (kept per model)."""
    cached = _STEPS.get(model)
    if cached is not None:
        return cached
    p, r = model.sparse_transitions, model.reward_matrix
    out = []
    for block in layers(model):
        lo, hi = block.start * model.n_actions, block.stop * model.n_actions
        e0, e1 = int(p.indptr[lo]), int(p.indptr[hi])
        nxt, prob = p.next_state[e0:e1], p.probability[e0:e1]
        successors, column = np.unique(nxt, return_inverse=True)
        rows = hi - lo
        matrix = None
        if rows * len(successors) <= max(DENSE_STEP_ENTRIES, 8 * (e1 - e0)):
            matrix = np.zeros((len(successors), rows))
            np.add.at(matrix, (column, p._row[e0:e1] - lo), prob)
            matrix.setflags(write=False)
        successors.setflags(write=False)
        out.append(_Step(block=block, reward=r[block], successors=successors, matrix=matrix,
                         sparse=p))
    _STEPS[model] = out
    return out


_STEPS: weakref.WeakKeyDictionary[TabularModel, list[_Step]] = weakref.WeakKeyDictionary()


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
