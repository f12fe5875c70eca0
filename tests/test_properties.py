"""Property-based tests: random parameters and action sequences for every env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import subrational_gym  # noqa: F401
from subrational_gym.errors import ParameterError

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ultimatum = st.fixed_dictionaries({"pie": st.integers(1, 40)})
marshmallow = st.fixed_dictionaries({
    "wait_minutes": st.integers(1, 25),
    "small_reward": st.floats(0, 5),
    "reliability": st.floats(0, 1),
}).map(lambda k: {**k, "large_reward": k["small_reward"] + 1.0})
double = st.fixed_dictionaries({
    "initial_stake": st.floats(0.5, 1000),
    "max_rounds": st.integers(1, 12),
    "win_probability": st.floats(0, 1),
})
procrastination = st.integers(1, 15).flatmap(lambda d: st.fixed_dictionaries({
    "deadline_days": st.just(d),
    "work_days_needed": st.integers(1, d),
    "self_imposed_deadline": st.booleans(),
    "commit_day": st.integers(1, d),
    "leisure_reward": st.floats(-3, 3),
}))
CASES = st.one_of(
    st.tuples(st.just("Subrational/Ultimatum-v0"), ultimatum),
    st.tuples(st.just("Subrational/Marshmallow-v0"), marshmallow),
    st.tuples(st.just("Subrational/DoubleOrNothing-v0"), double),
    st.tuples(st.just("Subrational/Procrastination-v0"), procrastination),
)


@SETTINGS
@given(case=CASES, actions=st.lists(st.integers(0, 1), min_size=1, max_size=40),
       seed=st.integers(0, 2**31 - 1))
def test_random_params_and_actions(case, actions, seed):
    env_id, kwargs = case
    env = gym.make(env_id, **kwargs)
    game = env.unwrapped
    model = game.tabular_model()
    obs, _ = env.reset(seed=seed)
    s = model.state_index(obs)
    for i in range(game.horizon):
        a = actions[i % len(actions)]
        assert env.observation_space.contains(obs)
        meaning = game.observation_meaning(obs)
        assert meaning.t == i
        assert isinstance(game.describe(obs), str) and game.describe(obs)
        obs, reward, terminated, truncated, _ = env.step(a)
        s2 = model.state_index(obs)
        assert model.transition_matrix[s, a, s2] > 0
        assert np.isfinite(reward) and not truncated
        assert terminated == (i == game.horizon - 1)
        s = s2


@SETTINGS
@given(case=CASES)
def test_meaning_is_a_pure_inverse_of_observation(case):
    env_id, kwargs = case
    game = gym.make(env_id, **kwargs).unwrapped
    model = game.tabular_model()
    for obs in model.observations:
        state = game.observation_meaning(obs.copy())
        assert state == game.observation_meaning(obs.copy())
        np.testing.assert_array_equal(game._observe(state), obs)


@SETTINGS
@given(value=st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none(),
                       st.integers(-100, 0)))
def test_bad_numbers_give_parameter_errors(value):
    for env_id, name in [("Subrational/Marshmallow-v0", "reliability"),
                         ("Subrational/DoubleOrNothing-v0", "win_probability"),
                         ("Subrational/Ultimatum-v0", "pie")]:
        try:
            gym.make(env_id, **{name: value})
        except ParameterError as err:
            assert name in str(err)
