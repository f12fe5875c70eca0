"""Exceptions raised by :mod:`subrational_gym.runner`."""

from __future__ import annotations

from subrational_gym.errors import SubrationalError


class RunnerError(SubrationalError, RuntimeError):
    """A run or task failed, or a runner was configured or used wrongly.

    A client may raise its own subclass instead (``Runner(error=...)``): the learners'
    sweeps raise :class:`~subrational_gym.learners.sweeps.SweepError`.
    """
