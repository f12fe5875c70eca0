"""Typed hyperparameter records, overrides, stock imitation and the distilled network."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import imitation
import numpy as np
import pytest
from imitation.algorithms import bc
from imitation.data import rollout

from subrational_gym import make_env, policies
from subrational_gym.evaluation import total_variation
from subrational_gym.learners import (
    ALGORITHMS,
    DEFAULTS,
    GAME_DEFAULTS,
    RECORDS,
    STOCK,
    AIRLHyperparameters,
    BCHyperparameters,
    GAILHyperparameters,
    LearnerError,
    as_tabular_policy,
    generate_demonstrations,
    resolve,
    train,
)
from subrational_gym.learners.cloning import PINNED_IMITATION
from subrational_gym.learners.sweeps import Job

ENV_ID = "Subrational/Marshmallow-v0"
KWARGS = {"wait_minutes": 4}
TINY_GAIL = {"budget": 512, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1}


@pytest.fixture(scope="module")
def demos():
    expert = policies.beta_delta(make_env(ENV_ID, **KWARGS), beta=0.6, temperature=0.3)
    return generate_demonstrations(expert, ENV_ID, 20, seed=0, env_kwargs=KWARGS)


def test_every_algorithm_has_a_frozen_record_with_a_docstring_per_field():
    assert set(RECORDS) == set(ALGORITHMS) == set(DEFAULTS)
    for algorithm, cls in RECORDS.items():
        record = cls()
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.budget = 1  # type: ignore[misc]
        documented = "".join(c.__doc__ or "" for c in cls.__mro__)
        for name in cls.names():
            assert f"{name}:" in documented, (algorithm, name)
        assert DEFAULTS[algorithm] == {"budget": record.budget, **record.to_dict()}


def test_game_defaults_are_valid_overrides():
    for algorithm, games in GAME_DEFAULTS.items():
        for game, overrides in games.items():
            hp = resolve(algorithm, game)
            assert {k: getattr(hp, k) for k in overrides} == {
                k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}


def test_overrides_as_a_mapping_and_precedence():
    overrides = {"learning_rate": 1e-4, "net_arch": [8]}
    hp = resolve("bc", "ultimatum", overrides, budget=3)
    assert hp == BCHyperparameters(budget=3, batch_size=512, learning_rate=1e-4, net_arch=(8,))
    assert resolve("bc", "ultimatum").budget == 200  # the game's default
    assert AIRLHyperparameters().potential_hid_sizes == (32, 32)
    assert "potential_hid_sizes" not in GAILHyperparameters.names()


def test_unknown_hyperparameter_names_the_value_the_valid_names_and_the_fix(demos):
    with pytest.raises(LearnerError) as info:
        train("bc", demos, ENV_ID, env_kwargs=KWARGS, learning_rat=1e-3)
    message = str(info.value)
    assert "unknown hyperparameters ['learning_rat'] for 'bc'" in message
    assert "'l2_weight'" in message and "did you mean 'learning_rat' -> 'learning_rate'" in message
    with pytest.raises(LearnerError, match="potential_hid_sizes"):
        resolve("gail", "marshmallow", {"potential_hid_sizes": [8]})
    with pytest.raises(LearnerError, match="generator_reward must be one of"):
        resolve("gail", "marshmallow", {"generator_reward": "stock"})
    with pytest.raises(LearnerError, match="budget must be a positive integer"):
        resolve("ppo", "marshmallow", budget=0)
    job = Job("ppo", ENV_ID, hyperparams={"n_env": 2})  # a sweep's overrides, as a mapping
    with pytest.raises(LearnerError, match=r"did you mean 'n_env' -> 'n_envs'"):
        train(job.learner, None, job.env_id, **job.hyperparams)


def test_the_bc_logger_attribute_we_replace_still_exists():
    # cloning.train_bc assigns imitation's private BC._bc_logger (pinned version below):
    # if a release renames it, the assignment would silently stop taking effect.
    assert imitation.__version__ == PINNED_IMITATION
    model = make_env("Subrational/Ultimatum-v0").tabular_model()
    trainer = bc.BC(observation_space=gym.spaces.Box(0, 1, (model.observations.shape[1],)),
                    action_space=gym.spaces.Discrete(2), rng=np.random.default_rng(0))
    assert isinstance(trainer._bc_logger, bc.BCLogger)


def test_stock_gail_reports_its_final_generator(demos):
    model = make_env(ENV_ID, **KWARGS).tabular_model()
    stock = train("gail", demos, ENV_ID, env_kwargs=KWARGS, seed=0, **TINY_GAIL, **STOCK)
    final = as_tabular_policy(model, stock.trained, features=stock.features)
    np.testing.assert_array_equal(stock.policy.probs, final.probs)
    assert stock.record.hyperparameters["generator_reward"] == "library"
    lr = stock.trained.policy.optimizer.param_groups[0]["lr"]
    assert lr == pytest.approx(DEFAULTS["gail"]["learning_rate"])
    # Averaging only reads the generator: the same stock training, averaged on top.
    averaged = train("gail", demos, ENV_ID, env_kwargs=KWARGS, seed=0, **TINY_GAIL,
                     **{**STOCK, "average_last": 0.5})
    np.testing.assert_array_equal(
        as_tabular_policy(model, averaged.trained, features=averaged.features).probs,
        final.probs)
    modified = train("gail", demos, ENV_ID, env_kwargs=KWARGS, seed=0, **TINY_GAIL)
    assert not np.allclose(modified.policy.probs, stock.policy.probs)


def test_distilled_network_runs_in_imitation_and_matches_the_table(demos):
    model = make_env(ENV_ID, **KWARGS).tabular_model()
    result = train("gail", demos, ENV_ID, env_kwargs=KWARGS, seed=0, average_last=1.0,
                   **TINY_GAIL)
    table = as_tabular_policy(model, result.network, features=result.features)
    tv = total_variation(model, result.policy, table).mean
    assert result.record.distilled_tv == pytest.approx(tv)
    assert tv < 0.02
    venv = make_vec(result.features)
    trajs = rollout.rollout(result.network, venv, rollout.make_min_episodes(3),
                            rng=np.random.default_rng(0))
    assert len(trajs) >= 3
    off = train("gail", demos, ENV_ID, env_kwargs=KWARGS, seed=0, distil_steps=0,
                **TINY_GAIL)
    assert off.network is None and off.record.distilled_tv is None


def make_vec(features):
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.vec_env import DummyVecEnv

    return DummyVecEnv([lambda: RolloutInfoWrapper(features.wrap(
        gym.make(ENV_ID, **KWARGS)))])
