"""The stable-baselines3 VecEnv against DummyVecEnv, and with SB3 and imitation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from imitation.data import rollout
from imitation.data.wrappers import RolloutInfoWrapper
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan, VecMonitor, VecNormalize

from subrational_gym import make_env, policies
from subrational_gym.learners import (
    FeatureMap,
    LearnerError,
    SubrationalVecEnv,
    as_tabular_policy,
    generate_demonstrations,
    train,
)
from tests.test_envs import IDS, VARIANTS


def assert_same_steps(reference, venv, actions):
    """Both VecEnvs give identical observations, rewards, dones and end-of-episode infos."""
    assert np.array_equal(reference.reset(), venv.reset())
    ends = 0
    for a in actions:
        o1, r1, d1, i1 = reference.step(a)
        o2, r2, d2, i2 = venv.step(a)
        assert np.array_equal(o1, o2) and o1.dtype == o2.dtype
        assert np.array_equal(r1, r2) and r1.dtype == r2.dtype
        assert np.array_equal(d1, d2)
        for k in np.flatnonzero(d1):
            ends += 1
            assert np.array_equal(i1[k]["terminal_observation"], i2[k]["terminal_observation"])
            for key in ("obs", "rews"):
                x, y = i1[k]["rollout"][key], i2[k]["rollout"][key]
                assert np.array_equal(x, y) and x.dtype == y.dtype
    assert ends > 0


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=IDS)
def test_one_copy_is_dummy_vec_env_of_the_single_env(env_id, kwargs):
    # SB3 autoreset, terminal_observation and imitation's RolloutInfoWrapper infos, step
    # for step, from the same seed.
    reference = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make(env_id, **kwargs))])
    venv = SubrationalVecEnv(env_id, 1, env_kwargs=kwargs)
    reference.seed(9)
    venv.seed(9)
    actions = np.random.default_rng(0).integers(2, size=(200, 1))
    assert_same_steps(reference, venv, actions)


def test_features_are_those_of_the_feature_wrapper():
    env_id, kwargs = "Subrational/Procrastination-v0", {"self_imposed_deadline": True}
    features = FeatureMap(make_env(env_id, **kwargs).tabular_model(), "raw+onehot")
    reference = DummyVecEnv([lambda: RolloutInfoWrapper(features.wrap(gym.make(env_id, **kwargs)))])
    venv = SubrationalVecEnv(env_id, 1, env_kwargs=kwargs, features=features)
    assert venv.observation_space == reference.observation_space
    reference.seed(1)
    venv.seed(1)
    assert_same_steps(reference, venv, np.random.default_rng(1).integers(2, size=(60, 1)))


def test_features_without_a_table_match_the_table(monkeypatch):
    import subrational_gym.learners.vec_env as vec_env

    features = FeatureMap(make_env("Subrational/Marshmallow-v0").tabular_model(), "onehot")
    with_table = SubrationalVecEnv("Subrational/Marshmallow-v0", 8, features=features, seed=0)
    monkeypatch.setattr(vec_env, "_TABLE_LIMIT", 0)
    computed = SubrationalVecEnv("Subrational/Marshmallow-v0", 8, features=features, seed=0)
    assert computed._table is None and with_table._table is not None
    assert np.array_equal(with_table.reset(), computed.reset())
    for a in np.random.default_rng(0).integers(2, size=(30, 8)):
        (o1, _, d1, i1), (o2, _, _, i2) = with_table.step(a), computed.step(a)
        assert np.array_equal(o1, o2)
        for k in np.flatnonzero(d1):
            assert np.array_equal(i1[k]["rollout"]["obs"], i2[k]["rollout"]["obs"])


def test_many_copies_autoreset_at_the_horizon():
    venv = SubrationalVecEnv("Subrational/DoubleOrNothing-v0", 32, env_kwargs={"max_rounds": 3},
                             seed=0)
    model = venv.batch.model
    obs = venv.reset()
    rng = np.random.default_rng(0)
    for step in range(1, 10):
        actions = rng.integers(2, size=32)
        obs, rewards, dones, infos = venv.step(actions)
        assert dones.all() == (step % 3 == 0) and dones.any() == dones.all()
        for i in np.flatnonzero(dones):
            episode = infos[i]["rollout"]
            assert episode["obs"].shape == (4, 3) and episode["rews"].shape == (3,)
            assert np.array_equal(episode["obs"][-1], infos[i]["terminal_observation"])
            assert model.terminal_mask[model.state_index(infos[i]["terminal_observation"])]
            assert model.initial_distribution[model.state_index(obs[i])] > 0
        assert all(info == {} for i, info in enumerate(infos) if not dones[i])


def test_seeding_is_reproducible():
    def run(seed):
        venv = SubrationalVecEnv("Subrational/Ultimatum-v0", 16, seed=seed)
        out = [venv.reset()]
        for _ in range(5):
            out.append(venv.step(np.ones(16, dtype=np.int64))[0])
        return np.array(out)

    assert np.array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_sb3_wrappers_accept_it():
    venv = VecCheckNan(SubrationalVecEnv("Subrational/Marshmallow-v0", 4, seed=0),
                       raise_exception=True)
    venv = VecMonitor(venv)
    venv = VecNormalize(venv)
    venv.reset()
    lengths = []
    for _ in range(25):
        _, _, dones, infos = venv.step(np.zeros(4, dtype=np.int64))
        lengths += [info["episode"]["l"] for info, done in zip(infos, dones, strict=True)
                    if done]
    assert lengths == [10] * 8


def test_set_options_reach_the_next_reset_only():
    venv = SubrationalVecEnv("Subrational/Ultimatum-v0", 3, seed=0)
    venv.set_options([{"offer": 2}, {}, {"offer": 7}])
    obs = venv.reset()
    assert obs[0, 0] == np.float32(0.2) and obs[2, 0] == np.float32(0.7)
    venv.set_options({"offer": 5})
    assert (venv.reset()[:, 0] == np.float32(0.5)).all()
    assert len(set(venv.reset()[:, 0].tolist())) > 1  # options are used once


def test_vec_env_api_and_errors():
    venv = SubrationalVecEnv("Subrational/Ultimatum-v0", 3, env_kwargs={"pie": 4})
    assert venv.get_attr("pie") == [4, 4, 4] and venv.get_attr("pie", indices=[1]) == [4]
    assert venv.env_method("describe", np.array([0.5, 0, 0], dtype=np.float32),
                           indices=0)[0].startswith("The proposer has $4")
    assert venv.env_is_wrapped(RolloutInfoWrapper) == [False] * 3
    with pytest.raises(LearnerError, match="cannot set 'pie'"):
        venv.set_attr("pie", 5)
    with pytest.raises(LearnerError, match="would act on the shared game"):
        venv.env_method("reset")
    with pytest.raises(LearnerError, match="without step_async"):
        venv.step_wait()
    other = FeatureMap(make_env("Subrational/Ultimatum-v0").tabular_model(), "onehot")
    with pytest.raises(LearnerError, match="features were built for a model with 33 states"):
        SubrationalVecEnv("Subrational/Ultimatum-v0", 2, env_kwargs={"pie": 4}, features=other)
    assert "num_envs=3" in repr(venv)


def test_imitation_rollout_runs_on_it():
    env_id = "Subrational/Procrastination-v0"
    expert = policies.beta_delta(env_id, beta=0.6, temperature=0.5, seed=0)
    venv = SubrationalVecEnv(env_id, 8, seed=0)
    trajectories = rollout.rollout(expert, venv, rollout.make_sample_until(min_episodes=20),
                                   rng=np.random.default_rng(0))
    assert len(trajectories) >= 20
    model = expert.model
    for traj in trajectories:
        assert len(traj.acts) == model.horizon and traj.terminal
        states = model.state_indices(traj.obs)
        assert model.initial_distribution[states[0]] > 0 and model.terminal_mask[states[-1]]
        # Every step is a transition of the model, with its reward.
        for s, a, s2, r in zip(states[:-1], traj.acts, states[1:], traj.rews, strict=True):
            assert any(tr.next_state == s2 and tr.reward == r for tr in model.transitions[s][a])


def test_generate_demonstrations_are_those_of_the_dummy_vec_env_route():
    # generate_demonstrations steps one SubrationalVecEnv copy; the same seeds through
    # DummyVecEnv + RolloutInfoWrapper (its previous implementation) give the same episodes.
    env_id = "Subrational/Ultimatum-v0"
    expert = policies.fehr_schmidt_population(env_id)
    demos = generate_demonstrations(expert, env_id, 50, seed=2)
    env_seed, policy_seed, shuffle_seed = (
        int(x) for x in np.random.SeedSequence(2).generate_state(3))
    copy = policies.TabularPolicy(expert.model, expert.probs, seed=policy_seed)
    reference = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make(env_id))])
    reference.seed(env_seed)
    expected = rollout.rollout(copy, reference, rollout.make_sample_until(min_episodes=50),
                               rng=np.random.default_rng(shuffle_seed))[:50]
    assert len(demos) == len(expected) == 50
    for x, y in zip(demos, expected, strict=True):
        assert np.array_equal(x.obs, y.obs) and np.array_equal(x.acts, y.acts)
        assert np.array_equal(x.rews, y.rews) and x.rews.dtype == y.rews.dtype


def test_ppo_learns_on_it():
    # 512 steps: the ultimatum responder learns to accept positive offers.
    venv = SubrationalVecEnv("Subrational/Ultimatum-v0", 16, rollout_info=False, seed=0)
    model = venv.batch.model
    positive = model.decision_mask & (model.observations[:, 0] > 0)
    agent = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=4, learning_rate=3e-3,
                seed=0, device="cpu")
    before = as_tabular_policy(model, agent).probs[positive, 1].mean()
    agent.learn(total_timesteps=512)
    after = as_tabular_policy(model, agent).probs[positive, 1].mean()
    assert before == pytest.approx(0.5, abs=0.05) and after > 0.85


def test_dqn_runs_on_it():
    venv = SubrationalVecEnv("Subrational/Marshmallow-v0", 1, env_kwargs={"wait_minutes": 3},
                             rollout_info=False, seed=0)
    agent = DQN("MlpPolicy", venv, learning_starts=20, seed=0, device="cpu")
    agent.learn(total_timesteps=60)
    assert agent.num_timesteps == 60


@pytest.mark.parametrize("algorithm", ["gail", "airl", "ppo", "dqn"])
def test_learners_with_one_copy_are_those_of_the_dummy_vec_env(algorithm):
    # With one copy the batched env replays the DummyVecEnv's episodes, so a learner
    # trained on either is bit-identical: the switch changed speed, not what is learned.
    env_id, kwargs = "Subrational/Marshmallow-v0", {"wait_minutes": 4}
    expert = policies.beta_delta(env_id, beta=0.6, temperature=0.3, env_kwargs=kwargs)
    demos = generate_demonstrations(expert, env_id, 20, seed=0, env_kwargs=kwargs)
    tiny = {
        "gail": {"budget": 128, "n_envs": 1, "n_steps": 128, "batch_size": 64, "n_epochs": 1},
        "airl": {"budget": 128, "n_envs": 1, "n_steps": 128, "batch_size": 64, "n_epochs": 1},
        "ppo": {"budget": 128, "n_envs": 1, "n_steps": 64, "batch_size": 32, "n_epochs": 1},
        "dqn": {"budget": 200, "learning_starts": 50},
    }[algorithm]
    results = [train(algorithm, demos, env_id, env_kwargs=kwargs, seed=1, venv=venv, **tiny)
               for venv in ("batched", "dummy")]
    assert np.array_equal(results[0].policy.probs, results[1].policy.probs)
    assert results[0].record.hyperparameters["venv"] == "batched"


def test_unknown_venv_is_an_error():
    with pytest.raises(LearnerError, match="venv must be one of"):
        train("ppo", None, "Subrational/Ultimatum-v0", venv="subproc", budget=64, n_envs=1,
              n_steps=64, batch_size=64)


def test_many_copies_of_a_deterministic_game_train_as_on_the_dummy_vec_env():
    # Procrastination draws no random numbers, so 8 copies on either venv see the same
    # episodes for the same actions: the learners are bit-identical too.
    env_id = "Subrational/Procrastination-v0"
    runs = [train("ppo", None, env_id, seed=2, venv=venv, budget=256, n_envs=8, n_steps=32,
                  batch_size=64, n_epochs=1) for venv in ("batched", "dummy")]
    assert np.array_equal(runs[0].policy.probs, runs[1].policy.probs)
