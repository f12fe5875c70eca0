from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from subrational_gym import make_env, policies
from subrational_gym.learners import (
    ALGORITHMS,
    DEFAULTS,
    GAME_DEFAULTS,
    FeatureMap,
    LearnerError,
    PolicyFileError,
    action_counts,
    as_tabular_policy,
    empirical_policy,
    generate_demonstrations,
    load,
    save,
    seed_everything,
    train,
)

#: One short-horizon configuration per game, so tiny-budget training stays fast.
GAMES = {
    "Subrational/Ultimatum-v0": ({}, lambda env: policies.fehr_schmidt_population(env)),
    "Subrational/Marshmallow-v0": (
        {"wait_minutes": 4},
        lambda env: policies.beta_delta(env, beta=0.6, temperature=0.3),
    ),
    "Subrational/DoubleOrNothing-v0": (
        {"max_rounds": 3},
        lambda env: policies.prospect_theory_gambler(env, planning="naive", temperature=2.0),
    ),
    "Subrational/Procrastination-v0": (
        {"deadline_days": 4, "work_days_needed": 1, "self_imposed_deadline": True,
         "commit_day": 2},
        lambda env: policies.beta_delta(env, beta=0.6, sophisticated=True, temperature=0.5),
    ),
}


@pytest.fixture(scope="module")
def demos_by_env():
    """20 expert episodes per game, generated once per session."""
    from subrational_gym import make_env

    out = {}
    for env_id, (kwargs, make_expert) in GAMES.items():
        expert = make_expert(make_env(env_id, **kwargs))
        out[env_id] = (kwargs, expert,
                       generate_demonstrations(expert, env_id, 20, seed=0, env_kwargs=kwargs))
    return out

#: Tiny budgets: enough to exercise every code path, not to learn well.
TINY = {
    "bc": {"budget": 1},
    "distribution_matching": {"budget": 5},
    "gail": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "airl": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "ppo": {"budget": 128, "n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
    "dqn": {"budget": 100, "learning_starts": 50},
    "value_iteration": {},
}


@pytest.mark.parametrize("env_id", sorted(GAMES))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_learner_trains_on_every_game(algorithm, env_id, demos_by_env):
    kwargs, _, demos = demos_by_env[env_id]
    result = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=0, **TINY[algorithm])
    model = make_env(env_id, **kwargs).tabular_model()
    assert result.policy.probs.shape == (model.n_states, model.n_actions)
    np.testing.assert_allclose(result.policy.probs.sum(axis=1), 1.0)
    record = json.loads(json.dumps(result.record.to_dict()))
    assert record["algorithm"] == algorithm
    assert record["seed"] == 0
    assert record["train_seconds"] >= 0
    assert record["n_demonstrations"] == (20 if algorithm in ("bc", "distribution_matching",
                                                               "gail", "airl") else 0)


@pytest.mark.parametrize("algorithm", ["bc", "distribution_matching", "gail", "ppo", "dqn"])
def test_same_seed_is_bit_identical(algorithm, demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    a = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=3, **TINY[algorithm])
    b = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=3, **TINY[algorithm])
    assert np.array_equal(a.policy.probs, b.policy.probs)


def test_different_seeds_differ(demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    a = train("bc", demos, env_id, env_kwargs=kwargs, seed=0, budget=1)
    b = train("bc", demos, env_id, env_kwargs=kwargs, seed=1, budget=1)
    assert not np.array_equal(a.policy.probs, b.policy.probs)


def test_demonstrations_are_repeatable_and_independent_of_the_env_stream():
    env_id = "Subrational/Ultimatum-v0"
    expert = policies.fehr_schmidt_population(env_id)
    a = generate_demonstrations(expert, env_id, 300, seed=5)
    b = generate_demonstrations(expert, env_id, 300, seed=5)
    assert len(a) == 300
    assert all(np.array_equal(x.obs, y.obs) and np.array_equal(x.acts, y.acts)
               for x, y in zip(a, b, strict=True))
    # Offer 3 is accepted with probability 0.6: both answers must occur.
    model = expert.model
    counts = action_counts(model, a)
    s = model.state_index(np.array([0.3, 0.0, 0.0], dtype=np.float32))
    assert counts[s].min() > 0


def test_empirical_policy_smoothing():
    env_id = "Subrational/Marshmallow-v0"
    expert = policies.income_maximiser(env_id)  # always waits
    demos = generate_demonstrations(expert, env_id, 3, seed=0)
    model = expert.model
    raw = empirical_policy(model, demos, smoothing=0.0)
    kt = empirical_policy(model, demos, smoothing=0.5)
    assert raw.probs[0].tolist() == [1.0, 0.0]
    np.testing.assert_allclose(kt.probs[0], [3.5 / 4, 0.5 / 4])
    never = np.flatnonzero(action_counts(model, demos).sum(axis=1) == 0)
    assert len(never) > 0  # the "eaten" states are never visited by a patient expert
    assert (kt.probs[never] == 0.5).all()
    with pytest.raises(LearnerError, match="smoothing"):
        empirical_policy(model, demos, smoothing=-1)


def test_value_iteration_learner_is_the_exponential_optimum():
    env_id = "Subrational/Procrastination-v0"
    result = train("value_iteration", None, env_id, gamma=0.9)
    expected = policies.exponential_discounter(env_id, gamma=0.9)
    np.testing.assert_array_equal(result.policy.probs, expected.probs)


def test_feature_map_onehot_and_wrapper():
    env = make_env("Subrational/Marshmallow-v0", wait_minutes=3)
    model = env.tabular_model()
    fm = FeatureMap(model, "raw+onehot")
    feats = fm(model.observations)
    raw = model.observations.shape[1]
    assert feats.shape == (model.n_states, raw + model.n_states)
    np.testing.assert_array_equal(feats[:, raw:], np.eye(model.n_states))
    import gymnasium as gym

    wrapped = fm.wrap(gym.make("Subrational/Marshmallow-v0", wait_minutes=3))
    obs, _ = wrapped.reset(seed=0)
    assert wrapped.observation_space.contains(obs)
    with pytest.raises(LearnerError, match="features"):
        FeatureMap(model, "pixels")


def test_errors_name_the_fix(demos_by_env):
    env_id = "Subrational/Ultimatum-v0"
    _, _, demos = demos_by_env[env_id]
    with pytest.raises(LearnerError, match="algorithm must be one of"):
        train("cql", demos, env_id)
    with pytest.raises(LearnerError, match="unknown hyperparameters"):
        train("bc", demos, env_id, learning_rat=1e-3)
    with pytest.raises(LearnerError, match="demonstrations are empty"):
        train("bc", [], env_id)
    with pytest.raises(LearnerError, match="Trajectory"):
        train("bc", [np.zeros(3)], env_id)
    with pytest.raises(LearnerError, match="budget"):
        train("bc", demos, env_id, budget=0)
    with pytest.raises(LearnerError, match="cannot read"):
        as_tabular_policy(make_env(env_id).tabular_model(), object())


def test_as_tabular_policy_reads_probs_of_a_torch_policy():
    import gymnasium as gym
    from stable_baselines3.common.policies import ActorCriticPolicy

    seed_everything(0)
    model = make_env("Subrational/Ultimatum-v0").tabular_model()
    net = ActorCriticPolicy(gym.spaces.Box(0, 1, (3,)), gym.spaces.Discrete(2),
                            lr_schedule=lambda _: 0.0)
    table = as_tabular_policy(model, net)
    with torch.no_grad():
        obs = torch.as_tensor(np.array(model.observations))
        probs = net.get_distribution(obs).distribution.probs
    np.testing.assert_allclose(table.probs, probs.double().numpy(), atol=1e-6)


def test_seed_everything_validates():
    rng = seed_everything(7)
    assert isinstance(rng, np.random.Generator)
    assert torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)


@pytest.mark.parametrize("algorithm", ["bc", "distribution_matching", "gail", "dqn",
                                       "value_iteration"])
def test_save_load_round_trip(algorithm, demos_by_env, tmp_path):
    env_id = "Subrational/Procrastination-v0"
    kwargs, _, demos = demos_by_env[env_id]
    result = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=0, **TINY[algorithm])
    path = tmp_path / "learner.pt"
    save(result, path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.policy.probs, result.policy.probs)
    assert loaded.record == result.record
    assert (loaded.network is None) == (result.network is None)
    if result.network is not None:
        model = make_env(env_id, **kwargs).tabular_model()
        np.testing.assert_allclose(
            as_tabular_policy(model, loaded.network, features=loaded.features).probs,
            as_tabular_policy(model, result.network, features=result.features).probs,
            atol=1e-6)


def test_save_load_keeps_the_iterate_average_and_the_distilled_network(demos_by_env,
                                                                       tmp_path):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    # Four rounds, all averaged: the table is not the final generator's.
    result = train("gail", demos, env_id, env_kwargs=kwargs, seed=0, average_last=1.0,
                   **{**TINY["gail"], "budget": 512})
    model = make_env(env_id, **kwargs).tabular_model()
    final = as_tabular_policy(model, result.trained, features=result.features)
    assert not np.allclose(final.probs, result.policy.probs)
    save(result, tmp_path / "gail.pt")
    loaded = load(tmp_path / "gail.pt")
    np.testing.assert_array_equal(loaded.policy.probs, result.policy.probs)
    np.testing.assert_allclose(
        as_tabular_policy(model, loaded.trained, features=loaded.features).probs,
        final.probs, atol=1e-6)
    np.testing.assert_allclose(
        as_tabular_policy(model, loaded.network, features=loaded.features).probs,
        as_tabular_policy(model, result.network, features=result.features).probs, atol=1e-6)


def test_load_rejects_malformed_files(tmp_path):
    with pytest.raises(PolicyFileError, match="no saved learner"):
        load(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(PolicyFileError, match="not a saved learner"):
        load(junk)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(PolicyFileError, match="format"):
        load(other)
    old = tmp_path / "old.pt"
    torch.save({"format": "subrational-gym/learner", "version": 99}, old)
    with pytest.raises(PolicyFileError, match="version"):
        load(old)


def test_game_defaults_apply_and_explicit_arguments_win(demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    assert GAME_DEFAULTS["bc"]["marshmallow"]["features"] == "raw"
    result = train("bc", demos, env_id, env_kwargs=kwargs, seed=0, budget=1)
    assert result.record.hyperparameters["features"] == "raw"
    result = train("bc", demos, env_id, env_kwargs=kwargs, seed=0, budget=1,
                   features="onehot")
    assert result.record.hyperparameters["features"] == "onehot"
    dm = train("distribution_matching", demos, env_id, env_kwargs=kwargs, seed=0)
    assert dm.record.budget == GAME_DEFAULTS["distribution_matching"]["marshmallow"]["budget"]
    assert set(GAME_DEFAULTS) <= set(ALGORITHMS)


def test_defaults_cover_every_algorithm():
    assert set(DEFAULTS) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ["gail", "airl"])
def test_adversarial_policy_is_the_iterate_average(algorithm, demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    model = make_env(env_id, **kwargs).tabular_model()
    tiny = {**TINY[algorithm], "budget": 512}  # four rounds of 128 steps
    last = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=0, average_last=0.0,
                 **tiny)
    # Averaging over the last round alone reads the final generator.
    final = as_tabular_policy(model, last.trained, features=last.features)
    np.testing.assert_allclose(last.policy.probs, final.probs, atol=1e-12)
    assert last.policy.name == algorithm
    mean = train(algorithm, demos, env_id, env_kwargs=kwargs, seed=0, average_last=1.0,
                 **tiny)
    np.testing.assert_allclose(mean.policy.probs.sum(axis=1), 1.0)
    assert not np.allclose(mean.policy.probs, final.probs)
    assert mean.record.hyperparameters["average_last"] == 1.0


def test_adversarial_learning_rate_anneals_to_zero(demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    tiny = {**TINY["gail"], "budget": 512}
    result = train("gail", demos, env_id, env_kwargs=kwargs, seed=0, **tiny)
    lr = result.trained.policy.optimizer.param_groups[0]["lr"]
    # The fourth and last round trains at a quarter of the initial rate.
    assert lr == pytest.approx(DEFAULTS["gail"]["learning_rate"] / 4)
    flat = train("gail", demos, env_id, env_kwargs=kwargs, seed=0,
                 anneal_learning_rate=False, **tiny)
    assert flat.trained.policy.optimizer.param_groups[0]["lr"] == pytest.approx(
        DEFAULTS["gail"]["learning_rate"])


def test_adversarial_budget_below_one_round_is_an_error(demos_by_env):
    env_id = "Subrational/Marshmallow-v0"
    kwargs, _, demos = demos_by_env[env_id]
    with pytest.raises(LearnerError, match="less than one round"):
        train("gail", demos, env_id, env_kwargs=kwargs, **{**TINY["gail"], "budget": 100})
