"""The behavioural families fitted to choices: logit-choice models built on the planners.

Every family maps its parameters to the utilities its theory assigns to each action
in each decision state (computed by the same planners and kernels as the reference
policies in :mod:`subrational_gym.policies`) and chooses by the logit rule
``P(a) ∝ exp(u_a / temperature)``, with the temperature fitted alongside.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_softmax

from subrational_gym._per_game import PerGame
from subrational_gym.errors import ParameterError
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.planning import quasi_hyperbolic_many, value_iteration, value_iteration_many
from subrational_gym.policies import (
    TabularPolicy,
    fehr_schmidt_accept_utility,
    prospect_theory_values,
)

#: Range of the logit temperature, in the game's reward units. The lower end stands
#: for a deterministic chooser (choices away from the best action cost ~1000 log-units).
TEMPERATURE_RANGE = (1e-3, 1e3)


@dataclass(frozen=True)
class Parameter:
    """One fitted parameter.

    Attributes:
        name: Its name in ``FitResult.params``.
        low: Lower bound.
        high: Upper bound.
        log: Whether it is optimised on the log scale.
        start: A sensible starting value.
        description: What it means.
        capped: Whether the (low, high) bound is a cap the model sets rather than a value
            the parameter can mean (temperature 1e3, loss aversion 10): an interval that
            reaches a cap is bounded only on one side, so the parameter is not identified.
    """

    name: str
    low: float
    high: float
    log: bool = False
    start: float = 0.5
    description: str = ""
    capped: tuple[bool, bool] = (False, False)

    def to_internal(self, value: float) -> float:
        """Value on the optimiser's scale."""
        return float(np.log(value)) if self.log else float(value)

    def to_external(self, value: float) -> float:
        """Value on the reported scale."""
        return float(np.exp(value)) if self.log else float(value)


TEMPERATURE = Parameter("temperature", *TEMPERATURE_RANGE, log=True, start=0.3,
                        description="logit choice noise, in reward units",
                        capped=(True, True))


class Coordinates:
    """The optimiser's box-bounded coordinates of a family, and their map to parameters.

    For most families the coordinates are the parameters (temperature on the log scale).
    """

    def __init__(self, parameters: Sequence[Parameter]) -> None:
        self.parameters = tuple(parameters)
        self.names = tuple(p.name for p in self.parameters)
        self.lower = np.array([p.to_internal(p.low) for p in self.parameters])
        self.upper = np.array([p.to_internal(p.high) for p in self.parameters])

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        """Parameters of the internal point ``u``."""
        return {p.name: p.to_external(x) for p, x in zip(self.parameters, u, strict=True)}

    def from_params(self, params: Mapping[str, float]) -> np.ndarray:
        """Internal point of ``params`` (clipped into the box)."""
        u = np.array([p.to_internal(params[p.name]) for p in self.parameters])
        return np.clip(u, self.lower, self.upper)

    def start(self) -> np.ndarray:
        """The default starting point."""
        return np.array([p.to_internal(p.start) for p in self.parameters])


class Family(abc.ABC):
    """A parameterised logit-choice model of one game's decisions."""

    #: Name in :data:`FAMILIES`.
    name: str
    #: One line on what it is.
    description: str

    @abc.abstractmethod
    def parameters(self, counts: ActionCounts) -> tuple[Parameter, ...]:
        """The fitted parameters (they may depend on the game's settings)."""

    def coordinates(self, counts: ActionCounts, focus: str | None = None) -> Coordinates:
        """Optimiser coordinates; ``focus`` names a parameter that must be one of them."""
        return Coordinates(self.parameters(counts))

    @abc.abstractmethod
    def log_probs(self, counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        """``(n_decision_states, n_actions)`` log choice probabilities at ``params``."""

    def details(self, counts: ActionCounts) -> dict[str, Any]:
        """Fixed quantities a reader needs to interpret the parameters."""
        return {}

    def log_likelihood(self, counts: ActionCounts, params: Mapping[str, float]) -> float:
        """Log-likelihood of the counts at ``params`` (decision states only)."""
        logp = self.log_probs(counts, params)
        c = counts.decision_counts
        # 0 * log 0 = 0: an action never taken does not count, whatever its probability.
        return float(np.sum(np.where(c > 0, c * logp, 0.0)))

    def log_likelihoods(self, counts: ActionCounts,
                        params: Sequence[Mapping[str, float]]) -> np.ndarray:
        """:meth:`log_likelihood` at each of several parameter points (a float array).

        The optimiser asks for the points of a finite-difference gradient at once; a
        family whose planner sweeps a batch in one pass overrides this.
        """
        return np.array([self.log_likelihood(counts, p) for p in params], dtype=float)

    def probs(self, counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        """``(n_states, n_actions)`` choice probabilities (uniform where nothing is at stake)."""
        model = counts.model
        table = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)
        table[model.decision_mask] = np.exp(self.log_probs(counts, params))
        return table

    def policy(self, counts: ActionCounts, params: Mapping[str, float], *,
               seed: int | None = None) -> TabularPolicy:
        """The family's policy at ``params``, on the game the counts belong to."""
        shown = ", ".join(f"{k}={v:.3g}" for k, v in params.items())
        return TabularPolicy(counts.model, self.probs(counts, params), seed=seed,
                             name=f"{self.name}({shown})", params=dict(params))


class LogitFamily(Family):
    """A family whose utilities come from one planner call, with a temperature.

    Args:
        name: Name in :data:`FAMILIES`.
        description: One line on what it is.
        parameters: The theory's parameters (the temperature is added).
        utilities: ``(counts, params) -> (n_decision_states, n_actions)`` utilities.
        utilities_many: ``(counts, [params, ...]) -> (batch, n_decision_states,
            n_actions)``, the same at several points in one vectorised pass (optional:
            without it a batch is computed point by point).
    """

    def __init__(self, name: str, description: str,
                 parameters: Sequence[Parameter], utilities: Any,
                 utilities_many: Any = None) -> None:
        self.name, self.description = name, description
        self._parameters = (*parameters, TEMPERATURE)
        self._utilities = utilities
        self._utilities_many = utilities_many

    def parameters(self, counts: ActionCounts) -> tuple[Parameter, ...]:
        """The theory's parameters, then the temperature."""
        return self._parameters

    def utilities(self, counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        """``(n_decision_states, n_actions)`` utilities the chooser compares."""
        return self._utilities(counts, params)

    def log_probs(self, counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        """Logit choice over :meth:`utilities` at the temperature."""
        return _log_logit(self.utilities(counts, params), params["temperature"])

    def log_likelihoods(self, counts: ActionCounts,
                        params: Sequence[Mapping[str, float]]) -> np.ndarray:
        """:meth:`log_likelihood` at each point, in one planner pass where the family can."""
        if self._utilities_many is None or len(params) < 2:
            return super().log_likelihoods(counts, params)
        utilities = self._utilities_many(counts, params)
        temperature = np.array([p["temperature"] for p in params], dtype=float)
        logp = _log_logit(utilities, temperature[:, None])
        c = counts.decision_counts
        return np.where(c > 0, c * logp, 0.0).sum(axis=(1, 2))


# ------------------------------------------------------------------ utilities
def _log_logit(utilities: np.ndarray, temperature: float | np.ndarray) -> np.ndarray:
    """Log of the logit choice probabilities along the last axis (fast for two actions).

    ``temperature`` broadcasts against ``utilities[..., 0]`` (a batch's ``(batch, 1)``).
    """
    if utilities.shape[-1] != 2:
        return log_softmax(utilities / np.asarray(temperature)[..., None], axis=-1)
    d = (utilities[..., 1] - utilities[..., 0]) / temperature
    return np.stack([-np.logaddexp(0.0, d), -np.logaddexp(0.0, -d)], axis=-1)


def _decision_meanings(counts: ActionCounts) -> list[Any]:
    cache = counts.cache
    if "meanings" not in cache:
        model = counts.model
        cache["meanings"] = [counts.game.observation_meaning(o)
                             for o in model.observations[model.decision_mask]]
    return cache["meanings"]


def _exponential(counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
    return value_iteration(counts.model, params["gamma"]).q[counts.model.decision_mask]


def _exponential_many(counts: ActionCounts,
                      params: Sequence[Mapping[str, float]]) -> np.ndarray:
    gammas = [p["gamma"] for p in params]
    return value_iteration_many(counts.model, gammas).q[:, counts.model.decision_mask]


def _patient(counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
    if "patient_q" not in counts.cache:
        counts.cache["patient_q"] = _exponential(counts, {"gamma": 1.0})
    return counts.cache["patient_q"]


def _beta_delta(sophisticated: bool) -> tuple[Any, Any]:
    """Utilities of the naive or sophisticated beta-delta family: one point, and many."""
    def utilities(counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        return many(counts, [params])[0]

    def many(counts: ActionCounts, params: Sequence[Mapping[str, float]]) -> np.ndarray:
        model, dec = counts.model, counts.model.decision_mask
        beta = np.array([p["beta"] for p in params], dtype=float)
        delta = np.array([p["delta"] for p in params], dtype=float)
        if not sophisticated:
            # The naive agent's comparison does not depend on its own noise: today's
            # utilities over the delta-optimum it believes its future selves will follow
            # (quasi_hyperbolic's naive branch, restricted to the decision states).
            believed = value_iteration_many(model, delta).v
            ahead = np.stack([model.sparse_transitions.expected(v)[dec] for v in believed])
            return model.reward_matrix[dec] + (beta * delta)[:, None, None] * ahead
        values, _ = quasi_hyperbolic_many(model, betas=beta, deltas=delta,
                                          sophisticated=True,
                                          temperatures=[p["temperature"] for p in params])
        return values.q[:, dec]

    return utilities, many


def _offers(counts: ActionCounts) -> tuple[np.ndarray, np.ndarray]:
    if "offers" not in counts.cache:
        meanings = _decision_meanings(counts)
        counts.cache["offers"] = (np.array([m.offer for m in meanings], dtype=float),
                                  np.array([m.pie for m in meanings], dtype=float))
    return counts.cache["offers"]


def _inequity(counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
    offer, pie = _offers(counts)
    accept = fehr_schmidt_accept_utility(offer, pie, params["alpha"], params["beta"])
    return np.stack([np.zeros_like(accept), accept], axis=1)


def _gambles(counts: ActionCounts) -> tuple[np.ndarray, np.ndarray, float | np.ndarray]:
    """Winnings, rounds left and win probability of the decision states.

    The probability is the game's one float in the plain game, and each state's own (an
    array) in the odds variant.
    """
    if "gambles" not in counts.cache:
        meanings = _decision_meanings(counts)
        game = counts.game
        probability = game.win_probability if game.win_probabilities is None else np.array(
            [game.state_win_probability(m) for m in meanings], dtype=float)
        counts.cache["gambles"] = (
            np.array([m.winnings for m in meanings], dtype=float),
            np.array([game.max_rounds - m.t for m in meanings]), probability)
    return counts.cache["gambles"]


def _prospect(planning: str, reference: str = "current") -> tuple[Any, Any]:
    """Utilities of the prospect-theory families (curvature and weighting tied).

    One point, and many in one vectorised pass.
    """
    def utilities(counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        return many(counts, [params])[0]

    def many(counts: ActionCounts, params: Sequence[Mapping[str, float]]) -> np.ndarray:
        winnings, left, probability = _gambles(counts)

        def column(name: str) -> np.ndarray:
            return np.array([p[name] for p in params], dtype=float)[:, None]

        curvature, weighting = column("curvature"), column("weighting")
        stop, gamble = prospect_theory_values(
            np.broadcast_to(winnings, (len(params), len(winnings))), left, probability,
            alpha=curvature, beta=curvature, loss_aversion=column("loss_aversion"),
            gamma=weighting, delta=weighting, reference=reference, planning=planning,
            stake=counts.game.initial_stake)
        return np.stack([stop, gamble], axis=-1)

    return utilities, many


class ProspectTheoryFamily(LogitFamily):
    """Cumulative prospect theory in double or nothing, curvature and weighting tied.

    Stopping and gambling are valued as by
    :func:`~subrational_gym.policies.prospect_theory_gambler` with ``alpha = beta =
    curvature`` and ``gamma = delta = weighting``; the logit rule chooses between them.
    Each decision state is judged at its own win probability: the plain game's, or in
    the odds variant (``win_probabilities=...``) its episode's.

    - ``prospect_theory``: each bet on its own (myopic), reference = the winnings in hand.
    - ``prospect_theory_naive``: the naive planner over "gamble ``k`` more rounds" plans,
      reference = the winnings in hand.
    - ``prospect_theory_house_money``: each bet on its own, reference = the initial
      stake: winnings above it are gains (house money), losing everything is a loss of
      the stake only. In round 1 it is ``prospect_theory``; later a loss costs it the
      stake, not all the winnings. (The
      gambler's ``reference="zero"``, where nothing is a loss and loss aversion plays no
      part, is not a family.)

    Identification. With the reference at the winnings in hand, the myopic log-odds of
    gambling in round ``t`` at win probability ``p`` are
    ``W_t^c (w(p) - lambda w(1 - p)) / T``, with ``W_t`` the winnings, ``c`` the
    curvature and ``w`` the weighting function:

    - At a single probability (the plain game) only the curvature (from the ratio
      between rounds, ``2^c``) and ``(w(p) - lambda w(1 - p)) / T`` are identified:
      loss aversion, weighting and temperature are not, only the side of 1 on which
      lambda lies (at p = 0.5).
    - Across probabilities (the odds variant) they are identified, but only through
      the curvature of ``w`` in ``p``: where ``w`` is nearly linear, as it is between
      0.3 and 0.7, the log-odds are a line in ``p`` whose slope and intercept fix two
      combinations of lambda, weighting and temperature, so loss aversion trades off
      against the weighting's elevation and the weighting is not identified. Measured on
      expected counts of 500 episodes (gamblers lambda 2.5 and 1.4, temperature 3), the
      weighting's interval is its whole range [0.28, 1] at odds (0.3, ..., 0.7),
      (0.1, ..., 0.9) and (0.1, 0.2, ..., 0.9); lambda's interval is bounded but wide
      ([1.45, 4.0] for lambda 2.5 at (0.1, ..., 0.9)) or not at all ([1.3, 10], the cap,
      at (0.3, ..., 0.7)); with the weighting fixed at the truth it is [2.2, 2.8]. Odds
      that reach the extremes, where ``w`` bends
      (the odds variant's ``WIDE_WIN_PROBABILITIES``, 0.05 to 0.95), identify lambda
      from 500 episodes: sampled gamblers at lambda 2.5 and 1.4 (temperature 2) get
      intervals that cover the truth, exclude 1 and do not overlap in most seeds (the
      odds variant's tests). The weighting
      is then bounded too, though for a strongly weighting player (0.6) its interval
      often reaches the lower cap 0.28.
    - The curvature is confounded with the temperature: the log-odds are homogeneous in
      the winnings, ``W_t = S 2^t``, so ``S^c / T`` is one number and the curvature is
      identified only by the growth of the log-odds by ``2^c`` from one round to the
      next, seen only in players who reach later rounds. From 500 episodes its interval
      usually runs up to 1 (linear value), and its estimate moves with the temperature's.
      In ``prospect_theory_house_money`` the values are not homogeneous (``W - S``), and
      the curvature is identified (e.g. [0.66, 0.84] for a true 0.8 from 500 episodes
      at ``WIDE_WIN_PROBABILITIES``).

    Nesting: at curvature, loss aversion and weighting 1 the myopic families choose by
    the expected value of one bet, ``(2p - 1) W``; the risk-neutral family plans ahead
    (value iteration), which is the same at ``p <= 0.5`` or in the last round but not
    at ``p > 0.5`` with rounds to come. The nesting of ``risk_neutral`` is exact in the
    plain game at fair odds and inexact in the odds variant (``lr_test`` then reports
    ``exact_nesting`` False and credits the general family only when the data reject
    both); ``prospect_theory_naive`` nests it exactly at every probability.
    """

    def __init__(self, name: str, description: str, *, planning: str,
                 reference: str) -> None:
        super().__init__(name, description, _PT, *_prospect(planning, reference))
        self.planning, self.reference = planning, reference


# ------------------------------------------------------------------ the mixture
class InequityAversionMixture(Family):
    """A population of Fehr-Schmidt responders: shares over a fixed grid of envy types.

    The grid has one envy value ``alpha`` per acceptance threshold the game can show:
    with a pie of ``P`` an offer ``x < P/2`` is accepted when ``alpha < x / (P - 2x)``,
    so envy values between two consecutive thresholds behave alike. The grid holds 0,
    half the first threshold, the geometric midpoint of each pair of consecutive
    thresholds, and twice the last one. The shares (``share_0`` for ``alpha = 0`` and
    so on) are fitted with a common guilt ``beta`` and temperature, by direct
    likelihood. Each responder answers once (one decision per episode), so the
    population's acceptance rate at an offer is the share-weighted rate of its types.
    """

    name = "inequity_aversion_mixture"
    description = "population of inequity-averse responders (shares over envy types)"

    def support(self, counts: ActionCounts) -> np.ndarray:
        """The grid of envy values, one per distinguishable acceptance threshold."""
        if "alpha_support" not in counts.cache:
            pie = counts.game.pie
            tau = [x / (pie - 2 * x) for x in range(1, pie) if pie - 2 * x > 0]
            if tau:
                middles = (np.sqrt(a * b) for a, b in zip(tau, tau[1:], strict=False))
                grid = [0.0, tau[0] / 2, *middles, 2 * tau[-1]]
            else:
                grid = [0.0, 1.0]
            counts.cache["alpha_support"] = np.array(grid, dtype=float)
        return counts.cache["alpha_support"]

    def share_names(self, counts: ActionCounts) -> list[str]:
        """Parameter name of each type's share, in the order of :meth:`support`."""
        return [f"share_{k}" for k in range(len(self.support(counts)))]

    def parameters(self, counts: ActionCounts) -> tuple[Parameter, ...]:
        """One share per envy type, the common guilt ``beta``, the temperature."""
        k = len(self.support(counts))
        shares = tuple(
            Parameter(name, 0.0, 1.0, start=1.0 / k,
                      description=f"share of responders with envy alpha = {a:.3g}")
            for name, a in zip(self.share_names(counts), self.support(counts), strict=True))
        return (*shares, Parameter("beta", 0.0, 1.0, start=0.25, description="guilt"),
                TEMPERATURE)

    def coordinates(self, counts: ActionCounts, focus: str | None = None) -> Coordinates:
        """Stick-breaking fractions for the shares (``focus`` first), then beta, temperature."""
        return _StickBreaking(self.parameters(counts), self.share_names(counts), focus)

    def details(self, counts: ActionCounts) -> dict[str, Any]:
        """The envy value of each type."""
        return {"alpha_support": [round(float(a), 6) for a in self.support(counts)]}

    def log_probs(self, counts: ActionCounts, params: Mapping[str, float]) -> np.ndarray:
        """Log of the share-weighted acceptance of the types."""
        offer, pie = _offers(counts)
        shares = np.array([params[n] for n in self.share_names(counts)])
        alpha = self.support(counts)[:, None]
        accept = fehr_schmidt_accept_utility(offer[None], pie[None], alpha, params["beta"])
        d = accept / params["temperature"]  # (types, states): log-odds of accepting
        logp = np.stack([-np.logaddexp(0.0, d), -np.logaddexp(0.0, -d)], axis=-1)
        with np.errstate(divide="ignore"):
            logp = logp + np.log(shares)[:, None, None]
        # log sum over types, stably (a zero share contributes exp(-inf) = 0).
        top = logp.max(axis=0)
        return top + np.log(np.exp(logp - top).sum(axis=0))


class _StickBreaking(Coordinates):
    """Shares as stick-breaking fractions in [0, 1], the ``focus`` share first."""

    def __init__(self, parameters: Sequence[Parameter], shares: Sequence[str],
                 focus: str | None) -> None:
        self.shares = list(shares)
        if focus in self.shares:
            self.order = [focus] + [s for s in self.shares if s != focus]
        else:
            self.order = list(self.shares)
        rest = [p for p in parameters if p.name not in self.shares]
        sticks = [Parameter(f"stick:{name}", 0.0, 1.0, start=1.0 / (len(self.order) - i))
                  for i, name in enumerate(self.order[:-1])]
        super().__init__([*sticks, *rest])
        self.n_sticks = len(sticks)
        self.reported = self.order[0]  # the share equal to the first coordinate

    def to_params(self, u: np.ndarray) -> dict[str, float]:
        out = super().to_params(u)
        remaining, shares = 1.0, {}
        for i, name in enumerate(self.order):
            share = remaining * (out.pop(f"stick:{name}") if i < self.n_sticks else 1.0)
            shares[name] = share
            remaining -= share
        return {**{s: shares[s] for s in self.shares}, **out}

    def from_params(self, params: Mapping[str, float]) -> np.ndarray:
        values, remaining = dict(params), 1.0
        for name in self.order[:-1]:
            share = float(params[name])
            values[f"stick:{name}"] = share / remaining if remaining > 1e-12 else 0.5
            remaining = max(remaining - share, 0.0)
        return super().from_params(values)


# ------------------------------------------------------------------ registry
def _p(name: str, low: float, high: float, start: float, description: str,
       capped: tuple[bool, bool] = (False, False)) -> Parameter:
    return Parameter(name, low, high, start=start, description=description, capped=capped)


_GAMMA = _p("gamma", 0.0, 1.0, 0.9, "exponential discount factor per step")
_BETA = _p("beta", 0.0, 1.0, 0.8, "present-bias factor (1: none)")
_DELTA = _p("delta", 0.0, 1.0, 0.95, "long-run discount factor per step")
_PT = (
    _p("curvature", 0.05, 1.0, 0.88, "value-function curvature (alpha = beta of TK 1992)",
       (True, False)),
    _p("loss_aversion", 0.0, 10.0, 2.25, "loss aversion lambda (< 1: loss seeking)",
       (False, True)),
    _p("weighting", 0.28, 1.0, 0.65,
       "probability weighting (gamma = delta of TK 1992; 1: none)", (True, False)),
)


_ALL: list[Family] = [
    LogitFamily("income_maximiser", "accepts by money alone (undiscounted optimum)",
                [], _patient),
    LogitFamily("inequity_aversion", "one Fehr-Schmidt responder",
                [_p("alpha", 0.0, 10.0, 0.5, "envy: disutility of getting less",
                    (False, True)),
                 _p("beta", 0.0, 1.0, 0.25, "guilt: disutility of getting more")],
                _inequity),
    InequityAversionMixture(),
    LogitFamily("exponential", "exponential discounting (value iteration)",
                [_GAMMA], _exponential, _exponential_many),
    LogitFamily("beta_delta_naive",
                "quasi-hyperbolic discounting, naive about its future selves",
                [_BETA, _DELTA], *_beta_delta(False)),
    LogitFamily("beta_delta_sophisticated",
                "quasi-hyperbolic discounting, aware of its future selves' bias and noise",
                [_BETA, _DELTA], *_beta_delta(True)),
    LogitFamily("risk_neutral", "expected-value maximiser", [], _patient),
    ProspectTheoryFamily(
        "prospect_theory",
        "prospect theory, each bet judged on its own (myopic, reference = winnings)",
        planning="myopic", reference="current"),
    ProspectTheoryFamily(
        "prospect_theory_naive",
        "prospect theory, naive planner over 'gamble k more rounds' plans",
        planning="naive", reference="current"),
    ProspectTheoryFamily(
        "prospect_theory_house_money",
        "prospect theory, each bet judged on its own, reference = the initial stake "
        "(winnings above it are house money)",
        planning="myopic", reference="stake"),
]

#: Every family, by name (a family applies to whichever games' studies list it).
BY_NAME: Mapping[str, Family] = {f.name: f for f in _ALL}

#: The families fitted for each game, by name (each game's study lists its own).
FAMILIES: Mapping[str, tuple[str, ...]] = PerGame(lambda study: tuple(study.families))

#: Nested pairs ``(restricted, general)`` and the values of the general family's
#: parameters at which it is the restricted one. Some nestings are exact only in some
#: settings (the sophisticated beta-delta agent at beta 1 anticipates its own noise; the
#: myopic prospect-theory families at 1, 1, 1 nest the risk-neutral planner only at
#: fair odds: see :class:`ProspectTheoryFamily`); ``lr_test`` reports which.
NESTINGS: Mapping[tuple[str, str], Mapping[str, float]] = {
    ("income_maximiser", "inequity_aversion"): {"alpha": 0.0, "beta": 0.0},
    ("income_maximiser", "inequity_aversion_mixture"): {"share_0": 1.0, "beta": 0.0},
    ("exponential", "beta_delta_naive"): {"beta": 1.0},
    ("exponential", "beta_delta_sophisticated"): {"beta": 1.0},
    ("risk_neutral", "prospect_theory"): {"curvature": 1.0, "loss_aversion": 1.0,
                                          "weighting": 1.0},
    ("risk_neutral", "prospect_theory_naive"): {"curvature": 1.0, "loss_aversion": 1.0,
                                                "weighting": 1.0},
    ("risk_neutral", "prospect_theory_house_money"): {"curvature": 1.0, "loss_aversion": 1.0,
                                                      "weighting": 1.0},
}


def get_family(name: str, game: str) -> Family:
    """The family ``name`` of ``game``.

    Raises:
        ParameterError: for a name that is not a family of that game.
    """
    if game not in FAMILIES:
        raise ParameterError(f"unknown game {game!r}; expected one of {sorted(FAMILIES)}")
    family = BY_NAME.get(name) if name in FAMILIES[game] else None
    if family is None:
        others = [g for g, names in FAMILIES.items() if name in names]
        hint = f" ({name!r} is a family of {others[0]})" if others else ""
        raise ParameterError(
            f"unknown family {name!r} for the {game} game{hint}; expected one of "
            f"{list(FAMILIES[game])}"
        )
    return family
