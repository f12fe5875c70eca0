"""Logger plumbing: imitation's and SB3's loggers, kept in memory and quiet.

A library must not print or write log files of its own: the trainers log into a
:class:`MemoryWriter`, from which :func:`~subrational_gym.learners.train` keeps the last
value of each loss for its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from imitation.util import logger as imit_logger
from stable_baselines3.common import logger as sb_logger


class MemoryWriter(sb_logger.KVWriter):
    """Keeps the last value of every logged key, and writes nothing."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def write(self, key_values: dict[str, Any], key_excluded: Any, step: int = 0) -> None:
        """Keep the numeric values."""
        for k, v in key_values.items():
            if isinstance(v, int | float | np.floating | np.integer):
                self.values[k] = float(v)

    def close(self) -> None:
        """Nothing to close."""
        pass

    def last(self, keep: Iterable[str]) -> dict[str, float]:
        """The last value of each key whose final ``/``-part is in ``keep``."""
        keep = set(keep)
        return {k.split("/")[-1]: v for k, v in self.values.items()
                if k.split("/")[-1] in keep}


def sb3_logger(folder: str) -> tuple[sb_logger.Logger, MemoryWriter]:
    """An SB3 logger that writes only to memory."""
    memory = MemoryWriter()
    return sb_logger.Logger(folder=folder, output_formats=[memory]), memory


def imitation_logger(folder: str) -> tuple[imit_logger.HierarchicalLogger, MemoryWriter]:
    """An imitation logger that writes only to memory."""
    default, memory = sb3_logger(folder)
    return imit_logger.HierarchicalLogger(default, format_strs=[]), memory
