"""Exceptions raised by subrational_gym.

Every error names the value received, what was expected and how to fix it.
They subclass the built-in exception a caller would naturally catch
(``ValueError``, ``RuntimeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class SubrationalError(Exception):
    """Base class of every error raised by subrational_gym."""


class ParameterError(SubrationalError, ValueError):
    """An environment or policy parameter is out of range, of the wrong type or inconsistent."""


class InvalidActionError(SubrationalError, ValueError):
    """``step`` received something that is not an action of the environment."""


class ResetNeededError(SubrationalError, RuntimeError):
    """``step`` was called before ``reset`` or after the episode ended."""


class UnknownObservationError(SubrationalError, ValueError):
    """An observation does not belong to any reachable state of the game."""


class ModelTooLargeError(SubrationalError, MemoryError):
    """A dense view of a tabular model was asked for above the size limit.

    The model itself is sparse and linear in the number of states; only the dense
    ``(n_states, n_actions, n_states)`` view is refused, before it exhausts memory.
    """
