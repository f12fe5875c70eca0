"""Academic procrastination: write the report now or later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from subrational_gym._validation import check_bool, check_int, check_real, check_real_vector
from subrational_gym.core import Outcome, SubrationalEnv
from subrational_gym.errors import ParameterError, UnknownObservationError


class Activity(IntEnum):
    """The student's actions each day."""

    PLAY = 0
    WRITE = 1


class Commitment(IntEnum):
    """The same two actions read at the opening commitment decision (variant only)."""

    DECLINE = 0
    COMMIT = 1


class ProcrastinationState(NamedTuple):
    """Meaning of a procrastination observation.

    Attributes:
        t: Step (in the self-imposed-deadline variant step 0 is the commitment decision
            and day ``d`` is step ``d + 1``).
        day: Days elapsed (0-based day index; ``deadline_days`` once the deadline passed),
            or -1 at the commitment decision.
        progress: Days of writing done so far, capped at ``work_days_needed``.
        committed: Whether the student committed to an early start.
    """

    t: int
    day: int
    progress: int
    committed: bool


class ProcrastinationEnv(SubrationalEnv[ProcrastinationState]):
    """A student with a report due: write today, or play and write later.

    ## Description
    A report is due in ``deadline_days`` days and needs ``work_days_needed`` days of
    writing. Each day the student WRITEs (paying an effort cost ``effort_costs[d]``
    that rises as the deadline nears) or PLAYs (a leisure reward). At the deadline
    the grade reward is paid if the report is done, otherwise a failure penalty.
    Rising costs make an exponentially discounting agent with gamma near 1 write
    early and a naive present-biased (beta-delta) agent postpone; but an exponential
    agent with a low enough gamma also writes at the last minute, so the start day
    alone cannot tell time inconsistency from impatience. Hence the variant
    ``self_imposed_deadline=True`` (after Ariely and Wertenbroch 2002): the episode
    opens with one extra decision, to commit (or not) to finishing the first day of
    writing by day ``commit_day``, paying ``commit_penalty`` when day ``commit_day``
    ends without it, and ``commit_cost`` for committing at all. No time-consistent
    agent gains from committing, whatever its gamma; a sophisticated present-biased
    agent can, so commitment demand is the observable signature of time
    inconsistency. This is the fourth game of Coletta et al. 2024 (arXiv 2402.08755).

    ## Action Space
    ``Discrete(2)``: ``Activity.PLAY = 0``, ``Activity.WRITE = 1``; at the opening
    commitment decision the same indices read ``Commitment.DECLINE = 0``,
    ``Commitment.COMMIT = 1``.

    ## Observation Space
    ``Box(0, 1, (4,), float32)``:

    | index | feature      | meaning                                                  |
    |-------|--------------|----------------------------------------------------------|
    | 0     | day          | days elapsed / deadline_days (0 at the commitment step)  |
    | 1     | progress     | days written / work_days_needed                          |
    | 2     | commit_phase | 1 at the opening commitment decision, else 0             |
    | 3     | committed    | 1 if the student committed to an early start             |

    ## Rewards
    Each day: ``leisure_reward`` for PLAY, ``-effort_costs[d]`` for WRITE. On the last
    day, additionally ``grade_reward`` if ``work_days_needed`` days were written, else
    ``-failure_penalty``. In the variant: ``-commit_cost`` for committing, and
    ``-commit_penalty`` at the end of day ``commit_day`` if committed and nothing is
    written yet. Writing after the report is done costs effort and adds nothing.

    ## Starting State
    Day 0 with nothing written (the commitment decision first, in the variant).

    ## Episode End
    Termination: after ``deadline_days`` steps (plus one in the variant). Truncation:
    never.

    ## Information
    ``info["day"]``, ``info["progress"]``, ``info["committed"]``.

    ## Arguments
    >>> import gymnasium as gym
    >>> env = gym.make("Subrational/Procrastination-v0", deadline_days=3, work_days_needed=1)
    >>> obs, info = env.reset(seed=0)
    >>> import textwrap
    >>> print(textwrap.fill(env.unwrapped.describe(obs), 80))
    Your report is due in 3 days and needs 1 day of writing; you have written 0 days
    so far. Writing today costs you 1.0 units of effort; playing instead is worth
    1.0 units of fun. A finished report earns a grade worth 10.0; an unfinished one
    costs you 5.0.
    >>> rewards = [env.step(a)[1] for a in (Activity.PLAY, Activity.PLAY, Activity.WRITE)]
    >>> rewards
    [1.0, 1.0, 8.0]

    - ``deadline_days`` (int, default 7): days until the report is due, 1..365.
    - ``work_days_needed`` (int, default 2): days of writing the report needs,
      1..deadline_days.
    - ``effort_costs`` (sequence of ``deadline_days`` floats >= 0, default linear from
      1 to 2): cost of writing on each day.
    - ``leisure_reward`` (float, default 1.0): reward for a day of play.
    - ``grade_reward`` (float, default 10.0): reward for a finished report.
    - ``failure_penalty`` (float, default 5.0, >= 0): cost of an unfinished report.
    - ``self_imposed_deadline`` (bool, default False): add the commitment decision.
    - ``commit_day`` (int, default 3): the first day of writing must be done by the end
      of this day (1-based), 1..deadline_days.
    - ``commit_penalty`` (float, default 5.0): paid if that day passes with nothing written.
    - ``commit_cost`` (float, default 0.1, >= 0): paid for committing.
    - ``render_mode`` (``"ansi"`` or None).

    ## References
    - Ariely and Wertenbroch (2002), Psychological Science 13:219.
    - O'Donoghue and Rabin (1999), American Economic Review 89:103.
    - Steel (2007), Psychological Bulletin 133:65.

    ## Version History
    - v0: initial version.
    """

    game = "procrastination"
    env_id = "Subrational/Procrastination-v0"
    Action = Activity

    def __init__(
        self,
        *,
        deadline_days: int = 7,
        work_days_needed: int = 2,
        effort_costs: Sequence[float] | None = None,
        leisure_reward: float = 1.0,
        grade_reward: float = 10.0,
        failure_penalty: float = 5.0,
        self_imposed_deadline: bool = False,
        commit_day: int = 3,
        commit_penalty: float = 5.0,
        commit_cost: float = 0.1,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.deadline_days = check_int("deadline_days", deadline_days, low=1, high=365)
        self.work_days_needed = check_int("work_days_needed", work_days_needed, low=1)
        if self.work_days_needed > self.deadline_days:
            raise ParameterError(
                f"work_days_needed ({self.work_days_needed}) must not exceed deadline_days "
                f"({self.deadline_days}): the report could never be finished; lower "
                f"work_days_needed or raise deadline_days"
            )
        if effort_costs is None:
            self.effort_costs = tuple(
                float(c) for c in np.linspace(1.0, 2.0, self.deadline_days)
            ) if self.deadline_days > 1 else (1.0,)
        else:
            self.effort_costs = check_real_vector(
                "effort_costs", effort_costs, length=self.deadline_days, low=0.0
            )
        self.leisure_reward = check_real("leisure_reward", leisure_reward)
        self.grade_reward = check_real("grade_reward", grade_reward)
        self.failure_penalty = check_real("failure_penalty", failure_penalty, low=0.0)
        self.self_imposed_deadline = check_bool("self_imposed_deadline", self_imposed_deadline)
        self.commit_day = check_int("commit_day", commit_day, low=1)
        if self.self_imposed_deadline and self.commit_day > self.deadline_days:
            raise ParameterError(
                f"commit_day ({self.commit_day}) must be at most deadline_days "
                f"({self.deadline_days}); choose an earlier day to commit to"
            )
        self.commit_penalty = check_real("commit_penalty", commit_penalty, low=0.0)
        self.commit_cost = check_real("commit_cost", commit_cost, low=0.0)
        self._offset = 1 if self.self_imposed_deadline else 0
        self.action_space = spaces.Discrete(len(Activity))
        self.observation_space = spaces.Box(0.0, 1.0, shape=(4,), dtype=np.float32)

    @property
    def horizon(self) -> int:
        """One step per day, plus the commitment decision in the variant."""
        return self.deadline_days + self._offset

    def _kwargs(self) -> dict[str, Any]:
        return {
            "deadline_days": self.deadline_days, "work_days_needed": self.work_days_needed,
            "effort_costs": list(self.effort_costs), "leisure_reward": self.leisure_reward,
            "grade_reward": self.grade_reward, "failure_penalty": self.failure_penalty,
            "self_imposed_deadline": self.self_imposed_deadline, "commit_day": self.commit_day,
            "commit_penalty": self.commit_penalty, "commit_cost": self.commit_cost,
        }

    def _start(self) -> ProcrastinationState:
        return ProcrastinationState(0, -1 if self.self_imposed_deadline else 0, 0, False)

    def _start_states(self) -> list[ProcrastinationState]:
        return [self._start()]

    def _initial_outcomes(
        self, options: Mapping[str, Any]
    ) -> list[tuple[float, ProcrastinationState]]:
        if options:
            raise ParameterError(
                f"reset options {sorted(options)} are not understood by {self.env_id}; "
                f"it takes none"
            )
        return [(1.0, self._start())]

    def _outcomes(self, state: ProcrastinationState, action: int) -> list[Outcome]:
        if state.day < 0:  # the commitment decision
            committed = action == Commitment.COMMIT
            reward = -self.commit_cost if committed else 0.0
            return [(1.0, ProcrastinationState(1, 0, 0, committed), reward)]
        d = state.day
        if action == Activity.WRITE:
            reward = -self.effort_costs[d]
            progress = min(state.progress + 1, self.work_days_needed)
        else:
            reward = self.leisure_reward
            progress = state.progress
        if state.committed and d + 1 == self.commit_day and progress == 0:
            reward -= self.commit_penalty
        if d + 1 == self.deadline_days:
            if progress >= self.work_days_needed:
                reward += self.grade_reward
            else:
                reward -= self.failure_penalty
        return [(1.0, ProcrastinationState(state.t + 1, d + 1, progress, state.committed),
                 reward)]

    def _observe(self, state: ProcrastinationState) -> np.ndarray:
        return np.array(
            [
                max(state.day, 0) / self.deadline_days,
                state.progress / self.work_days_needed,
                float(state.day < 0),
                float(state.committed),
            ],
            dtype=np.float32,
        )

    def _decode(self, observation: np.ndarray) -> ProcrastinationState:
        if observation.shape != (4,):
            raise UnknownObservationError(
                f"a procrastination observation has shape (4,), got {observation.shape}"
            )
        day_f, prog_f, phase, committed = (float(v) for v in observation)
        day = -1 if phase == 1.0 else round(day_f * self.deadline_days)
        progress = round(prog_f * self.work_days_needed)
        state = ProcrastinationState(day + self._offset, day, progress, committed == 1.0)
        valid = (
            phase in (0.0, 1.0)
            and committed in (0.0, 1.0)
            and (phase == 0.0 or self.self_imposed_deadline)
            and (not state.committed or self.self_imposed_deadline)
            and (phase == 0.0 or (progress == 0 and not state.committed))
            and -1 <= day <= self.deadline_days
            and 0 <= progress <= min(max(day, 0), self.work_days_needed)
        )
        if not valid or not np.array_equal(self._observe(state), observation):
            raise UnknownObservationError(
                f"{observation.tolist()} is not a procrastination observation with "
                f"deadline_days={self.deadline_days}, work_days_needed={self.work_days_needed},"
                f" self_imposed_deadline={self.self_imposed_deadline}; expected [day/deadline, "
                f"progress/needed, commit_phase (0|1), committed (0|1)]"
            )
        return state

    def _describe(self, state: ProcrastinationState) -> str:
        need = self.work_days_needed
        if state.day < 0:
            return (
                f"Your report is due in {self.deadline_days} days and needs {need} "
                f"day{'s' if need != 1 else ''} of writing. Before you start, you may commit "
                f"to finishing your first day of writing by day {self.commit_day}: committing "
                f"costs {self.commit_cost:g}, and if day {self.commit_day} ends with nothing "
                f"written you pay a penalty of {self.commit_penalty:g}."
            )
        if state.day >= self.deadline_days:
            done = state.progress >= need
            return "The deadline has passed; your report was " + (
                "finished." if done else "not finished."
            )
        left = self.deadline_days - state.day
        text = (
            f"Your report is due in {left} day{'s' if left != 1 else ''} and needs {need} "
            f"day{'s' if need != 1 else ''} of writing; you have written {state.progress} "
            f"day{'s' if state.progress != 1 else ''} so far. Writing today costs you "
            f"{self.effort_costs[state.day]:.1f} units of effort; playing instead is worth "
            f"{self.leisure_reward:.1f} units of fun. A finished report earns a grade worth "
            f"{self.grade_reward:.1f}; an unfinished one costs you {self.failure_penalty:.1f}."
        )
        if state.committed and state.day < self.commit_day and state.progress == 0:
            text += (
                f" You committed to a first day of writing by day {self.commit_day}, or you "
                f"pay {self.commit_penalty:g}."
            )
        return text

    def _labels(self, state: ProcrastinationState) -> tuple[str, ...]:
        return ("decline", "commit") if state.day < 0 else ("play", "write")

    def _info(self, state: ProcrastinationState) -> dict[str, Any]:
        return {"day": state.day, "progress": state.progress, "committed": state.committed}
