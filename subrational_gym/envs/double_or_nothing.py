"""Double or nothing: cash out or gamble your winnings, and its reference policy.

The prospect-theory gambler (:func:`prospect_theory_gambler`) is listed in
:data:`REFERENCE_POLICIES`, so ``subrational_gym.policies`` serves it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym import make_env
from subrational_gym._validation import check_int, check_real
from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError
from subrational_gym.policies import (
    PROSPECT_REFERENCES,
    TabularPolicy,
    logit_policy,
    prospect_theory_values,
    require_game,
)

#: The game's reference policies, served by ``subrational_gym.policies`` as well.
REFERENCE_POLICIES = ("prospect_theory_gambler",)

#: Win probabilities of an odds variant that identifies loss aversion, probability
#: weighting, curvature and temperature of prospect theory from 500 episodes: odds that
#: reach the extremes, where the weighting function bends (between 0.3 and 0.7 it is
#: nearly linear and loss aversion trades off against it; see
#: :class:`subrational_gym.inference.families.ProspectTheoryFamily`).
WIDE_WIN_PROBABILITIES: tuple[float, ...] = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)


class Bet(IntEnum):
    """The player's actions each round."""

    STOP = 0
    GAMBLE = 1


class DoubleOrNothingState(NamedTuple):
    """Meaning of a double-or-nothing observation.

    Attributes:
        t: Round (0-based; ``max_rounds`` once the game is over).
        winnings: Dollars held now (while playing) or taken home (after the game).
        status: ``"playing"``, ``"cashed_out"`` (stopped, or won the last round) or
            ``"lost"``.
        win_probability: The episode's chance that a gamble doubles, in the odds variant
            (``win_probabilities=...``), where each episode draws its own; None in the
            plain game, whose chance is the env's ``win_probability`` (the repr then
            leaves the field out, as before the variant existed).
    """

    t: int
    winnings: float
    status: str
    win_probability: float | None = None

    def __repr__(self) -> str:
        """The fields, without ``win_probability`` when it is None (the plain game)."""
        text = f"DoubleOrNothingState(t={self.t!r}, winnings={self.winnings!r}, " \
               f"status={self.status!r}"
        if self.win_probability is not None:
            text += f", win_probability={self.win_probability!r}"
        return text + ")"


class DoubleOrNothingEnv(SubrationalEnv[DoubleOrNothingState]):
    """Keep your winnings or bet them all on a double-or-nothing gamble.

    ## Description
    You have just won ``initial_stake`` dollars. In each of up to ``max_rounds``
    rounds you may STOP and take your winnings home, or GAMBLE them: with
    ``win_probability`` they double, otherwise they drop to zero and the game is
    over. At fair odds (0.5) a risk-neutral agent is indifferent; people prefer the
    sure amount for gains (Kahneman and Tversky 1979), though prior gains make them
    more willing to gamble (the house-money effect, Thaler and Johnson 1990). This
    is the third game of Coletta et al. 2024 (arXiv 2402.08755).

    The odds variant (``win_probabilities=(0.3, 0.4, 0.5, 0.6, 0.7)``) draws one win
    probability per episode, uniformly from the tuple, keeps it for the whole episode
    and shows it in the observation and the description. At a single probability the
    choices of a prospect-theory player with the reference point at the winnings in
    hand depend on loss aversion only through ``(w(p) - lambda w(1 - p)) / T``, so
    loss aversion and choice noise cannot be told apart; across several
    probabilities they can (see
    :data:`subrational_gym.inference.FAMILIES`, ``prospect_theory``).

    ## Action Space
    ``Discrete(2)``: ``Bet.STOP = 0``, ``Bet.GAMBLE = 1``.

    ## Observation Space
    ``Box(0, 1, (3,), float32)``, or ``Box(0, 1, (4,), float32)`` in the odds variant:

    | index | feature         | meaning                                                |
    |-------|-----------------|--------------------------------------------------------|
    | 0     | round           | rounds played / max_rounds                             |
    | 1     | winnings        | winnings / (initial_stake * 2 ** max_rounds)           |
    | 2     | playing         | 1 while the game is on, 0 after cashing out or losing  |
    | 3     | win_probability | odds variant only: the episode's win probability       |

    ``observation_meaning(obs)`` maps an observation back to a
    :class:`DoubleOrNothingState` (winnings in dollars).

    ## Rewards
    The amount taken home, paid when you stop (or when you win the last round);
    0 everywhere else.

    ## Starting State
    Round 0 holding ``initial_stake``. In the odds variant the episode's win
    probability is drawn uniformly from ``win_probabilities``, or fixed by
    ``reset(options={"win_probability": p})`` (``p`` one of them).

    ## Episode End
    Termination: after exactly ``max_rounds`` steps; after stopping or losing the
    game sits in an absorbing state where actions do nothing. Truncation: never.

    ## Information
    ``info["round"]``, ``info["winnings"]`` and ``info["status"]``; in the odds variant
    also ``info["win_probability"]``.

    ## Arguments
    >>> import gymnasium as gym
    >>> env = gym.make("Subrational/DoubleOrNothing-v0", initial_stake=10, max_rounds=5)
    >>> obs, info = env.reset(seed=0)
    >>> env.unwrapped.observation_meaning(obs)
    DoubleOrNothingState(t=0, winnings=10.0, status='playing')
    >>> obs, reward, terminated, truncated, info = env.step(Bet.STOP)
    >>> reward, terminated, info["status"]
    (10.0, False, 'cashed_out')

    The odds variant:

    >>> env = gym.make("Subrational/DoubleOrNothing-v0", win_probabilities=(0.3, 0.5, 0.7))
    >>> obs, info = env.reset(seed=0, options={"win_probability": 0.7})
    >>> obs.shape, env.unwrapped.observation_meaning(obs)
    ((4,), DoubleOrNothingState(t=0, winnings=10.0, status='playing', win_probability=0.7))
    >>> env.unwrapped.describe(obs).split(":")[1].split(",")[0]
    ' with a 70% chance it doubles to $20'

    - ``initial_stake`` (float, default 10.0): winnings at the start, > 0.
    - ``max_rounds`` (int, default 5): rounds, the episode length, 1..30.
    - ``win_probability`` (float, default 0.5): chance a gamble doubles the winnings
      (the plain game); ``None`` as an attribute in the odds variant.
    - ``win_probabilities`` (sequence of distinct floats in [0, 1], or None, default
      None): the odds variant: each episode draws its win probability uniformly from
      these and keeps it; leave ``win_probability`` at its default with it.
    - ``render_mode`` (``"ansi"`` or None).

    ## References
    - Kahneman and Tversky (1979), Econometrica 47:263.
    - Tversky and Kahneman (1992), J. Risk and Uncertainty 5:297.
    - Thaler and Johnson (1990), Management Science 36:643.

    ## Version History
    - v0: initial version. The odds variant (``win_probabilities``, a fourth
      observation feature) was added later within v0; the plain game (the default) is
      unchanged: same observation space, states, descriptions and tabular model.
    """

    game = "double_or_nothing"
    env_id = "Subrational/DoubleOrNothing-v0"
    Action = Bet

    def __init__(
        self,
        *,
        initial_stake: float = 10.0,
        max_rounds: int = 5,
        win_probability: float = 0.5,
        win_probabilities: Sequence[float] | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.initial_stake = check_real(
            "initial_stake", initial_stake, low=0.0, low_inclusive=False
        )
        self.max_rounds = check_int("max_rounds", max_rounds, low=1, high=30)
        probability = check_real("win_probability", win_probability, low=0.0, high=1.0)
        #: The odds variant's probabilities (None: the plain game).
        self.win_probabilities: tuple[float, ...] | None = None
        #: The plain game's win probability (None in the odds variant).
        self.win_probability: float | None = probability
        if win_probabilities is not None:
            if probability != 0.5:
                raise ParameterError(
                    f"pass either win_probability (one fixed chance, got {probability!r}) or "
                    f"win_probabilities (one chance drawn per episode, got "
                    f"{win_probabilities!r}), not both; add {probability!r} to "
                    f"win_probabilities or drop one of the two"
                )
            self.win_probabilities = _check_probabilities(win_probabilities)
            self.win_probability = None
        self._scale = self.initial_stake * 2.0**self.max_rounds
        self.action_space = spaces.Discrete(len(Bet))
        width = 3 if self.win_probabilities is None else 4
        self.observation_space = spaces.Box(0.0, 1.0, shape=(width,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        """One step per round."""
        return self.max_rounds

    def _kwargs(self) -> dict[str, Any]:
        if self.win_probabilities is not None:
            return {"initial_stake": self.initial_stake, "max_rounds": self.max_rounds,
                    "win_probabilities": list(self.win_probabilities)}
        return {"initial_stake": self.initial_stake, "max_rounds": self.max_rounds,
                "win_probability": self.win_probability}

    def state_win_probability(self, state: DoubleOrNothingState) -> float:
        """The chance that a gamble doubles in ``state``: its episode's, or the game's."""
        if state.win_probability is not None:
            return state.win_probability
        assert self.win_probability is not None  # a plain-game state
        return self.win_probability

    def _start_state(self, probability: float | None) -> DoubleOrNothingState:
        return DoubleOrNothingState(0, self.initial_stake, "playing", probability)

    def _start_states(self) -> list[DoubleOrNothingState]:
        if self.win_probabilities is not None:
            return [self._start_state(p) for p in self.win_probabilities]
        return [DoubleOrNothingState(0, self.initial_stake, "playing")]

    def _initial_outcomes(
        self, options: Mapping[str, Any]
    ) -> list[tuple[float, DoubleOrNothingState]]:
        probs = self.win_probabilities
        if probs is None:
            if options:
                raise ParameterError(
                    f"reset options {sorted(options)} are not understood by {self.env_id}; "
                    f"it takes none"
                )
            return [(1.0, DoubleOrNothingState(0, self.initial_stake, "playing"))]
        unknown = set(options) - {"win_probability"}
        if unknown:
            raise ParameterError(
                f"reset options {sorted(unknown)} are not understood by {self.env_id}; the "
                f"only option of the odds variant is 'win_probability' (one of {list(probs)})"
            )
        if "win_probability" in options:
            p = check_real("win_probability", options["win_probability"], low=0.0, high=1.0)
            if p not in probs:
                raise ParameterError(
                    f"reset option win_probability={p!r} is not one of this game's "
                    f"win_probabilities {list(probs)}; pass one of them, or add it to "
                    f"win_probabilities when making the env"
                )
            return [(1.0, self._start_state(p))]
        return [(1.0 / len(probs), self._start_state(p)) for p in probs]

    def _outcomes(self, state: DoubleOrNothingState, action: int) -> list[Outcome]:
        nxt = state.t + 1
        q = state.win_probability  # None in the plain game: its states stay as they were
        if state.status != "playing":
            return [(1.0, DoubleOrNothingState(nxt, state.winnings, state.status, q), 0.0)]
        if action == Bet.STOP:
            return [(1.0, DoubleOrNothingState(nxt, state.winnings, "cashed_out", q),
                     state.winnings)]
        p = self.state_win_probability(state)
        doubled = 2.0 * state.winnings
        if nxt >= self.max_rounds:
            win = (p, DoubleOrNothingState(nxt, doubled, "cashed_out", q), doubled)
        else:
            win = (p, DoubleOrNothingState(nxt, doubled, "playing", q), 0.0)
        lose = (1.0 - p, DoubleOrNothingState(nxt, 0.0, "lost", q), 0.0)
        return [o for o in (win, lose) if o[0] > 0]

    def _observe(self, state: DoubleOrNothingState) -> np.ndarray:
        features = [state.t / self.max_rounds, state.winnings / self._scale,
                    float(state.status == "playing")]
        if self.win_probabilities is not None:
            features.append(self.state_win_probability(state))
        return np.array(features, dtype=np.float32)

    def _decode(self, observation: np.ndarray) -> DoubleOrNothingState:
        probs = self.win_probabilities
        width = 3 if probs is None else 4
        if observation.shape != (width,):
            kind = "an odds-variant" if probs is not None else "a"
            raise UnknownObservationError(
                f"{kind} double-or-nothing observation has shape ({width},), got "
                f"{observation.shape}"
            )
        probability = None
        if probs is not None:
            # The drawn probability is the one whose float32 observation this is.
            matches = [p for p in probs if np.float32(p) == observation[3]]
            probability = matches[0] if matches else None
        t = round(float(observation[0]) * self.max_rounds)
        ratio = float(observation[1]) * 2.0**self.max_rounds
        doublings = round(np.log2(ratio)) if ratio > 0 else None
        winnings = 0.0 if doublings is None else self.initial_stake * 2.0**doublings
        playing = float(observation[2]) == 1.0
        if playing:
            status = "playing"
        else:
            status = "lost" if winnings == 0.0 else "cashed_out"
        if probs is not None and probability is None:
            raise UnknownObservationError(
                f"{observation.tolist()} is not a double-or-nothing observation: its win "
                f"probability {float(observation[3]):.7g} is not one of win_probabilities "
                f"{list(probs)}; expected [round/max_rounds, "
                f"winnings/(initial_stake*2**max_rounds), playing (0|1), win_probability]"
            )
        state = DoubleOrNothingState(t, winnings, status, probability)
        if not self._valid(state) or not np.array_equal(self._observe(state), observation):
            expected = ("[round/max_rounds, winnings/(initial_stake*2**max_rounds), "
                        "playing (0|1)" + ("]" if probs is None else ", win_probability]"))
            variant = "" if probs is None else f", win_probabilities={list(probs)}"
            raise UnknownObservationError(
                f"{observation.tolist()} is not a double-or-nothing observation with "
                f"initial_stake={self.initial_stake}, max_rounds={self.max_rounds}{variant}; "
                f"expected {expected}"
            )
        return state

    def _valid(self, state: DoubleOrNothingState) -> bool:
        if not 0 <= state.t <= self.max_rounds:
            return False
        doublings = (
            round(np.log2(state.winnings / self.initial_stake)) if state.winnings else None
        )
        if state.status == "playing":
            return state.t < self.max_rounds and doublings == state.t
        if state.status == "lost":
            return state.t >= 1
        if doublings is None:
            return False
        # Stopping in round r leaves r doublings; winning the last round leaves max_rounds.
        return 0 <= doublings <= state.t - 1 or state.t == self.max_rounds == doublings

    def _describe(self, state: DoubleOrNothingState) -> str:
        money = _dollars(state.winnings)
        left = self.max_rounds - state.t
        if state.status == "playing":
            odds = (f"{self.win_probability:.0%}" if state.win_probability is None
                    else _percent(state.win_probability))
            return (
                f"You have won {money} so far. This is round {state.t + 1} of "
                f"{self.max_rounds}. You can stop now and keep {money} for sure, or gamble it: "
                f"with a {odds} chance it doubles to {_dollars(2 * state.winnings)}, otherwise "
                f"you lose everything. "
                + (f"{left - 1} more round{'s' if left - 1 != 1 else ''} would follow."
                   if left > 1 else "This is the last round.")
            )
        if state.status == "lost":
            return "You gambled and lost everything; the game is over."
        return f"You took {money} home; the game is over."

    def _labels(self, state: DoubleOrNothingState) -> tuple[str, ...]:
        return ("stop", "gamble")

    def _info(self, state: DoubleOrNothingState) -> dict[str, Any]:
        info = {"round": state.t, "winnings": state.winnings, "status": state.status}
        if state.win_probability is not None:
            info["win_probability"] = state.win_probability
        return info


def _check_probabilities(value: object) -> tuple[float, ...]:
    """``win_probabilities`` as a tuple of distinct floats in [0, 1].

    Raises:
        ParameterError: for a non-sequence, an empty one, an entry that is not a number
            in [0, 1], or two entries the float32 observation cannot tell apart.
    """
    example = "win_probabilities=(0.3, 0.4, 0.5, 0.6, 0.7)"
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ParameterError(
            f"win_probabilities must be a sequence of probabilities or None, got {value!r} "
            f"of type {type(value).__name__}; pass e.g. {example}"
        )
    items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
    if not items:
        raise ParameterError(
            f"win_probabilities must hold at least one probability, got {value!r}; pass "
            f"e.g. {example}, or None for the plain game"
        )
    probs = tuple(check_real(f"win_probabilities[{i}]", p, low=0.0, high=1.0)
                  for i, p in enumerate(items))
    seen: dict[np.float32, float] = {}
    for p in probs:
        if np.float32(p) in seen:
            raise ParameterError(
                f"win_probabilities must be distinct, got {p!r} and {seen[np.float32(p)]!r} "
                f"in {value!r} (equal as float32 observations); list each probability once"
            )
        seen[np.float32(p)] = p
    return probs


def _percent(probability: float) -> str:
    """A probability as a percentage, with as many decimals as it needs (up to 2).

    >>> _percent(0.3), _percent(0.125), _percent(1 / 3)
    ('30%', '12.5%', '33.33%')
    """
    return f"{probability * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _dollars(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"


# ------------------------------------------------------------ reference policies
def prospect_theory_gambler(
    env: str | SubrationalEnv = "Subrational/DoubleOrNothing-v0",
    *,
    alpha: float = 0.88,
    beta: float = 0.88,
    loss_aversion: float = 2.25,
    gamma: float = 0.61,
    delta: float = 0.69,
    reference: str = "current",
    planning: str = "myopic",
    temperature: float = 0.0,
    seed: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> TabularPolicy:
    """A cumulative-prospect-theory player of double or nothing.

    Defaults are the Tversky and Kahneman (1992) median estimates: value curvature
    ``alpha = beta = 0.88``, loss aversion ``lambda = 2.25``, probability weighting
    ``gamma = 0.61`` for gains and ``delta = 0.69`` for losses.

    With ``planning="myopic"`` (the default) each round's bet is evaluated on its own,
    as it is presented: keep the winnings, or one double-or-nothing bet (narrow
    framing, Kahneman and Lovallo 1993). With ``planning="naive"`` the player compares
    stopping with every plan "gamble ``k`` more rounds, then stop" that the remaining
    rounds allow, and gambles if the best plan beats stopping (the naive CPT planner of
    Barberis 2012): probability weighting then makes long-shot plans attractive (a
    lottery-ticket effect), so it may gamble early and stop later. With ``reference="current"`` each
    plan is framed as a gain or loss relative to the winnings in hand (narrow
    framing: stopping is worth 0); with ``reference="stake"`` relative to the initial
    stake: what was won above it is house money (Thaler and Johnson 1990), so stopping
    is a gain of ``winnings - stake`` and losing everything a loss of the stake only (in
    round 1 it is the same as ``"current"``); with ``reference="zero"`` all winnings are
    gains relative to having nothing, losing everything is no loss, and loss aversion
    plays no part.

    In the odds variant of the game (``win_probabilities=...``) each state is judged at
    its own episode's win probability.
    """
    game = make_env(env, **dict(env_kwargs or {}))
    require_game(game, "double_or_nothing", "prospect_theory_gambler")
    if reference not in PROSPECT_REFERENCES:
        raise ParameterError(
            f"reference must be one of {PROSPECT_REFERENCES}, got {reference!r}; 'current' "
            f"(the winnings in hand), 'stake' (the initial stake) or 'zero' (nothing)"
        )
    alpha = check_real("alpha", alpha, low=0.0, low_inclusive=False, high=1.0)
    beta = check_real("beta", beta, low=0.0, low_inclusive=False, high=1.0)
    loss_aversion = check_real("loss_aversion", loss_aversion, low=0.0)
    gamma = check_real("gamma", gamma, low=0.28, high=1.0)  # w(p) is monotone for gamma > 0.28
    delta = check_real("delta", delta, low=0.28, high=1.0)
    if planning not in ("myopic", "naive"):
        raise ParameterError(f"planning must be 'myopic' or 'naive', got {planning!r}")

    def utility(state: Any) -> tuple[float, float]:
        left = 1 if planning == "myopic" else game.max_rounds - state.t
        stop, gamble = prospect_theory_values(
            state.winnings, left, game.state_win_probability(state), alpha=alpha, beta=beta,
            loss_aversion=loss_aversion, gamma=gamma, delta=delta, reference=reference,
            planning=planning, stake=game.initial_stake)
        return (float(stop), float(gamble))

    return logit_policy(
        game, utility, temperature=temperature, seed=seed,
        name=f"prospect theory({planning}, reference={reference})",
        params={"alpha": alpha, "beta": beta, "loss_aversion": loss_aversion,
                "gamma": gamma, "delta": delta, "reference": reference,
                "planning": planning},
    )
