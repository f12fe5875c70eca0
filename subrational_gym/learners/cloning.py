"""Behaviour cloning (imitation's BC) and distribution matching (Coletta et al. 2024).

Both fit an SB3 actor-critic network to the demonstrations state by state: BC by
maximum likelihood on minibatches of transitions, distribution matching by squared
error to the per-state action frequencies. Each trainer takes its typed record and
returns the trained network and its final losses.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from imitation.algorithms import bc
from imitation.data import rollout
from stable_baselines3.common.policies import ActorCriticPolicy

from subrational_gym.learners.data import use_fast_loader
from subrational_gym.learners.demonstrations import action_counts, empirical_policy
from subrational_gym.learners.features import FeatureMap
from subrational_gym.learners.hyperparameters import Hyperparameters
from subrational_gym.learners.logs import imitation_logger
from subrational_gym.learners.networks import actor_critic
from subrational_gym.tabular import TabularModel

#: The imitation release whose private attribute ``BC._bc_logger`` (the BC logger the
#: training loop calls) :func:`train_bc` replaces; tests/learners/test_learners.py fails
#: if that attribute disappears.
PINNED_IMITATION = "1.0.1"


@dataclasses.dataclass(frozen=True)
class BCHyperparameters(Hyperparameters):
    """imitation's behaviour cloning.

    Attributes:
        budget: Epochs over the demonstrations.
        features: Observation features the network reads (see :data:`FEATURE_KINDS`).
        net_arch: Hidden layer sizes of the policy network.
        batch_size: Transitions per minibatch (capped at the number of transitions).
        learning_rate: Adam's learning rate.
        ent_weight: Weight of the entropy bonus in BC's loss.
        l2_weight: Weight of the L2 penalty on the network's weights in BC's loss.
    """

    budget: int = 40
    features: str = "raw+onehot"
    net_arch: tuple[int, ...] = (32, 32)
    batch_size: int = 64
    learning_rate: float = 3e-3
    ent_weight: float = 1e-3
    l2_weight: float = 0.0


@dataclasses.dataclass(frozen=True)
class DistributionMatchingHyperparameters(Hyperparameters):
    """Distribution matching: squared error to the per-state action frequencies.

    Attributes:
        budget: Full-batch gradient steps.
        features: Observation features the network reads (see :data:`FEATURE_KINDS`).
        net_arch: Hidden layer sizes of the policy network.
        learning_rate: AdamW's learning rate.
        smoothing: Additive smoothing of the target frequencies; 0 fits states where
            the expert is deterministic exactly (0.5 pulled them towards 1/2: a bias of
            up to 0.5 / (n + 1) in every such state).
        weight_decay: AdamW's weight decay (pools evidence across states).
    """

    budget: int = 1500
    features: str = "raw+onehot"
    net_arch: tuple[int, ...] = (32, 32)
    learning_rate: float = 1e-2
    smoothing: float = 0.0
    weight_decay: float = 0.0


class _DetachingBCLogger(bc.BCLogger):
    """imitation's BC logger, fed detached metrics.

    ``BCLogger.log_batch`` calls ``float()`` on each training metric, and the loss
    still carries its autograd graph at that point, which makes torch warn on every
    batch. The metrics are only read, so detaching them first changes nothing else.
    """

    def log_batch(self, batch_num: int, batch_size: int, num_samples_so_far: int,
                  training_metrics: Any, rollout_stats: Mapping[str, float]) -> None:
        detached = bc.BCTrainingMetrics(**{
            k: v.detach() if isinstance(v, th.Tensor) else v
            for k, v in vars(training_metrics).items()
        })
        super().log_batch(batch_num, batch_size, num_samples_so_far, detached, rollout_stats)


def train_bc(*, model: TabularModel, features: FeatureMap, demos: list[Any],
             rng: np.random.Generator, hp: BCHyperparameters, **_: Any
             ) -> tuple[ActorCriticPolicy, dict[str, float]]:
    """Train imitation's BC for ``hp.budget`` epochs; return the network and its losses."""
    transitions = rollout.flatten_trajectories(features.transform_trajectories(demos))
    policy = actor_critic(features, model, hp.net_arch, hp.learning_rate)
    with tempfile.TemporaryDirectory() as folder:
        logger, _ = imitation_logger(folder)
        trainer = bc.BC(
            observation_space=features.observation_space,
            action_space=gym.spaces.Discrete(model.n_actions), rng=rng, policy=policy,
            demonstrations=transitions, batch_size=min(int(hp.batch_size), len(transitions)),
            ent_weight=float(hp.ent_weight), l2_weight=float(hp.l2_weight),
            optimizer_kwargs={"lr": float(hp.learning_rate)}, device="cpu",
            custom_logger=logger,
        )
        # Private attribute of imitation 1.0.1 (PINNED_IMITATION): BC has no public way to
        # pass its own BCLogger, and the stock one makes torch warn on every batch.
        trainer._bc_logger = _DetachingBCLogger(trainer.logger)
        use_fast_loader(trainer, transitions, trainer.minibatch_size)
        trainer.train(n_epochs=int(hp.budget), progress_bar=False, log_interval=10**9)
    policy.set_training_mode(False)
    with th.no_grad():
        metrics = trainer.loss_calculator(
            policy, th.as_tensor(np.array(transitions.obs, dtype=np.float32)),
            th.as_tensor(np.array(transitions.acts)))
    losses = {"loss": metrics.loss.item(), "neglogp": metrics.neglogp.item(),
              "entropy": metrics.entropy.item()}
    return policy, losses


def train_distribution_matching(*, model: TabularModel, features: FeatureMap,
                                demos: list[Any], hp: DistributionMatchingHyperparameters,
                                **_: Any) -> tuple[ActorCriticPolicy, dict[str, float]]:
    """Fit the network to the demonstrations' per-state action frequencies."""
    # The paper fits the network's output to a kernel density estimate of the expert's
    # action distribution in each state. With two discrete actions the natural density
    # estimate is the additively smoothed frequency (see empirical_policy); each state's
    # squared error is weighted by how often the demonstrations visit it.
    counts = action_counts(model, demos).sum(axis=1)
    visited = np.flatnonzero(counts > 0)
    target = empirical_policy(model, demos, smoothing=float(hp.smoothing)).probs[visited]
    weights = counts[visited] / counts[visited].sum()
    obs = th.as_tensor(features(model.observations[visited]), dtype=th.float32)
    target_t = th.as_tensor(target, dtype=th.float32)
    weights_t = th.as_tensor(weights, dtype=th.float32)
    policy = actor_critic(features, model, hp.net_arch, hp.learning_rate)
    optimizer = th.optim.AdamW(policy.parameters(), lr=float(hp.learning_rate),
                               weight_decay=float(hp.weight_decay))
    policy.set_training_mode(True)
    loss = th.tensor(0.0)
    for _ in range(int(hp.budget)):
        probs = policy.get_distribution(obs).distribution.probs
        loss = (weights_t * ((probs - target_t) ** 2).sum(dim=1)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy.set_training_mode(False)
    return policy, {"weighted_squared_error": loss.item()}
