"""Exceptions raised by :mod:`subrational_gym.learners`."""

from __future__ import annotations

from subrational_gym.errors import SubrationalError
from subrational_gym.runner.errors import RunnerError


class LearnerError(SubrationalError, ValueError):
    """A learner was asked for something it cannot do (unknown algorithm, bad argument)."""


class PolicyFileError(SubrationalError, ValueError):
    """A saved-policy file is missing, malformed or from an incompatible format version."""


class SweepError(LearnerError, RunnerError):
    """A job failed after its retries, or a sweep was configured wrongly."""
