"""Hand-computed cases for the exact evaluation that learners are judged by."""

from __future__ import annotations

import numpy as np
import pytest

from subrational_gym import make_env, policies
from subrational_gym.evaluation import (
    expected_return,
    policy_table,
    state_occupancy,
    total_variation,
)

ENV_IDS = ["Subrational/Ultimatum-v0", "Subrational/Marshmallow-v0",
           "Subrational/DoubleOrNothing-v0", "Subrational/Procrastination-v0"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_tv_of_a_policy_with_itself_is_zero(env_id):
    policy = policies.exponential_discounter(env_id, gamma=0.9, temperature=0.5)
    distance = total_variation(policy.model, policy, policy)
    assert distance.mean == 0.0 and distance.max == 0.0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_tv_of_opposite_deterministic_policies_is_one(env_id):
    model = make_env(env_id).tabular_model()
    zero = np.tile([1.0, 0.0], (model.n_states, 1))
    one = np.tile([0.0, 1.0], (model.n_states, 1))
    assert total_variation(model, zero, one).mean == pytest.approx(1.0)
    assert total_variation(model, one, zero).max == pytest.approx(1.0)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_occupancy_sums_to_one_per_time_step(env_id):
    policy = policies.exponential_discounter(env_id, gamma=0.8, temperature=1.0)
    model = policy.model
    occ = state_occupancy(model, policy_table(model, policy))
    for t in range(model.horizon + 1):
        assert occ[model.times == t].sum() == pytest.approx(1.0)


def test_expected_return_of_hand_solved_cases():
    # Ultimatum, uniform offers 0..10: always accepting earns the mean offer, 5.
    model = make_env("Subrational/Ultimatum-v0").tabular_model()
    accept = np.tile([0.0, 1.0], (model.n_states, 1))
    assert expected_return(model, accept) == pytest.approx(5.0)
    # Marshmallow, 10 minutes: waiting earns 2 undiscounted, 2 * 0.9**9 with gamma 0.9
    # (the reward arrives on the 10th step); eating at once earns 1.
    model = make_env("Subrational/Marshmallow-v0").tabular_model()
    wait = np.tile([1.0, 0.0], (model.n_states, 1))
    eat = np.tile([0.0, 1.0], (model.n_states, 1))
    assert expected_return(model, wait) == pytest.approx(2.0)
    assert expected_return(model, wait, gamma=0.9) == pytest.approx(2 * 0.9**9)
    assert expected_return(model, eat, gamma=0.5) == pytest.approx(1.0)
    # Double or nothing, stake 10, p = 0.5: one gamble then stop is worth 0.5 * 20 = 10.
    game = make_env("Subrational/DoubleOrNothing-v0", max_rounds=1)
    model = game.tabular_model()
    gamble = np.tile([0.0, 1.0], (model.n_states, 1))
    assert expected_return(model, gamble) == pytest.approx(10.0)


def test_tv_is_visit_weighted():
    # Ultimatum: differ only at offer 0 (one of 11 equally likely offers).
    model = make_env("Subrational/Ultimatum-v0").tabular_model()
    accept = np.tile([0.0, 1.0], (model.n_states, 1))
    other = accept.copy()
    s0 = model.state_index(np.array([0.0, 0.0, 0.0], dtype=np.float32))
    other[s0] = [1.0, 0.0]
    distance = total_variation(model, accept, other)
    assert distance.mean == pytest.approx(1.0 / 11.0)
    assert distance.max == pytest.approx(1.0)
