"""The fast demonstration loader gives imitation's own minibatches, in the same order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from imitation.algorithms import base, bc
from imitation.algorithms.adversarial.gail import GAIL
from imitation.data import rollout
from imitation.rewards.reward_nets import BasicRewardNet
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from subrational_gym import policies
from subrational_gym.learners import generate_demonstrations
from subrational_gym.learners.data import demonstration_loader, use_fast_loader

GAME = "Subrational/Marshmallow-v0"


@pytest.fixture(scope="module")
def demos():
    return generate_demonstrations(policies.income_maximiser(GAME, temperature=0.5), GAME, 30,
                                   seed=0)


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert sorted(x) == sorted(y)
        for k in x:
            assert type(x[k]) is type(y[k]), k
            if k == "infos":
                assert x[k] == y[k]
                continue
            assert x[k].dtype == y[k].dtype and x[k].shape == y[k].shape, k
            assert (np.asarray(x[k]) == np.asarray(y[k])).all(), k


def _epochs(loader, seed, n=2):
    th.manual_seed(seed)
    return [batch for _ in range(n) for batch in loader]


def test_the_loader_gives_imitations_batches(demos):
    transitions = rollout.flatten_trajectories(demos)
    stock = _epochs(base.make_data_loader(transitions, 16), seed=3)
    _same(stock, _epochs(demonstration_loader(transitions, 16), seed=3))
    _same(stock, _epochs(demonstration_loader(demos, 16), seed=3))  # trajectories too
    # Control: another random state gives other batches, so the comparison can fail.
    with pytest.raises(AssertionError):
        _same(stock, _epochs(demonstration_loader(transitions, 16), seed=4))
    with pytest.raises(ValueError, match="batch_size must be in"):
        demonstration_loader(transitions, len(transitions) + 1)


def _gail(demos, fast: bool):
    venv = DummyVecEnv([lambda: gym.make(GAME)] * 2)
    th.manual_seed(0)
    trainer = GAIL(demonstrations=demos, demo_batch_size=16, venv=venv,
                   gen_algo=PPO("MlpPolicy", venv, n_steps=16, batch_size=16, seed=0),
                   reward_net=BasicRewardNet(venv.observation_space, venv.action_space),
                   allow_variable_horizon=True)
    if fast:
        use_fast_loader(trainer, demos, trainer.demo_batch_size)
    # No reseeding here: the stream must continue from the random state construction left.
    return [next(trainer._endless_expert_iterator) for _ in range(40)]


def test_installed_in_imitations_trainers_it_keeps_their_batches(demos):
    """The private attributes it replaces exist (imitation 1.0.1) and the adversarial
    trainer's endless expert stream is unchanged, random state included."""
    _same(_gail(demos, fast=False), _gail(demos, fast=True))
    trainer = bc.BC(observation_space=gym.make(GAME).observation_space,
                    action_space=gym.make(GAME).action_space, rng=np.random.default_rng(0),
                    demonstrations=rollout.flatten_trajectories(demos), batch_size=16)
    use_fast_loader(trainer, demos, 16)
    th.manual_seed(5)
    got = [b for b in trainer._demo_data_loader]
    _same(_epochs(base.make_data_loader(rollout.flatten_trajectories(demos), 16), 5, 1), got)
    with pytest.raises(AttributeError, match="has no _demo_data_loader"):
        use_fast_loader(object(), demos, 16)
