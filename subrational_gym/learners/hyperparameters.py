"""The base of the learners' typed hyperparameter records.

Each trainer family declares its record next to its trainer (:mod:`.cloning`,
:mod:`.adversarial`, :mod:`.reinforcement`) as a frozen dataclass whose field defaults
are the tuned defaults; :mod:`.defaults` holds the per-game overrides. Callers override
fields by name, as a mapping or as keywords of :func:`~subrational_gym.learners.train`,
and :meth:`Hyperparameters.with_overrides` rejects a name the record does not have.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FEATURE_KINDS

#: Vector envs the learners that step the game can run on (the ``venv`` hyperparameter):
#: ``"batched"``, a :class:`~subrational_gym.learners.SubrationalVecEnv`, or ``"dummy"``,
#: SB3's ``DummyVecEnv`` of single envs (the implementation before the batched env, kept
#: as the reference for speed and equivalence comparisons).
VENVS = ("batched", "dummy")


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """Hyperparameters shared by every learner.

    Attributes:
        budget: Training budget in the algorithm's unit (see
            :mod:`subrational_gym.learners.training`); ``None`` where it has none.
    """

    budget: int | None = None

    #: Fields whose value must be one of the listed strings.
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "features": FEATURE_KINDS, "venv": VENVS, "generator_reward": ("logit", "library"),
    }

    def __post_init__(self) -> None:
        budget = self.budget
        if budget is not None and (isinstance(budget, bool)
                                   or not isinstance(budget, int | np.integer) or budget < 1):
            raise LearnerError(f"budget must be a positive integer or None, got {budget!r}; "
                               f"pass e.g. budget=100, or None for the default")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, list):  # net_arch=[64, 64] as well as (64, 64)
                object.__setattr__(self, field.name, tuple(value))
            allowed = self.CHOICES.get(field.name)
            if allowed is not None and value not in allowed:
                raise LearnerError(f"{field.name} must be one of {allowed}, got {value!r}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every hyperparameter name the record takes, ``budget`` included."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def with_overrides(self, overrides: Mapping[str, Any], *, algorithm: str = "") -> Self:
        """A copy with the fields in ``overrides`` replaced.

        Raises:
            LearnerError: naming every unknown name, the valid names and the closest match.
        """
        unknown = sorted(set(overrides) - set(self.names()))
        if unknown:
            valid = sorted(n for n in self.names() if n != "budget")
            hints = [f"{name!r} -> {match[0]!r}" for name in unknown
                     if (match := difflib.get_close_matches(name, valid, n=1))]
            raise LearnerError(
                f"unknown hyperparameters {unknown} for {algorithm or type(self).__name__!r}; "
                f"it takes {valid} (and budget)"
                + (f"; did you mean {', '.join(hints)}?" if hints else "")
                + " Fix the name, or drop it if it belongs to another learner."
            )
        return dataclasses.replace(self, **dict(overrides))

    def to_dict(self) -> dict[str, Any]:
        """Every hyperparameter except ``budget``, sequences as lists (JSON-ready)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self) if f.name != "budget"}
