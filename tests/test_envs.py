"""Every registered Subrational env through Gymnasium's, SB3's and seals' checkers."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import subrational_gym
from subrational_gym import testing
from subrational_gym.errors import InvalidActionError, ParameterError, ResetNeededError
from tests.conftest import ENV_IDS

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)

VARIANTS = [(env_id, {}) for env_id in ENV_IDS] + [
    ("Subrational/Procrastination-v0", {"self_imposed_deadline": True}),
    ("Subrational/Marshmallow-v0", {"reliability": 0.5, "wait_minutes": 4}),
    ("Subrational/DoubleOrNothing-v0", {"win_probability": 0.3, "max_rounds": 3}),
    ("Subrational/DoubleOrNothing-v0", {"win_probabilities": (0.3, 0.4, 0.5, 0.6, 0.7)}),
    ("Subrational/Ultimatum-v0", {"pie": 4, "offer_distribution": [0.1, 0.2, 0.3, 0.2, 0.2]}),
]
IDS = [f"{e.split('/')[1]}{'-' + '-'.join(k) if k else ''}" for e, k in VARIANTS]


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=IDS)
class TestEveryEnv:
    def test_gymnasium_check_env(self, env_id, kwargs):
        check_env(gym.make(env_id, **kwargs).unwrapped)

    def test_sb3_check_env(self, env_id, kwargs):
        sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
        sb3_checker.check_env(gym.make(env_id, **kwargs).unwrapped, warn=True)

    def test_seals_helpers(self, env_id, kwargs):
        seals_envs = pytest.importorskip("seals.testing.envs")
        env = gym.make(env_id, **kwargs)
        model = env.unwrapped.tabular_model()
        deterministic = (model.initial_distribution > 0).sum() == 1 and all(
            len(outcomes) <= 1 for per_action in model.transitions for outcomes in per_action
        )
        # seals steps rollout_len actions without looking at termination: keep it in the horizon.
        seals_envs.test_seed(env, env_id, [env_id] if deterministic else [],
                             rollout_len=env.unwrapped.horizon, num_seeds=20)
        # Stepping after termination is refused on purpose (ResetNeededError), so the
        # seals schema check runs without its post-termination abuse.
        seals_envs.test_rollout_schema(env, steps_after_terminated=0)
        seals_envs.test_premature_step(env, skip_fn=pytest.skip, raises_fn=pytest.raises)

    def test_package_checks(self, env_id, kwargs):
        testing.check_subrational_env(env_id, **kwargs)

    def test_same_seed_same_rollout(self, env_id, kwargs):
        env = gym.make(env_id, **kwargs)
        actions = [1, 0, 1, 1, 0]
        a = testing.rollout_actions(env, actions, seed=3)
        b = testing.rollout_actions(env, actions, seed=3)
        assert a == b

    def test_render_ansi(self, env_id, kwargs):
        env = gym.make(env_id, render_mode="ansi", **kwargs)
        env.reset(seed=0)
        text = env.render()
        assert isinstance(text, str) and "step 0/" in text

    def test_step_after_end_raises(self, env_id, kwargs):
        env = gym.make(env_id, **kwargs).unwrapped
        env.reset(seed=0)
        for _ in range(env.horizon):
            env.step(0)
        with pytest.raises(ResetNeededError, match="after the episode ended"):
            env.step(0)

    def test_step_before_reset_raises(self, env_id, kwargs):
        env = gym.make(env_id, **kwargs).unwrapped
        with pytest.raises(ResetNeededError, match="before reset"):
            env.step(0)

    @pytest.mark.parametrize("bad", [2, -1, 0.5, "accept", None, True, np.array([0, 1])])
    def test_invalid_action(self, env_id, kwargs, bad):
        env = gym.make(env_id, **kwargs).unwrapped
        env.reset(seed=0)
        with pytest.raises(InvalidActionError, match="action must be"):
            env.step(bad)

    def test_numpy_actions_accepted(self, env_id, kwargs):
        env = gym.make(env_id, **kwargs).unwrapped
        env.reset(seed=0)
        env.step(np.int64(1))
        if not env._done:
            env.step(np.array([0]))


def test_fresh_interpreter_make_without_import():
    if int(gym.__version__.split(".")[0]) >= 1:
        # Gymnasium 1.x removed entry-point plugins; its module-prefixed ids import us.
        env_id = "subrational_gym:Subrational/Procrastination-v0"
    else:
        env_id = "Subrational/Procrastination-v0"
    code = (
        f"import gymnasium as gym, sys; env = gym.make('{env_id}'); "
        "env.reset(seed=0); assert 'subrational_gym' in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_registration_idempotent():
    subrational_gym.register_envs()
    subrational_gym.register_envs()
    assert all(env_id in gym.registry for env_id in ENV_IDS)


@pytest.mark.parametrize(
    ("env_id", "kwargs", "match"),
    [
        ("Subrational/Ultimatum-v0", {"pie": 0}, r"pie must be in \[1"),
        ("Subrational/Ultimatum-v0", {"pie": 2.5}, "pie must be an integer"),
        ("Subrational/Ultimatum-v0", {"offer": 11}, r"offer must be in \[0, 10\]"),
        ("Subrational/Ultimatum-v0", {"offer_distribution": [1.0]}, "must have 11 entries"),
        ("Subrational/Ultimatum-v0", {"offer_distribution": [0.5] * 11}, "must sum to 1"),
        ("Subrational/Marshmallow-v0", {"wait_minutes": -3}, "wait_minutes must be in"),
        ("Subrational/Marshmallow-v0", {"reliability": float("nan")}, "finite"),
        ("Subrational/Marshmallow-v0", {"reliability": 1.5},
         r"reliability must be in \[0.0, 1.0\]"),
        ("Subrational/Marshmallow-v0", {"large_reward": 0.5}, "large_reward must exceed"),
        ("Subrational/DoubleOrNothing-v0", {"initial_stake": 0}, "initial_stake must be in"),
        ("Subrational/DoubleOrNothing-v0", {"win_probability": "half"}, "must be a real"),
        ("Subrational/DoubleOrNothing-v0", {"max_rounds": True}, "must be an integer"),
        ("Subrational/Procrastination-v0", {"work_days_needed": 9}, "must not exceed"),
        ("Subrational/Procrastination-v0", {"effort_costs": [1, 2]}, "must have 7 entries"),
        ("Subrational/Procrastination-v0", {"effort_costs": [-1] * 7}, r"effort_costs\[0\]"),
        ("Subrational/Procrastination-v0", {"self_imposed_deadline": "yes"}, "True or False"),
        ("Subrational/Procrastination-v0", {"self_imposed_deadline": True, "commit_day": 9},
         "commit_day"),
        ("Subrational/Ultimatum-v0", {"render_mode": "human"}, "render_mode must be one of"),
    ],
)
def test_bad_parameters(env_id, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        gym.make(env_id, **kwargs)


def test_bad_reset_options():
    env = gym.make("Subrational/Ultimatum-v0")
    with pytest.raises(ParameterError, match="offer must be in"):
        env.reset(options={"offer": 42})
    with pytest.raises(ParameterError, match="not understood"):
        env.reset(options={"ofer": 3})
    with pytest.raises(ParameterError, match="takes none"):
        gym.make("Subrational/Marshmallow-v0").reset(options={"x": 1})


def test_fixed_offer_and_option():
    env = gym.make("Subrational/Ultimatum-v0", offer=2)
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert info["offer"] == 2
    _, info = env.reset(options={"offer": 7})
    assert info["offer"] == 7


def test_unknown_observation_error():
    game = subrational_gym.make_env("Subrational/Ultimatum-v0")
    with pytest.raises(subrational_gym.UnknownObservationError, match="not an ultimatum"):
        game.observation_meaning(np.array([0.33, 0.0, 0.0], dtype=np.float32))
    with pytest.raises(subrational_gym.UnknownObservationError, match="not a reachable state"):
        game.tabular_model().state_index(np.array([0.35, 0.0, 0.0], dtype=np.float32))


def test_make_env_errors():
    with pytest.raises(ParameterError, match="unknown game 'chess'"):
        subrational_gym.make_env("chess")
    with pytest.raises(ParameterError, match="expected a Subrational env"):
        subrational_gym.make_env(gym.make("CartPole-v1"))
    assert subrational_gym.make_env("ultimatum").game == "ultimatum"


def test_marshmallow_dynamics():
    env = gym.make("Subrational/Marshmallow-v0", wait_minutes=5).unwrapped
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (0, 0, 1, 0, 1)]
    assert rewards == [0.0, 0.0, 1.0, 0.0, 0.0]
    model = gym.make("Subrational/Marshmallow-v0", reliability=0.25).unwrapped.tabular_model()
    last_wait = [s for s in range(model.n_states) if model.decision_mask[s]][-1]
    outcomes = {(t.probability, t.reward) for t in model.transitions[last_wait][0]}
    assert outcomes == {(0.25, 2.0), (0.75, 1.0)}


def test_double_or_nothing_dynamics():
    env = gym.make("Subrational/DoubleOrNothing-v0", win_probability=1.0, max_rounds=3).unwrapped
    env.reset(seed=0)
    assert [env.step(1)[1] for _ in range(3)] == [0.0, 0.0, 80.0]
    env = gym.make("Subrational/DoubleOrNothing-v0", win_probability=0.0).unwrapped
    env.reset(seed=0)
    _, r, _, _, info = env.step(1)
    assert r == 0.0 and info["status"] == "lost"


def test_procrastination_commitment_penalty():
    env = gym.make("Subrational/Procrastination-v0", self_imposed_deadline=True).unwrapped
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in [1, 0, 0, 0, 0, 0, 1, 1]]
    # commit (-0.1), play days 1-3 (the 3rd ends the committed window: -5), write days 6-7.
    np.testing.assert_allclose(rewards[:4], [-0.1, 1.0, 1.0, 1.0 - 5.0])
    np.testing.assert_allclose(rewards[-1], -2.0 + 10.0)


def test_tabular_model_is_read_only_and_sorted():
    model = gym.make("Subrational/Procrastination-v0").unwrapped.tabular_model()
    assert np.all(np.diff(model.times) >= 0)
    with pytest.raises(ValueError):
        model.transition_matrix[0, 0, 0] = 1.0
    np.testing.assert_allclose(model.transition_matrix[~model.terminal_mask].sum(axis=2), 1.0)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_ppo_and_dqn_train(env_id):
    sb3 = pytest.importorskip("stable_baselines3")
    env = gym.make(env_id)
    sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0).learn(128)
    sb3.DQN("MlpPolicy", env, learning_starts=16, buffer_size=500, seed=0).learn(128)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_misspelt_keyword_names_the_valid_ones(env_id):
    import inspect

    env_cls = type(gym.make(env_id).unwrapped)
    first = next(n for n, p in inspect.signature(env_cls.__init__).parameters.items()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY)
    with pytest.raises(ParameterError, match=rf"did you mean '{first}'\?.*keyword arguments"):
        gym.make(env_id, **{first[:-1]: 1})
    with pytest.raises(ParameterError, match="keyword arguments only"):
        env_cls(3)
