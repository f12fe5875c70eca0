"""Learners that turn demonstrations (or rewards) into per-state policies.

This subpackage needs the ``imitation`` extra (imitation, stable-baselines3, torch);
the rest of :mod:`subrational_gym` never imports it.

- :func:`train`: one entry point for ``bc``, ``gail``, ``airl``,
  ``distribution_matching`` (the learner of Coletta et al. 2024), ``ppo``, ``dqn`` and
  ``value_iteration``; returns a :class:`TrainResult` whose ``policy`` is a
  :class:`~subrational_gym.policies.TabularPolicy`.
  Hyperparameters are typed, frozen records, one per algorithm (:data:`RECORDS`, e.g.
  :class:`BCHyperparameters`), tuned per game in :data:`GAME_DEFAULTS`; :func:`resolve`
  shows what ``train`` will use. :data:`STOCK` runs GAIL or AIRL as stock imitation.
- :func:`distil`: fit an action table into a network policy SB3 and imitation can run
  (what ``train`` does with GAIL's and AIRL's iterate average).
- :func:`generate_demonstrations`: roll any policy out as imitation trajectories.
- :func:`empirical_policy`: the smoothed action frequencies of demonstrations (the
  sampling-noise floor of any learner).
- :func:`as_tabular_policy`: read an SB3 network back as a table.
- :func:`save` / :func:`load`: persist a trained learner (``torch.load`` with
  ``weights_only=True``, so loading never runs pickled code).
- :func:`seed_everything`: the one place where seeds are set.
- :class:`SubrationalVecEnv`: N copies of a game as one stable-baselines3 ``VecEnv``
  stepped in numpy (what the learners' generators and rollouts run on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from subrational_gym._lazy import lazy_names

#: Where each public name lives: a module is imported when one of its names is first
#: used, so import subrational_gym.learners (and learners.errors) loads no torch.
_WHERE = {
    "AIRLHyperparameters": "subrational_gym.learners.adversarial",
    "AdversarialHyperparameters": "subrational_gym.learners.adversarial",
    "GAILHyperparameters": "subrational_gym.learners.adversarial",
    "STOCK": "subrational_gym.learners.adversarial",
    "BCHyperparameters": "subrational_gym.learners.cloning",
    "DistributionMatchingHyperparameters": "subrational_gym.learners.cloning",
    "ALGORITHMS": "subrational_gym.learners.defaults",
    "DEFAULTS": "subrational_gym.learners.defaults",
    "GAME_DEFAULTS": "subrational_gym.learners.defaults",
    "IMITATION_ALGORITHMS": "subrational_gym.learners.defaults",
    "RECORDS": "subrational_gym.learners.defaults",
    "RL_ALGORITHMS": "subrational_gym.learners.defaults",
    "SMOKE_BUDGETS": "subrational_gym.learners.defaults",
    "resolve": "subrational_gym.learners.defaults",
    "action_counts": "subrational_gym.learners.demonstrations",
    "empirical_policy": "subrational_gym.learners.demonstrations",
    "generate_demonstrations": "subrational_gym.learners.demonstrations",
    "LearnerError": "subrational_gym.learners.errors",
    "PolicyFileError": "subrational_gym.learners.errors",
    "FEATURE_KINDS": "subrational_gym.learners.features",
    "FeatureMap": "subrational_gym.learners.features",
    "FeatureWrapper": "subrational_gym.learners.features",
    "Hyperparameters": "subrational_gym.learners.hyperparameters",
    "VENVS": "subrational_gym.learners.hyperparameters",
    "as_tabular_policy": "subrational_gym.learners.networks",
    "distil": "subrational_gym.learners.networks",
    "load": "subrational_gym.learners.persistence",
    "save": "subrational_gym.learners.persistence",
    "DQNHyperparameters": "subrational_gym.learners.reinforcement",
    "PPOHyperparameters": "subrational_gym.learners.reinforcement",
    "ValueIterationHyperparameters": "subrational_gym.learners.reinforcement",
    "seed_everything": "subrational_gym.learners.seeding",
    "TrainRecord": "subrational_gym.learners.training",
    "TrainResult": "subrational_gym.learners.training",
    "train": "subrational_gym.learners.training",
    "SubrationalVecEnv": "subrational_gym.learners.vec_env",
}

if TYPE_CHECKING:  # the names as static tools see them
    from subrational_gym.learners.adversarial import (
        STOCK,
        AdversarialHyperparameters,
        AIRLHyperparameters,
        GAILHyperparameters,
    )
    from subrational_gym.learners.cloning import (
        BCHyperparameters,
        DistributionMatchingHyperparameters,
    )
    from subrational_gym.learners.defaults import (
        ALGORITHMS,
        DEFAULTS,
        GAME_DEFAULTS,
        IMITATION_ALGORITHMS,
        RECORDS,
        RL_ALGORITHMS,
        SMOKE_BUDGETS,
        resolve,
    )
    from subrational_gym.learners.demonstrations import (
        action_counts,
        empirical_policy,
        generate_demonstrations,
    )
    from subrational_gym.learners.errors import LearnerError, PolicyFileError
    from subrational_gym.learners.features import FEATURE_KINDS, FeatureMap, FeatureWrapper
    from subrational_gym.learners.hyperparameters import VENVS, Hyperparameters
    from subrational_gym.learners.networks import as_tabular_policy, distil
    from subrational_gym.learners.persistence import load, save
    from subrational_gym.learners.reinforcement import (
        DQNHyperparameters,
        PPOHyperparameters,
        ValueIterationHyperparameters,
    )
    from subrational_gym.learners.seeding import seed_everything
    from subrational_gym.learners.training import TrainRecord, TrainResult, train
    from subrational_gym.learners.vec_env import SubrationalVecEnv

__all__ = [
    "AIRLHyperparameters",
    "ALGORITHMS",
    "AdversarialHyperparameters",
    "BCHyperparameters",
    "DQNHyperparameters",
    "DistributionMatchingHyperparameters",
    "GAILHyperparameters",
    "Hyperparameters",
    "PPOHyperparameters",
    "RECORDS",
    "STOCK",
    "ValueIterationHyperparameters",
    "distil",
    "resolve",
    "DEFAULTS",
    "FEATURE_KINDS",
    "IMITATION_ALGORITHMS",
    "RL_ALGORITHMS",
    "SMOKE_BUDGETS",
    "SubrationalVecEnv",
    "FeatureMap",
    "FeatureWrapper",
    "GAME_DEFAULTS",
    "LearnerError",
    "PolicyFileError",
    "TrainRecord",
    "TrainResult",
    "VENVS",
    "action_counts",
    "as_tabular_policy",
    "empirical_policy",
    "generate_demonstrations",
    "load",
    "save",
    "seed_everything",
    "train",
]


__getattr__, __dir__ = lazy_names(__name__, _WHERE, __all__)
