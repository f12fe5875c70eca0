"""Adversarial imitation: imitation's GAIL and AIRL with a PPO generator, and three changes.

On these small tabular games stock imitation (its own generator reward, the final
generator as the learned policy) circles the expert instead of converging. The project
changes three things, each an option of the record so that stock imitation stays one
override away (:data:`STOCK`; ``benchmarks/heldout.py`` measures each change):

- ``generator_reward="logit"``: the generator is trained on the discriminator's logit
  (see :class:`_DiscriminatorLogitReward`) instead of the library's reward;
- ``average_last``: the reported policy is the mean of the generator's per-state action
  distributions over the last part of the rounds (the iterate average), not the final
  generator; ``trained`` stays the final generator;
- ``anneal_learning_rate``: the generator's learning rate decays linearly to 0 over the
  rounds, so the late (averaged) iterates move less.

The iterate average is a table, not a network: ``distil_steps`` fits it into an SB3
actor-critic network (:func:`~subrational_gym.learners.networks.distil`) that SB3 and
imitation can run.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from imitation.algorithms.adversarial.airl import AIRL
from imitation.algorithms.adversarial.gail import GAIL
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, RewardNet
from imitation.util import networks
from imitation.util.networks import RunningNorm
from stable_baselines3 import PPO

from subrational_gym.core import SubrationalEnv
from subrational_gym.learners.data import use_fast_loader
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FeatureMap
from subrational_gym.learners.logs import imitation_logger
from subrational_gym.learners.networks import as_tabular_policy, make_ppo, make_venv
from subrational_gym.learners.reinforcement import PPOHyperparameters
from subrational_gym.tabular import TabularModel

#: Overrides that run GAIL or AIRL as stock imitation 1.0.1: the library's generator
#: reward, the final generator as the policy, a constant learning rate.
STOCK: Mapping[str, Any] = {"generator_reward": "library", "average_last": 0.0,
                            "anneal_learning_rate": False}

_ADVERSARIAL_LOSSES = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen",
                       "disc_entropy", "policy_gradient_loss", "value_loss", "entropy_loss")


@dataclasses.dataclass(frozen=True)
class AdversarialHyperparameters(PPOHyperparameters):
    """GAIL and AIRL: the PPO generator's fields (inherited) and the discriminator's.

    Attributes:
        budget: Generator environment steps (whole rounds of ``n_envs * n_steps``).
        demo_batch_size: Expert (and generator) transitions per discriminator batch
            (capped at the number of expert transitions).
        n_disc_updates_per_round: Discriminator updates after each generator round.
        disc_learning_rate: Adam's learning rate of the discriminator.
        reward_hid_sizes: Hidden layer sizes of the discriminator's reward network.
        generator_reward: ``"logit"`` (the project's: the discriminator's logit) or
            ``"library"`` (imitation's own generator reward).
        average_last: Fraction of the last rounds whose generators are averaged into
            the reported policy; 0 reads the final generator alone (stock imitation).
        anneal_learning_rate: Whether the generator's learning rate decays linearly to
            0 over the rounds (False: constant, stock imitation).
        distil_steps: Gradient steps that fit the reported table into a network
            (``TrainResult.network``); 0 skips the distillation.
    """

    budget: int = 100_000
    features: str = "raw+onehot"
    net_arch: tuple[int, ...] = (32, 32)
    learning_rate: float = 3e-3
    ent_coef: float = 0.05
    normalize_advantage: bool = False
    gamma: float = 1.0
    demo_batch_size: int = 512
    n_disc_updates_per_round: int = 4
    disc_learning_rate: float = 1e-3
    reward_hid_sizes: tuple[int, ...] = (32, 32)
    generator_reward: str = "logit"
    average_last: float = 0.5
    anneal_learning_rate: bool = True
    distil_steps: int = 500


@dataclasses.dataclass(frozen=True)
class GAILHyperparameters(AdversarialHyperparameters):
    """imitation's GAIL (defaults as :class:`AdversarialHyperparameters`)."""


@dataclasses.dataclass(frozen=True)
class AIRLHyperparameters(AdversarialHyperparameters):
    """imitation's AIRL: a faster generator against a discriminator fitted harder.

    Attributes:
        potential_hid_sizes: Hidden layer sizes of the shaping potential network.
    """

    learning_rate: float = 1e-3
    ent_coef: float = 0.0
    n_disc_updates_per_round: int = 8
    disc_learning_rate: float = 2e-3
    reward_hid_sizes: tuple[int, ...] = (32,)
    potential_hid_sizes: tuple[int, ...] = (32, 32)


class _DiscriminatorLogitReward(RewardNet):
    """The generator's reward: the discriminator's logit ``log D - log(1 - D)``.

    For AIRL this is ``f(s, a, s') - log pi(a|s)``, the reward of Fu et al. (2018):
    maximum-entropy RL on it has the expert as its best response once ``f`` has
    converged. imitation 1.0.1 trains AIRL's generator on ``f`` alone, which without an
    entropy term drives the generator to a deterministic policy. For GAIL the logit is
    ``log rho_E(s, a) - log rho_pi(s, a)`` at the optimal discriminator, so small policy
    steps on it descend the KL divergence from the generator's occupancy to the expert's.
    """

    def __init__(self, trainer: Any, base: RewardNet) -> None:
        super().__init__(base.observation_space, base.action_space,
                         normalize_images=base.normalize_images)
        self.base = base  # a submodule, so train()/eval() reach its running normalisers
        self._trainer = [trainer]  # a list, so torch does not register the trainer

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor,
                done: th.Tensor) -> th.Tensor:
        trainer = self._trainer[0]
        log_prob = None
        if isinstance(trainer, AIRL):
            _, log_prob, _ = trainer.gen_algo.policy.evaluate_actions(
                state, action.argmax(dim=1))
        return trainer.logits_expert_is_high(state, action, next_state, done, log_prob)


class _LogitRewardMixin:
    """Train the generator on the discriminator's logit (see _DiscriminatorLogitReward)."""

    def __init__(self, *, reward_net: RewardNet, **kwargs: Any) -> None:
        # The discriminator itself (imitation moves it to the generator's device, the
        # CPU here, which returns the same module), kept without reading imitation's
        # private ``_reward_net``.
        self._discriminator = reward_net
        super().__init__(reward_net=reward_net, **kwargs)

    @property
    def reward_train(self) -> RewardNet:
        if not hasattr(self, "_logit_reward"):
            self._logit_reward = _DiscriminatorLogitReward(self, self._discriminator)
        return self._logit_reward


class _LogitGAIL(_LogitRewardMixin, GAIL):
    pass


class _LogitAIRL(_LogitRewardMixin, AIRL):
    pass


def _discriminator(algorithm: str, features: FeatureMap, n_actions: int,
                   hp: AdversarialHyperparameters) -> RewardNet:
    space, actions = features.observation_space, gym.spaces.Discrete(n_actions)
    if algorithm == "gail":
        return BasicRewardNet(space, actions, hid_sizes=list(hp.reward_hid_sizes),
                              normalize_input_layer=RunningNorm)
    return BasicShapedRewardNet(
        space, actions, reward_hid_sizes=list(hp.reward_hid_sizes),
        potential_hid_sizes=list(hp.potential_hid_sizes),  # type: ignore[attr-defined]
        discount_factor=float(hp.gamma), normalize_input_layer=RunningNorm,
    )


def _trainer_class(algorithm: str, generator_reward: str) -> type:
    if generator_reward == "logit":
        return _LogitGAIL if algorithm == "gail" else _LogitAIRL
    return GAIL if algorithm == "gail" else AIRL


def _run_rounds(trainer: Any, generator: PPO, model: TabularModel, features: FeatureMap,
                hp: AdversarialHyperparameters) -> np.ndarray:
    """Run imitation's round loop; return the generators' table averaged over the last rounds.

    The loop of ``AdversarialTrainer.train`` written out: that one draws a tqdm bar on
    stderr that cannot be turned off, and a library must not print bars of its own.
    """
    n_rounds = int(hp.budget) // trainer.gen_train_timesteps
    if n_rounds < 1:
        raise LearnerError(
            f"budget {hp.budget} is less than one round of {trainer.gen_train_timesteps} "
            f"generator steps (n_envs * n_steps); raise budget or lower n_envs or n_steps"
        )
    lr0 = float(hp.learning_rate)
    done = [0]  # rounds completed
    if hp.anneal_learning_rate:
        # imitation calls gen_algo.learn() once per round, so SB3's own progress (and
        # any schedule passed to PPO) only spans one round: count rounds instead.
        generator.lr_schedule = lambda _: lr0 * (1.0 - done[0] / n_rounds)
    first_averaged = n_rounds - max(1, math.ceil(float(hp.average_last) * n_rounds))
    total = np.zeros((model.n_states, model.n_actions))
    for r in range(n_rounds):
        trainer.train_gen(trainer.gen_train_timesteps)
        for _ in range(trainer.n_disc_updates_per_round):
            with networks.training(trainer.reward_train):
                trainer.train_disc()
        done[0] = r + 1
        if r >= first_averaged:
            total += as_tabular_policy(model, generator.policy, features=features).probs
        trainer.logger.dump(r + 1)  # train_gen counts one global step per round
    return total / (n_rounds - first_averaged)


def train_adversarial(algorithm: str, *, model: TabularModel, game: SubrationalEnv,
                      env_id: str, env_kwargs: dict[str, Any], features: FeatureMap,
                      demos: list[Any], seed: int, hp: AdversarialHyperparameters,
                      **_: Any) -> tuple[PPO, dict[str, float], np.ndarray]:
    """Train GAIL or AIRL; return the final generator, its losses and the reported table."""
    venv = make_venv(hp.venv, game, env_id, env_kwargs, features, hp.n_envs, seed)
    featured = features.transform_trajectories(demos)
    n_transitions = sum(len(t.acts) for t in featured)
    generator = make_ppo(hp, venv, seed)
    reward_net = _discriminator(algorithm, features, model.n_actions, hp)
    with tempfile.TemporaryDirectory() as folder:
        logger, memory = imitation_logger(folder)
        trainer = _trainer_class(algorithm, hp.generator_reward)(
            demonstrations=featured,
            demo_batch_size=min(int(hp.demo_batch_size), n_transitions),
            venv=venv, gen_algo=generator, reward_net=reward_net,
            n_disc_updates_per_round=int(hp.n_disc_updates_per_round),
            disc_opt_kwargs={"lr": float(hp.disc_learning_rate)},
            log_dir=folder, custom_logger=logger, init_tensorboard=False,
        )
        use_fast_loader(trainer, featured, trainer.demo_batch_size)
        table = _run_rounds(trainer, generator, model, features, hp)
    venv.close()
    return generator, memory.last(_ADVERSARIAL_LOSSES), table
