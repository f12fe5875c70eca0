"""The tuned defaults: one record class per algorithm, and the per-game overrides.

A learner's defaults are its record's field defaults (:mod:`.cloning`,
:mod:`.adversarial`, :mod:`.reinforcement`); :data:`GAME_DEFAULTS` overrides some of
them for one game (the env's ``game`` attribute), and explicit arguments of
:func:`~subrational_gym.learners.train` win over both. Each override is an inductive
bias justified by the game's structure, tuned on seeds 0-2 of
``benchmarks/learner_fidelity.py``; the measurements behind them are in
``docs/benchmarks/tuning_history.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from subrational_gym.learners.adversarial import AIRLHyperparameters, GAILHyperparameters
from subrational_gym.learners.cloning import (
    BCHyperparameters,
    DistributionMatchingHyperparameters,
)
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.hyperparameters import Hyperparameters
from subrational_gym.learners.reinforcement import (
    DQNHyperparameters,
    PPOHyperparameters,
    ValueIterationHyperparameters,
)

#: Algorithms that learn from demonstrations.
IMITATION_ALGORITHMS = ("bc", "distribution_matching", "gail", "airl")
#: Algorithms that optimise the env's reward with exponential discount ``gamma``.
RL_ALGORITHMS = ("ppo", "dqn", "value_iteration")
ALGORITHMS = IMITATION_ALGORITHMS + RL_ALGORITHMS

#: The hyperparameter record of each algorithm.
RECORDS: Mapping[str, type[Hyperparameters]] = MappingProxyType({
    "bc": BCHyperparameters,
    "distribution_matching": DistributionMatchingHyperparameters,
    "gail": GAILHyperparameters,
    "airl": AIRLHyperparameters,
    "ppo": PPOHyperparameters,
    "dqn": DQNHyperparameters,
    "value_iteration": ValueIterationHyperparameters,
})

class _GameDefaults(Mapping[str, Mapping[str, Mapping[str, Any]]]):
    """``{algorithm: {game: overrides}}`` read from the registered studies."""

    def _table(self) -> dict[str, dict[str, Mapping[str, Any]]]:
        from subrational_gym.studies import STUDIES

        out: dict[str, dict[str, Mapping[str, Any]]] = {}
        for game, study in STUDIES.items():
            for algorithm, overrides in study.learner_defaults.items():
                out.setdefault(algorithm, {})[game] = MappingProxyType(dict(overrides))
        return out

    def __getitem__(self, algorithm: str) -> Mapping[str, Mapping[str, Any]]:
        return self._table()[algorithm]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: Per-game overrides: ``GAME_DEFAULTS[algorithm][game]`` (each game's study holds its
#: own, as ``learner_defaults``, with a comment saying why).
GAME_DEFAULTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = _GameDefaults()

#: Budgets and settings small enough for a smoke test of the imitation learners (about a
#: second each); the policies they produce mean nothing.
SMOKE_BUDGETS: Mapping[str, Mapping[str, Any]] = {
    "bc": {"budget": 1},
    "distribution_matching": {"budget": 5},
    "gail": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "airl": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
}

#: Default budget and hyperparameters of each algorithm as plain mappings (read-only;
#: the records in :data:`RECORDS` are the source).
DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    algorithm: MappingProxyType({"budget": cls().budget, **cls().to_dict()})
    for algorithm, cls in RECORDS.items()
})


def resolve(algorithm: str, game: str, overrides: Mapping[str, Any] | None = None, *,
            budget: int | None = None) -> Hyperparameters:
    """The hyperparameters ``train`` uses: defaults, then the game's, then ``overrides``.

    Args:
        algorithm: One of :data:`ALGORITHMS`.
        game: The env's ``game`` attribute (a key of the studies' registry).
        overrides: Hyperparameter names and values (``budget`` included or not).
        budget: The budget; ``None`` keeps the default.

    Raises:
        LearnerError: for an unknown algorithm or hyperparameter name, or a bad value.
    """
    if algorithm not in RECORDS:
        raise LearnerError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    hp = RECORDS[algorithm]().with_overrides(
        GAME_DEFAULTS.get(algorithm, {}).get(game, {}), algorithm=algorithm)
    hp = hp.with_overrides(dict(overrides or {}), algorithm=algorithm)
    if budget is not None:
        hp = dataclasses.replace(hp, budget=budget)
    return hp
