"""The four games of Coletta et al. 2024, one module each."""

from subrational_gym.envs.double_or_nothing import Bet, DoubleOrNothingEnv, DoubleOrNothingState
from subrational_gym.envs.marshmallow import Choice, MarshmallowEnv, MarshmallowState
from subrational_gym.envs.procrastination import (
    Activity,
    Commitment,
    ProcrastinationEnv,
    ProcrastinationState,
)
from subrational_gym.envs.ultimatum import Decision, UltimatumEnv, UltimatumState

__all__ = [
    "Activity",
    "Bet",
    "Choice",
    "Commitment",
    "Decision",
    "DoubleOrNothingEnv",
    "DoubleOrNothingState",
    "MarshmallowEnv",
    "MarshmallowState",
    "ProcrastinationEnv",
    "ProcrastinationState",
    "UltimatumEnv",
    "UltimatumState",
]
