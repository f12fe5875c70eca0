"""The Stanford marshmallow experiment (delay of gratification)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym._validation import check_int, check_real
from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError


class Choice(IntEnum):
    """The child's actions each minute."""

    WAIT = 0
    EAT = 1


class MarshmallowState(NamedTuple):
    """Meaning of a marshmallow observation.

    Attributes:
        t: Minutes elapsed (0..wait_minutes).
        status: ``"waiting"`` (treat untouched), ``"eaten"`` (gave in and ate it),
            ``"rewarded"`` (waited and got the large reward) or ``"stood_up"``
            (waited, but the experimenter did not bring the second treat).
    """

    t: int
    status: str


_STATUSES = ("waiting", "eaten", "rewarded", "stood_up")


class MarshmallowEnv(SubrationalEnv[MarshmallowState]):
    """A child alone with one treat: eat it now, or wait for two.

    ## Description
    The child sits with one marshmallow for ``wait_minutes`` minutes. Each minute it
    may WAIT or EAT. Eating gives ``small_reward`` and ends play (an absorbing state
    until the horizon). A child that waits the whole time gets ``large_reward`` when
    the experimenter comes back, which a reliable experimenter always does; with an
    unreliable one (``reliability < 1``) the second treat never comes and the child
    eats the one it has (``small_reward``), as in Kidd, Palmeri and Aslin (2013).
    An exponentially discounting agent facing a reliable experimenter either eats at
    once or waits to the end; children often give in half-way (Mischel and Ebbesen
    1970). This is the second game of Coletta et al. 2024 (arXiv 2402.08755).

    ## Action Space
    ``Discrete(2)``: ``Choice.WAIT = 0``, ``Choice.EAT = 1``.

    ## Observation Space
    ``Box(0, 1, (4,), float32)``:

    | index | feature  | meaning                                               |
    |-------|----------|-------------------------------------------------------|
    | 0     | elapsed  | minutes elapsed / wait_minutes                        |
    | 1     | eaten    | 1 once the child has eaten the single treat           |
    | 2     | finished | 1 once the child waited all the time (end of episode) |
    | 3     | rewarded | 1 if the experimenter then brought the large reward   |

    ## Rewards
    ``small_reward`` for eating; ``large_reward`` after waiting every minute with a
    returning experimenter (probability ``reliability``), else ``small_reward``.

    ## Starting State
    Minute 0, treat untouched.

    ## Episode End
    Termination: after exactly ``wait_minutes`` steps (eating leads to an absorbing
    state in which actions do nothing). Truncation: never.

    ## Information
    ``info["minute"]`` and ``info["status"]`` (see :class:`MarshmallowState`).

    ## Arguments
    >>> import gymnasium as gym
    >>> env = gym.make("Subrational/Marshmallow-v0", wait_minutes=3)
    >>> obs, info = env.reset(seed=0)
    >>> import textwrap
    >>> print(textwrap.fill(env.unwrapped.describe(obs), 80))
    You are alone with one marshmallow. If you wait 3 more minutes until the grown-
    up comes back, you get 2 marshmallows; if you eat it now, you get only this one.
    >>> for action in (Choice.WAIT, Choice.WAIT, Choice.WAIT):
    ...     obs, reward, terminated, truncated, info = env.step(action)
    >>> reward, terminated, info["status"]
    (2.0, True, 'rewarded')

    - ``wait_minutes`` (int, default 10): minutes to wait, the episode length
      (Lamm et al. 2018 used 10; Mischel and Kidd et al. 15).
    - ``small_reward`` (float, default 1.0): value of the treat eaten now, >= 0.
    - ``large_reward`` (float, default 2.0): value of two treats, > ``small_reward``.
    - ``reliability`` (float, default 1.0): probability the experimenter comes back.
    - ``render_mode`` (``"ansi"`` or None).

    ## References
    - Mischel and Ebbesen (1970), J. Personality and Social Psychology 16:329.
    - Kidd, Palmeri and Aslin (2013), Cognition 126:109.
    - Lamm et al. (2018), Child Development 89:e261.

    ## Version History
    - v0: initial version.
    """

    game = "marshmallow"
    env_id = "Subrational/Marshmallow-v0"
    Action = Choice

    def __init__(
        self,
        *,
        wait_minutes: int = 10,
        small_reward: float = 1.0,
        large_reward: float = 2.0,
        reliability: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.wait_minutes = check_int("wait_minutes", wait_minutes, low=1, high=10_000)
        self.small_reward = check_real("small_reward", small_reward, low=0.0)
        self.large_reward = check_real("large_reward", large_reward, low=0.0)
        if self.large_reward <= self.small_reward:
            raise ParameterError(
                f"large_reward must exceed small_reward ({self.small_reward}), got "
                f"{self.large_reward}; otherwise there is nothing to wait for"
            )
        self.reliability = check_real("reliability", reliability, low=0.0, high=1.0)
        self.action_space = spaces.Discrete(len(Choice))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        """One step per minute."""
        return self.wait_minutes

    def _kwargs(self) -> dict[str, Any]:
        return {"wait_minutes": self.wait_minutes, "small_reward": self.small_reward,
                "large_reward": self.large_reward, "reliability": self.reliability}

    def _start_states(self) -> list[MarshmallowState]:
        return [MarshmallowState(0, "waiting")]

    def _initial_outcomes(self, options: Mapping[str, Any]) -> list[tuple[float, MarshmallowState]]:
        if options:
            raise ParameterError(
                f"reset options {sorted(options)} are not understood by {self.env_id}; "
                f"it takes none"
            )
        return [(1.0, MarshmallowState(0, "waiting"))]

    def _outcomes(self, state: MarshmallowState, action: int) -> list[Outcome]:
        nxt = state.t + 1
        if state.status != "waiting":
            return [(1.0, MarshmallowState(nxt, state.status), 0.0)]
        if action == Choice.EAT:
            return [(1.0, MarshmallowState(nxt, "eaten"), self.small_reward)]
        if nxt < self.wait_minutes:
            return [(1.0, MarshmallowState(nxt, "waiting"), 0.0)]
        outcomes = [
            (self.reliability, MarshmallowState(nxt, "rewarded"), self.large_reward),
            (1.0 - self.reliability, MarshmallowState(nxt, "stood_up"), self.small_reward),
        ]
        return [o for o in outcomes if o[0] > 0]

    def _observe(self, state: MarshmallowState) -> np.ndarray:
        return np.array(
            [
                state.t / self.wait_minutes,
                float(state.status == "eaten"),
                float(state.status in ("rewarded", "stood_up")),
                float(state.status == "rewarded"),
            ],
            dtype=np.float32,
        )

    def _decode(self, observation: np.ndarray) -> MarshmallowState:
        if observation.shape != (4,):
            raise UnknownObservationError(
                f"a marshmallow observation has shape (4,), got {observation.shape}"
            )
        t = round(float(observation[0]) * self.wait_minutes)
        eaten, finished = float(observation[1]), float(observation[2])
        candidates = [MarshmallowState(t, s) for s in _STATUSES]
        for state in candidates:
            if self._valid(state) and np.array_equal(self._observe(state), observation):
                return state
        raise UnknownObservationError(
            f"{observation.tolist()} is not a marshmallow observation with "
            f"wait_minutes={self.wait_minutes}; expected [minute/wait_minutes, eaten (0|1), "
            f"finished (0|1), rewarded (0|1)] (eaten={eaten}, finished={finished})"
        )

    def _valid(self, state: MarshmallowState) -> bool:
        if not 0 <= state.t <= self.wait_minutes:
            return False
        if state.status == "waiting":
            return state.t < self.wait_minutes
        if state.status == "eaten":
            return state.t >= 1
        return state.t == self.wait_minutes

    def _describe(self, state: MarshmallowState) -> str:
        left = self.wait_minutes - state.t
        small = _treats(self.small_reward)
        large = _treats(self.large_reward)
        if state.status == "waiting":
            waited = "" if state.t == 0 else (
                f"You have already waited {state.t} minute{'s' if state.t != 1 else ''}. "
            )
            return (
                f"You are alone with {small}. {waited}If you wait {left} more "
                f"minute{'s' if left != 1 else ''} until the grown-up comes back, you get "
                f"{large}; if you eat it now, you get only this one."
            )
        if state.status == "eaten":
            return f"You ate the marshmallow after {state.t - 1} minutes of waiting."
        if state.status == "rewarded":
            return f"You waited all {self.wait_minutes} minutes and got {large}."
        return f"You waited all {self.wait_minutes} minutes, but the grown-up brought no more."

    def _labels(self, state: MarshmallowState) -> tuple[str, ...]:
        return ("wait", "eat")

    def _info(self, state: MarshmallowState) -> dict[str, Any]:
        return {"minute": state.t, "status": state.status}


def _treats(amount: float) -> str:
    if amount == 1:
        return "one marshmallow"
    if float(amount).is_integer():
        return f"{int(amount)} marshmallows"
    return f"{amount:g} marshmallows"
