"""Double or nothing: cash out or gamble your winnings."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym._validation import check_int, check_real
from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError


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
    """

    t: int
    winnings: float
    status: str


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

    ## Action Space
    ``Discrete(2)``: ``Bet.STOP = 0``, ``Bet.GAMBLE = 1``.

    ## Observation Space
    ``Box(0, 1, (3,), float32)``:

    | index | feature   | meaning                                                    |
    |-------|-----------|------------------------------------------------------------|
    | 0     | round     | rounds played / max_rounds                                 |
    | 1     | winnings  | winnings / (initial_stake * 2 ** max_rounds)               |
    | 2     | playing   | 1 while the game is on, 0 after cashing out or losing      |

    ## Rewards
    The amount taken home, paid when you stop (or when you win the last round);
    0 everywhere else.

    ## Starting State
    Round 0 holding ``initial_stake``.

    ## Episode End
    Termination: after exactly ``max_rounds`` steps; after stopping or losing the
    game sits in an absorbing state where actions do nothing. Truncation: never.

    ## Information
    ``info["round"]``, ``info["winnings"]`` and ``info["status"]``.

    ## Arguments
    >>> import gymnasium as gym
    >>> env = gym.make("Subrational/DoubleOrNothing-v0", initial_stake=10, max_rounds=5)
    >>> obs, info = env.reset(seed=0)
    >>> env.unwrapped.observation_meaning(obs)
    DoubleOrNothingState(t=0, winnings=10.0, status='playing')
    >>> obs, reward, terminated, truncated, info = env.step(Bet.STOP)
    >>> reward, terminated, info["status"]
    (10.0, False, 'cashed_out')

    - ``initial_stake`` (float, default 10.0): winnings at the start, > 0.
    - ``max_rounds`` (int, default 5): rounds, the episode length, 1..30.
    - ``win_probability`` (float, default 0.5): chance a gamble doubles the winnings.
    - ``render_mode`` (``"ansi"`` or None).

    ## References
    - Kahneman and Tversky (1979), Econometrica 47:263.
    - Tversky and Kahneman (1992), J. Risk and Uncertainty 5:297.
    - Thaler and Johnson (1990), Management Science 36:643.

    ## Version History
    - v0: initial version.
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
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.initial_stake = check_real(
            "initial_stake", initial_stake, low=0.0, low_inclusive=False
        )
        self.max_rounds = check_int("max_rounds", max_rounds, low=1, high=30)
        self.win_probability = check_real("win_probability", win_probability, low=0.0, high=1.0)
        self._scale = self.initial_stake * 2.0**self.max_rounds
        self.action_space = spaces.Discrete(len(Bet))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        """One step per round."""
        return self.max_rounds

    def _kwargs(self) -> dict[str, Any]:
        return {"initial_stake": self.initial_stake, "max_rounds": self.max_rounds,
                "win_probability": self.win_probability}

    def _start_states(self) -> list[DoubleOrNothingState]:
        return [DoubleOrNothingState(0, self.initial_stake, "playing")]

    def _initial_outcomes(
        self, options: Mapping[str, Any]
    ) -> list[tuple[float, DoubleOrNothingState]]:
        if options:
            raise ParameterError(
                f"reset options {sorted(options)} are not understood by {self.env_id}; "
                f"it takes none"
            )
        return [(1.0, DoubleOrNothingState(0, self.initial_stake, "playing"))]

    def _outcomes(self, state: DoubleOrNothingState, action: int) -> list[Outcome]:
        nxt = state.t + 1
        if state.status != "playing":
            return [(1.0, DoubleOrNothingState(nxt, state.winnings, state.status), 0.0)]
        if action == Bet.STOP:
            return [(1.0, DoubleOrNothingState(nxt, state.winnings, "cashed_out"),
                     state.winnings)]
        doubled = 2.0 * state.winnings
        if nxt >= self.max_rounds:
            win = (self.win_probability, DoubleOrNothingState(nxt, doubled, "cashed_out"),
                   doubled)
        else:
            win = (self.win_probability, DoubleOrNothingState(nxt, doubled, "playing"), 0.0)
        lose = (1.0 - self.win_probability, DoubleOrNothingState(nxt, 0.0, "lost"), 0.0)
        return [o for o in (win, lose) if o[0] > 0]

    def _observe(self, state: DoubleOrNothingState) -> np.ndarray:
        return np.array(
            [state.t / self.max_rounds, state.winnings / self._scale,
             float(state.status == "playing")],
            dtype=np.float32,
        )

    def _decode(self, observation: np.ndarray) -> DoubleOrNothingState:
        if observation.shape != (3,):
            raise UnknownObservationError(
                f"a double-or-nothing observation has shape (3,), got {observation.shape}"
            )
        t = round(float(observation[0]) * self.max_rounds)
        ratio = float(observation[1]) * 2.0**self.max_rounds
        doublings = round(np.log2(ratio)) if ratio > 0 else None
        winnings = 0.0 if doublings is None else self.initial_stake * 2.0**doublings
        playing = float(observation[2]) == 1.0
        if playing:
            status = "playing"
        else:
            status = "lost" if winnings == 0.0 else "cashed_out"
        state = DoubleOrNothingState(t, winnings, status)
        if not self._valid(state) or not np.array_equal(self._observe(state), observation):
            raise UnknownObservationError(
                f"{observation.tolist()} is not a double-or-nothing observation with "
                f"initial_stake={self.initial_stake}, max_rounds={self.max_rounds}; expected "
                f"[round/max_rounds, winnings/(initial_stake*2**max_rounds), playing (0|1)]"
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
            odds = f"{self.win_probability:.0%}"
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
        return {"round": state.t, "winnings": state.winnings, "status": state.status}


def _dollars(amount: float) -> str:
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"
