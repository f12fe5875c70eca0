"""Networks and vector envs the trainers share, and reading a network back as a table.

- :func:`actor_critic` and :func:`make_ppo` build SB3's actor-critic policy and PPO as
  every trainer does (BC, distribution matching, the GAIL/AIRL generator, PPO).
- :func:`make_venv`: the vector env a generator or an RL agent steps.
- :func:`as_tabular_policy`: a network's action distribution in every state.
- :func:`distil`: a table (e.g. GAIL's iterate average) fitted into a network that SB3
  and imitation can run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from subrational_gym.core import SubrationalEnv
from subrational_gym.evaluation import state_occupancy
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FeatureMap
from subrational_gym.learners.hyperparameters import VENVS
from subrational_gym.learners.vec_env import SubrationalVecEnv
from subrational_gym.planning import softmax_choice
from subrational_gym.policies import TabularPolicy
from subrational_gym.tabular import TabularModel


def actor_critic(features: FeatureMap, model: TabularModel, net_arch: Sequence[int],
                 learning_rate: float) -> ActorCriticPolicy:
    """SB3's actor-critic policy over ``features`` with one output per action."""
    return ActorCriticPolicy(
        features.observation_space, gym.spaces.Discrete(model.n_actions),
        lr_schedule=lambda _: float(learning_rate), net_arch=list(net_arch),
    )


def make_ppo(hp: Any, venv: VecEnv, seed: int) -> PPO:
    """SB3's PPO on ``venv`` with the PPO fields of ``hp`` (a PPO-family record)."""
    return PPO(
        "MlpPolicy", venv, n_steps=int(hp.n_steps), batch_size=int(hp.batch_size),
        n_epochs=int(hp.n_epochs), learning_rate=float(hp.learning_rate),
        ent_coef=float(hp.ent_coef), gamma=float(hp.gamma),
        gae_lambda=float(hp.gae_lambda), clip_range=float(hp.clip_range),
        normalize_advantage=bool(hp.normalize_advantage),
        policy_kwargs={"net_arch": list(hp.net_arch)}, seed=seed, device="cpu", verbose=0,
    )


def make_venv(venv: str, game: SubrationalEnv, env_id: str, env_kwargs: dict[str, Any],
              features: FeatureMap, n_envs: int, seed: int) -> VecEnv:
    """``n_envs`` copies of the game reading ``features``, as :data:`VENVS` ``venv``."""
    if venv == "batched":
        # The copies step together in numpy instead of one Python env each (speed:
        # benchmarks/env_speed.py). One copy seeded with ``seed`` replays the episodes of
        # the DummyVecEnv below; more copies draw other (equally distributed) episodes
        # from one generator, so runs stay reproducible from ``seed``.
        return SubrationalVecEnv(game, int(n_envs), features=features, rollout_info=False,
                                 seed=seed)
    if venv != "dummy":
        raise LearnerError(f"venv must be one of {VENVS}, got {venv!r}")

    def make() -> gym.Env:
        return RolloutInfoWrapper(features.wrap(gym.make(env_id, **env_kwargs)))

    dummy = DummyVecEnv([make for _ in range(int(n_envs))])
    dummy.seed(seed)
    return dummy


def as_tabular_policy(
    model: TabularModel,
    policy: Any,
    *,
    features: FeatureMap | None = None,
    name: str = "learner",
    seed: int | None = None,
) -> TabularPolicy:
    """Read a trained network's action distribution in every state of ``model``.

    Args:
        model: The game's tabular model.
        policy: An SB3 actor-critic policy (read through
            ``policy.get_distribution(obs).distribution.probs``), an SB3 DQN policy
            (greedy in its Q-values, ties split), an SB3 algorithm (its ``.policy``), or
            a :class:`TabularPolicy` (returned as is).
        features: The feature map the network reads; ``None`` for raw observations.
        name: Name of the resulting policy.
        seed: Seed of the resulting policy's action draws.

    Raises:
        LearnerError: for an object with neither an action distribution nor Q-values.
    """
    if isinstance(policy, TabularPolicy):
        return policy
    net = getattr(policy, "policy", policy)
    obs = model.observations if features is None else features(model.observations)
    obs_t = th.as_tensor(np.array(obs, dtype=np.float32))  # a writable copy
    was_training = getattr(net, "training", False)
    if hasattr(net, "set_training_mode"):
        net.set_training_mode(False)
    try:
        with th.no_grad():
            if hasattr(net, "get_distribution"):
                probs = net.get_distribution(obs_t).distribution.probs.double().numpy()
            elif hasattr(net, "q_net"):
                q = net.q_net(obs_t).double().numpy()
                probs = softmax_choice(q, 0.0)
            else:
                raise LearnerError(
                    f"cannot read action probabilities from {type(policy).__name__}: expected "
                    f"an SB3 ActorCriticPolicy, DQNPolicy, algorithm or a TabularPolicy"
                )
    finally:
        if hasattr(net, "set_training_mode"):
            net.set_training_mode(was_training)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return TabularPolicy(model, probs, seed=seed, name=name)


def distil(model: TabularModel, probs: np.ndarray, features: FeatureMap, *,
           net_arch: Sequence[int], steps: int, learning_rate: float = 1e-2
           ) -> ActorCriticPolicy:
    """Fit a fresh actor-critic network to the action table ``probs``.

    The network minimises the cross-entropy from ``probs`` to its own action
    distribution in the decision states that ``probs`` visits, each weighted by its
    occupancy under ``probs`` (full-batch Adam, ``steps`` steps), so it is closest where
    the table is followed most. SB3 (``predict``) and imitation (``rollout``) run it on
    the game wrapped by ``features.wrap``.

    Args:
        model: The game's tabular model.
        probs: ``(n_states, n_actions)`` action table to distil.
        features: The feature map the network reads.
        net_arch: Hidden layer sizes.
        steps: Gradient steps.
        learning_rate: Adam's learning rate.
    """
    occupancy = state_occupancy(model, probs) * model.decision_mask
    visited = np.flatnonzero(occupancy > 0)
    obs = th.as_tensor(features(model.observations[visited]), dtype=th.float32)
    target = th.as_tensor(probs[visited], dtype=th.float32)
    weights = th.as_tensor(occupancy[visited] / occupancy[visited].sum(), dtype=th.float32)
    net = actor_critic(features, model, net_arch, learning_rate)
    optimizer = th.optim.Adam(net.parameters(), lr=learning_rate)
    net.set_training_mode(True)
    for _ in range(int(steps)):
        log_probs = th.log_softmax(net.get_distribution(obs).distribution.logits, dim=1)
        loss = -(weights * (target * log_probs).sum(dim=1)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.set_training_mode(False)
    return net
