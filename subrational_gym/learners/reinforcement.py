"""Reinforcement-learning baselines: SB3's PPO and DQN, and exact value iteration.

They optimise the game's own reward with exponential discount ``gamma`` and ignore
demonstrations. :class:`PPOHyperparameters` is also the generator part of the
adversarial learners' records (:mod:`.adversarial`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any

from stable_baselines3 import DQN

from subrational_gym.core import SubrationalEnv
from subrational_gym.learners.features import FeatureMap
from subrational_gym.learners.hyperparameters import Hyperparameters
from subrational_gym.learners.logs import sb3_logger
from subrational_gym.learners.networks import make_ppo, make_venv
from subrational_gym.planning import Values, value_iteration
from subrational_gym.tabular import TabularModel

_RL_LOSSES = ("loss", "policy_gradient_loss", "value_loss", "entropy_loss", "ep_rew_mean")


@dataclasses.dataclass(frozen=True)
class PPOHyperparameters(Hyperparameters):
    """SB3's PPO (the RL baseline, and the generator of GAIL and AIRL).

    Attributes:
        budget: Environment steps.
        features: Observation features the network reads (see :data:`FEATURE_KINDS`).
        net_arch: Hidden layer sizes of the policy and value networks.
        n_envs: Copies of the game stepped together.
        n_steps: Steps per copy between updates (a rollout is ``n_envs * n_steps``).
        batch_size: Minibatch size of PPO's updates.
        n_epochs: Passes over each rollout.
        learning_rate: Adam's learning rate.
        ent_coef: Weight of the entropy bonus.
        gae_lambda: GAE's lambda.
        clip_range: PPO's clipping range.
        normalize_advantage: Whether PPO standardises advantages per minibatch.
        venv: The vector env (see :data:`VENVS`).
        gamma: Exponential discount factor.
    """

    budget: int = 50_000
    features: str = "raw"
    net_arch: tuple[int, ...] = (64, 64)
    n_envs: int = 8
    n_steps: int = 64
    batch_size: int = 128
    n_epochs: int = 10
    learning_rate: float = 3e-4
    ent_coef: float = 0.01
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    normalize_advantage: bool = True
    venv: str = "batched"
    gamma: float = 0.99


@dataclasses.dataclass(frozen=True)
class DQNHyperparameters(Hyperparameters):
    """SB3's DQN (one copy of the game).

    Attributes:
        budget: Environment steps.
        features: Observation features the network reads (see :data:`FEATURE_KINDS`).
        net_arch: Hidden layer sizes of the Q-network.
        gamma: Exponential discount factor.
        learning_rate: Adam's learning rate.
        buffer_size: Replay buffer size.
        learning_starts: Steps before the first update.
        batch_size: Minibatch size.
        train_freq: Steps between updates.
        target_update_interval: Steps between target-network copies.
        exploration_fraction: Fraction of the budget over which epsilon decays.
        exploration_final_eps: Final epsilon of epsilon-greedy exploration.
        venv: The vector env (see :data:`VENVS`).
    """

    budget: int = 50_000
    features: str = "raw"
    net_arch: tuple[int, ...] = (64, 64)
    gamma: float = 0.99
    learning_rate: float = 1e-3
    buffer_size: int = 50_000
    learning_starts: int = 1000
    batch_size: int = 64
    train_freq: int = 4
    target_update_interval: int = 500
    exploration_fraction: float = 0.3
    exploration_final_eps: float = 0.02
    venv: str = "batched"


@dataclasses.dataclass(frozen=True)
class ValueIterationHyperparameters(Hyperparameters):
    """Exact value iteration on the tabular model (its budget is ignored).

    Attributes:
        gamma: Exponential discount factor.
        temperature: Softmax temperature of the reported policy (0: greedy, ties split).
    """

    gamma: float = 1.0
    temperature: float = 0.0


def train_ppo(*, game: SubrationalEnv, env_id: str, env_kwargs: dict[str, Any],
              features: FeatureMap, seed: int, hp: PPOHyperparameters, **_: Any
              ) -> tuple[Any, dict[str, float]]:
    """Train SB3's PPO on the game's reward for ``hp.budget`` steps."""
    with tempfile.TemporaryDirectory() as folder:
        logger, memory = sb3_logger(folder)
        venv = make_venv(hp.venv, game, env_id, env_kwargs, features, hp.n_envs, seed)
        agent = make_ppo(hp, venv, seed)
        agent.set_logger(logger)
        agent.learn(total_timesteps=int(hp.budget), progress_bar=False)
        venv.close()
    return agent, memory.last(_RL_LOSSES)


def train_dqn(*, game: SubrationalEnv, env_id: str, env_kwargs: dict[str, Any],
              features: FeatureMap, seed: int, hp: DQNHyperparameters, **_: Any
              ) -> tuple[Any, dict[str, float]]:
    """Train SB3's DQN on the game's reward for ``hp.budget`` steps."""
    with tempfile.TemporaryDirectory() as folder:
        logger, memory = sb3_logger(folder)
        venv = make_venv(hp.venv, game, env_id, env_kwargs, features, 1, seed)
        agent = DQN(
            "MlpPolicy", venv, learning_rate=float(hp.learning_rate),
            buffer_size=int(hp.buffer_size), learning_starts=int(hp.learning_starts),
            batch_size=int(hp.batch_size), gamma=float(hp.gamma),
            train_freq=int(hp.train_freq),
            target_update_interval=int(hp.target_update_interval),
            exploration_fraction=float(hp.exploration_fraction),
            exploration_final_eps=float(hp.exploration_final_eps),
            policy_kwargs={"net_arch": list(hp.net_arch)}, seed=seed, device="cpu",
        )
        agent.set_logger(logger)
        agent.learn(total_timesteps=int(hp.budget), progress_bar=False)
        venv.close()
    return agent, memory.last(_RL_LOSSES)


def train_value_iteration(*, model: TabularModel, hp: ValueIterationHyperparameters,
                          **_: Any) -> tuple[Values, dict[str, float]]:
    """Solve the game exactly with exponential discount ``hp.gamma``."""
    return value_iteration(model, float(hp.gamma)), {}
