"""Policies as a distribution per state, and the behavioural reference policies.

:class:`TabularPolicy` is the one notion of "a policy" that reference policies, the
LLM expert and trained learners share: a row of action probabilities for every
state of a :class:`~subrational_gym.tabular.TabularModel`. It is directly usable as
the ``policy`` of ``imitation.data.rollout.rollout`` (a callable
``(obs, states, episode_starts) -> (actions, states)``) and as the ``model`` of
stable-baselines3's ``evaluate_policy`` (``predict``).

Every reference policy uses a logit choice rule over the utilities its theory
assigns to the actions, with a ``temperature`` (deterministic at 0, ties split
equally).

The policies defined here work in any game. A theory that fits only one game keeps
its policy in that game's env module (the Fehr-Schmidt responder, the prospect-theory
gambler), listed in the module's ``REFERENCE_POLICIES``; this module serves those
names too (``policies.<name>``), looking them up in the modules of the registered
games, and keeps the theories' kernels that the inference families share
(:func:`fehr_schmidt_accept_utility`, :func:`prospect_weight`,
:func:`prospect_theory_values`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from subrational_gym import make_env
from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import ParameterError
from subrational_gym.planning import quasi_hyperbolic, softmax_choice, value_iteration
from subrational_gym.registration import GAMES
from subrational_gym.tabular import TabularModel


class TabularPolicy:
    """A stationary policy given by its action distribution in every state of a game.

    Args:
        model: The game's tabular model.
        probs: ``(n_states, n_actions)`` action probabilities.
        seed: Seed of the generator that draws actions.
        name: Short name for tables and plots.
        params: Parameters that define the policy, for provenance.

    >>> import subrational_gym
    >>> env = subrational_gym.make_env("Subrational/Ultimatum-v0")
    >>> policy = income_maximiser(env, seed=0)
    >>> policy.action_distribution(env.reset(options={"offer": 3})[0])
    array([[0., 1.]])
    """

    def __init__(
        self,
        model: TabularModel,
        probs: np.ndarray,
        *,
        seed: int | None = None,
        name: str = "policy",
        params: Mapping[str, Any] | None = None,
    ) -> None:
        probs = np.array(probs, dtype=np.float64)
        if probs.shape != (model.n_states, model.n_actions):
            raise ParameterError(
                f"probs for {model.env_id} must have shape ({model.n_states}, "
                f"{model.n_actions}), got {probs.shape}"
            )
        if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-6):
            raise ParameterError("every row of probs must be a probability distribution")
        probs /= probs.sum(axis=1, keepdims=True)
        probs.setflags(write=False)
        self.model = model
        self.probs = probs
        self.name = name
        self.params = dict(params or {})
        self.seed(seed)

    def seed(self, seed: int | None) -> None:
        """Reseed the generator that draws actions.

        The stream is spawned from ``seed`` with a key of its own, so it differs from the
        stream Gymnasium gives an env reset with the same seed: otherwise the env's draw
        of the start state and the policy's draw of the action would be the same uniform
        number, and the action a deterministic function of the state.
        """
        self.rng = np.random.default_rng(
            None if seed is None else np.random.SeedSequence(seed, spawn_key=(0x5EED,))
        )

    def action_distribution(self, observations: np.ndarray) -> np.ndarray:
        """Action probabilities, one row per observation: shape ``(batch, n_actions)``."""
        return self.probs[self.model.state_indices(observations)]

    def sample(self, observations: np.ndarray, *, deterministic: bool = False) -> np.ndarray:
        """Draw one action per observation (the most probable one if ``deterministic``)."""
        probs = self.action_distribution(observations)
        if deterministic:
            return probs.argmax(axis=1)
        u = self.rng.random(len(probs))[:, None]
        actions = (probs.cumsum(axis=1) <= u).sum(axis=1)
        return np.minimum(actions, self.model.n_actions - 1)

    def __call__(
        self,
        observations: np.ndarray,
        states: Any = None,
        episode_starts: np.ndarray | None = None,
    ) -> tuple[np.ndarray, None]:
        """Imitation's callable-policy protocol: ``(obs, states, episode_starts)``."""
        return self.sample(observations), None

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """stable-baselines3's ``predict`` protocol (for ``evaluate_policy``)."""
        obs = np.asarray(observation, dtype=np.float32)
        single = obs.ndim == 1
        actions = self.sample(obs.reshape(-1, obs.shape[-1]), deterministic=deterministic)
        return (actions[0] if single else actions), state

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"TabularPolicy({self.name}: {self.model.env_id}{', ' if params else ''}{params})"


def _resolve(env: str | SubrationalEnv, env_kwargs: Mapping[str, Any] | None) -> SubrationalEnv:
    return make_env(env, **dict(env_kwargs or {}))


def logit_policy(
    game: SubrationalEnv,
    utility: Callable[[Any], Any],
    *,
    temperature: float,
    seed: int | None,
    name: str,
    params: dict[str, Any],
) -> TabularPolicy:
    """The logit choice over ``utility(meaning)`` in every decision state of ``game``.

    The building block of a reference policy whose theory values each action of a
    state from the state's meaning alone
    (:meth:`~subrational_gym.core.SubrationalEnv.observation_meaning`); states where
    nothing is at stake get the uniform distribution.

    Args:
        game: The unwrapped game.
        utility: Meaning of a decision state -> one utility per action.
        temperature: Logit choice noise (deterministic at 0, ties split equally).
        seed: Seed of the policy's action generator.
        name: The policy's name.
        params: The theory's parameters (``temperature`` is added).
    """
    model = game.tabular_model()
    probs = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)
    for s in np.flatnonzero(model.decision_mask):
        u = np.asarray(utility(game.observation_meaning(model.observations[s])), dtype=float)
        probs[s] = softmax_choice(u[None], temperature)[0]
    return TabularPolicy(model, probs, seed=seed, name=name,
                         params={**params, "temperature": temperature})


def require_game(game: SubrationalEnv, expected: str, policy: str) -> None:
    """Refuse a game-specific policy on another game.

    Raises:
        ParameterError: when ``game.game`` is not ``expected``.
    """
    if game.game != expected:
        raise ParameterError(
            f"{policy} is defined for the {expected} game, got {game.env_id}; "
            f"use it with {expected} or pick a policy for {game.game}"
        )


def _game_modules() -> list[Any]:
    """The module of each registered game's env (one that cannot be found is left out)."""
    modules = []
    for row in GAMES.values():
        name = row.entry_point.partition(":")[0]
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but an import inside it failed
                raise
    return modules


def __getattr__(name: str) -> Any:
    """A game's own reference policy (``policies.<name>``), from the game's env module.

    Each registered game's module (the entry point of its row in
    :data:`~subrational_gym.registration.GAMES`) may list policy functions in
    ``REFERENCE_POLICIES``; they are served here by name, imported on first use.
    """
    if not name.startswith("__"):
        for module in _game_modules():
            if name in getattr(module, "REFERENCE_POLICIES", ()):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    names = set(globals())
    for module in _game_modules():
        names.update(getattr(module, "REFERENCE_POLICIES", ()))
    return sorted(names)


# ------------------------------------------------------------ any game
def exponential_discounter(
    env: str | SubrationalEnv,
    *,
    gamma: float,
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """The exact exponential-discount optimum (value iteration) for discount ``gamma``.

    With ``temperature > 0`` it is the logit (softmax) choice over the optimal
    action values. Ties at ``temperature == 0`` are split equally.
    """
    game = _resolve(env, env_kwargs)
    model = game.tabular_model()
    q = value_iteration(model, gamma).q
    probs = softmax_choice(q, temperature)
    probs[~model.decision_mask] = 1.0 / model.n_actions
    return TabularPolicy(model, probs, seed=seed, name=f"exponential(gamma={gamma:g})",
                         params={"gamma": gamma, "temperature": temperature})


def income_maximiser(
    env: str | SubrationalEnv,
    *,
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """The risk-neutral, patient income maximiser: the undiscounted (gamma = 1) optimum.

    It takes any positive payoff over nothing (as a responder to offers, it accepts
    every positive offer: the subgame-perfect responder) and is indifferent between
    actions that pay the same (an offer of 0).
    """
    policy = exponential_discounter(env, gamma=1.0, temperature=temperature, seed=seed,
                                    env_kwargs=env_kwargs)
    policy.name = "income maximiser"
    return policy


def beta_delta(
    env: str | SubrationalEnv,
    *,
    beta: float = 0.7,
    delta: float = 1.0,
    sophisticated: bool = False,
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """Quasi-hyperbolic (beta-delta) discounting, naive or sophisticated.

    Defaults: ``beta = 0.7``, the present-bias factor estimated from consumption
    data (Laibson 1997; Laibson, Repetto and Tobacman 2007); ``delta = 1`` because
    these games last minutes or days, over which long-run discounting is negligible.
    Augenblick, Niederle and Sprenger (2015) estimate ``beta`` about 0.9 for effort.
    See :func:`subrational_gym.planning.quasi_hyperbolic` for the two kinds of agent.
    """
    game = _resolve(env, env_kwargs)
    model = game.tabular_model()
    _, probs = quasi_hyperbolic(model, beta=beta, delta=delta, sophisticated=sophisticated,
                                temperature=temperature)
    kind = "sophisticated" if sophisticated else "naive"
    return TabularPolicy(
        model, probs, seed=seed, name=f"beta-delta {kind}(beta={beta:g})",
        params={"beta": beta, "delta": delta, "sophisticated": sophisticated,
                "temperature": temperature},
    )


# ------------------------------------------------ inequity aversion (kernels)
#: Fehr and Schmidt (1999, QJE 114:817, Table III): the distribution of the envy
#: parameter alpha and the guilt parameter beta that they calibrate on experimental
#: bargaining data.
FEHR_SCHMIDT_ALPHAS: tuple[tuple[float, float], ...] = ((0.0, 0.3), (0.5, 0.3), (1.0, 0.3),
                                                        (4.0, 0.1))
FEHR_SCHMIDT_BETAS: tuple[tuple[float, float], ...] = ((0.0, 0.3), (0.25, 0.3), (0.6, 0.4))


def fehr_schmidt_accept_utility(
    offer: np.ndarray | float, pie: np.ndarray | float, alpha: float, beta: float
) -> np.ndarray:
    """Fehr-Schmidt utility of accepting ``offer`` of ``pie`` (rejecting is worth 0).

    ``offer - alpha * max(pie - 2 offer, 0) - beta * max(2 offer - pie, 0)``: envy
    ``alpha`` for getting less than the proposer, guilt ``beta`` for getting more.
    Vectorised over ``offer`` and ``pie``.

    >>> fehr_schmidt_accept_utility(np.array([2, 5, 8]), 10, alpha=0.5, beta=0.25)
    array([-1. ,  5. ,  6.5])
    """
    offer = np.asarray(offer, dtype=np.float64)
    pie = np.asarray(pie, dtype=np.float64)
    return (offer - alpha * np.maximum(pie - 2.0 * offer, 0.0)
            - beta * np.maximum(2.0 * offer - pie, 0.0))


# ------------------------------------------------ prospect theory (kernels)
def prospect_weight(p: float | np.ndarray, gamma: float) -> float | np.ndarray:
    """Tversky-Kahneman (1992) probability weighting ``p^g / (p^g + (1-p)^g)^(1/g)``.

    Vectorised over ``p``; ``w(0) = 0`` and ``w(1) = 1``.

    >>> round(prospect_weight(0.5, 0.61), 4)
    0.4206
    """
    q = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = q**gamma / (q**gamma + (1.0 - q) ** gamma) ** (1.0 / gamma)
    w = np.where(q <= 0.0, 0.0, np.where(q >= 1.0, 1.0, w))
    return float(w) if w.ndim == 0 else w


#: Reference points of the prospect-theory gambler: what an outcome is a gain or a loss
#: relative to.
PROSPECT_REFERENCES = ("current", "stake", "zero")


def prospect_theory_values(
    winnings: np.ndarray | float,
    rounds_left: np.ndarray | int,
    win_probability: np.ndarray | float,
    *,
    alpha: float,
    beta: float,
    loss_aversion: float,
    gamma: float,
    delta: float,
    reference: str = "current",
    planning: str = "myopic",
    stake: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Prospect-theory values of stopping and of gambling on, vectorised over states.

    The values of the doubling-bet gambler (the game's reference policy
    ``prospect_theory_gambler``, which explains the framing and planning options) and of
    the prospect-theory inference families. A gamble doubles the winnings or loses them.

    Args:
        winnings: The money in hand.
        rounds_left: The rounds that remain, this one included.
        win_probability: The chance that a gamble doubles, one for all states or one per
            state (the odds variant of the game draws one per episode).
        alpha: Value curvature of gains.
        beta: Value curvature of losses.
        loss_aversion: Lambda, the weight of losses against gains.
        gamma: Probability weighting of gains (:func:`prospect_weight`).
        delta: Probability weighting of losses.
        reference: What outcomes are gains or losses relative to, one of
            :data:`PROSPECT_REFERENCES`: the winnings in hand, the initial stake, or
            nothing.
        planning: ``"myopic"`` (one bet) or ``"naive"`` (the best plan "gamble ``k``
            more rounds, then stop").
        stake: The game's initial stake, the reference point of ``reference="stake"``
            (required there, unused otherwise).

    Returns:
        ``(stop, gamble)`` arrays of the broadcast shape of ``winnings`` and
        ``win_probability``.

    >>> stop, gamble = prospect_theory_values(
    ...     [10.0, 10.0], 1, [0.5, 0.7], alpha=1.0, beta=1.0, loss_aversion=1.0, gamma=1.0,
    ...     delta=1.0)
    >>> stop.tolist(), np.round(gamble, 6).tolist()
    ([0.0, 0.0], [0.0, 4.0])
    """
    if reference not in PROSPECT_REFERENCES:
        raise ParameterError(
            f"reference must be one of {PROSPECT_REFERENCES}, got {reference!r}"
        )
    if reference == "stake" and stake is None:
        raise ParameterError(
            "reference='stake' measures gains and losses from the initial stake; pass "
            "stake=<the game's initial_stake>"
        )
    w = np.asarray(winnings, dtype=np.float64)
    if np.ndim(win_probability) == 0:
        # One probability (the plain game): a float, as it always was, so that the
        # plain game's values stay the same to the last bit (a numpy power can differ
        # from Python's in the last place, and fits on ridges follow such differences).
        p: Any = float(win_probability)  # type: ignore[arg-type]
    else:
        w, p = np.broadcast_arrays(w, np.asarray(win_probability, dtype=np.float64))
    left = np.broadcast_to(np.asarray(rounds_left), w.shape)
    horizon = 1 if planning == "myopic" else int(left.max(initial=1))
    best = np.full(w.shape, -np.inf)
    for k in range(1, horizon + 1):
        win = prospect_weight(p**k, gamma)
        if reference == "current":
            value = (win * (w * (2.0**k - 1.0)) ** alpha
                     - prospect_weight(1.0 - p**k, delta) * loss_aversion * w**beta)
        elif reference == "stake":
            # Winning leaves 2^k w - stake above the reference (a gain, as w >= stake);
            # losing everything is a loss of the stake only: the rest was house money.
            value = (win * (w * 2.0**k - stake) ** alpha
                     - prospect_weight(1.0 - p**k, delta) * loss_aversion
                     * np.asarray(stake, dtype=np.float64) ** beta)
        else:
            value = win * (w * 2.0**k) ** alpha
        best = np.where(left >= k, np.maximum(best, value), best)
    if reference == "current":
        stop = np.zeros(w.shape)
    elif reference == "stake":
        stop = (w - stake) ** alpha
    else:
        stop = w**alpha
    return stop, best
