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
from collections.abc import Mapping
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

# fmt: off
#: Per-game overrides: ``GAME_DEFAULTS[algorithm][game]``.
GAME_DEFAULTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "bc": {
        # One decision per episode: full-batch epochs converge to the per-offer MLE.
        "ultimatum": {"budget": 200, "batch_size": 512},
        # The raw minute lets the network pool evidence across rarely visited minutes.
        "marshmallow": {"features": "raw"},
        # One indicator per state and large batches settle on the per-state frequencies.
        "procrastination": {"budget": 200, "batch_size": 512, "features": "onehot"},
    },
    "distribution_matching": {
        # The raw minute with weight decay pools minutes: below the per-state floor.
        "marshmallow": {"budget": 3000, "features": "raw", "weight_decay": 1.0},
    },
    "gail": {
        # Twice the entropy bonus keeps the slow, too deterministic generator closer.
        "marshmallow": {"ent_coef": 0.1},
    },
    "dqn": {
        # Ten waits in a row need longer exploration than the default schedule gives.
        "marshmallow": {"budget": 100_000, "exploration_fraction": 0.6,
                        "exploration_final_eps": 0.05},
    },
}
# fmt: on

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
        game: The env's ``game`` attribute, e.g. ``"marshmallow"``.
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
