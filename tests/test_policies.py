"""Reference policies behave as their theories say, and work with imitation and SB3."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import subrational_gym
from subrational_gym import policies
from subrational_gym.errors import ParameterError
from subrational_gym.evaluation import behaviour_summary, expected_return, total_variation
from subrational_gym.planning import softmax_choice, value_iteration

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)


def game(name, **kwargs):
    return subrational_gym.make_env(name, **kwargs)


def test_income_maximiser_accepts_every_positive_offer():
    summary = behaviour_summary(g := game("ultimatum"), policies.income_maximiser(g))
    assert summary["acceptance"][0] == 0.5  # indifferent at 0
    assert all(p == 1.0 for p in summary["acceptance"][1:])


def test_inequity_averse_responder_rejects_low_offers():
    g = game("ultimatum")
    acc = behaviour_summary(g, policies.inequity_averse_responder(g))["acceptance"]
    # threshold alpha * pie / (1 + 2 alpha) = 0.85 * 10 / 2.7 = 3.15
    assert acc[:4] == [0.0, 0.0, 0.0, 0.0] and all(a == 1.0 for a in acc[4:])
    acc = behaviour_summary(g, policies.inequity_averse_responder(g, alpha=0.0))["acceptance"]
    assert acc[1:] == [1.0] * 10


def test_fehr_schmidt_population_acceptance_rises_with_offer():
    g = game("ultimatum")
    acc = np.array(behaviour_summary(g, policies.fehr_schmidt_population(g))["acceptance"])
    assert np.all(np.diff(acc) >= 0)
    np.testing.assert_allclose(acc[[0, 1, 3, 4, 5, 10]], [0.15, 0.3, 0.6, 0.9, 1.0, 1.0])


def test_prospect_theory_stops_earlier_than_risk_neutral_at_fair_odds():
    g = game("double_or_nothing", win_probability=0.5)
    pt = behaviour_summary(g, policies.prospect_theory_gambler(g))
    rn = behaviour_summary(g, policies.income_maximiser(g))
    assert pt["gamble_probability"][0] == 0.0 and rn["gamble_probability"][0] == 0.5
    assert pt["expected_rounds_gambled"] < rn["expected_rounds_gambled"]
    framed = policies.prospect_theory_gambler(g, reference="zero")
    assert behaviour_summary(g, framed)["gamble_probability"][0] == 0.0


def test_prospect_theory_naive_planner_lottery_effect():
    g = game("double_or_nothing")
    s = behaviour_summary(g, policies.prospect_theory_gambler(g, planning="naive",
                                                              reference="zero"))
    assert s["gamble_probability"][0] == 1.0  # long-shot plans look attractive


def test_beta_delta_starts_writing_later_than_exponential():
    g = game("procrastination")
    patient = behaviour_summary(g, policies.beta_delta(g, beta=1.0))
    naive = behaviour_summary(g, policies.beta_delta(g, beta=0.7))
    soph = behaviour_summary(g, policies.beta_delta(g, beta=0.7, sophisticated=True))
    assert patient["mean_start_day"] == 1.0
    assert naive["mean_start_day"] > patient["mean_start_day"]
    assert soph["mean_start_day"] > patient["mean_start_day"]
    # beta = 1 is exactly the exponential optimum with gamma = delta.
    np.testing.assert_allclose(policies.beta_delta(g, beta=1.0).probs,
                               policies.exponential_discounter(g, gamma=1.0).probs)


def test_low_gamma_also_writes_at_the_last_minute():
    g = game("procrastination")
    low = behaviour_summary(g, policies.exponential_discounter(g, gamma=0.5))
    assert low["mean_start_day"] == 6.0 and low["mean_finish_day"] == 7.0


def test_only_sophisticated_present_bias_commits():
    g = game("procrastination", self_imposed_deadline=True)
    for gamma in np.linspace(0.0, 1.0, 21):
        commit = behaviour_summary(g, policies.exponential_discounter(g, gamma=gamma))
        assert commit["commit_probability"] == 0.0, gamma
    assert behaviour_summary(g, policies.beta_delta(g))["commit_probability"] == 0.0
    soph = behaviour_summary(g, policies.beta_delta(g, sophisticated=True))
    assert soph["commit_probability"] == 1.0


def test_marshmallow_exponential_never_gives_in_midway():
    g = game("marshmallow")
    for gamma in np.linspace(0.0, 1.0, 41):
        s = behaviour_summary(g, policies.exponential_discounter(g, gamma=gamma))
        assert s["gave_in_midway"] == 0.0
        assert s["ate_at_once"] in (0.0, 0.5, 1.0) and s["waited_full"] in (0.0, 0.5, 1.0)
    child = behaviour_summary(g, policies.beta_delta(g, beta=0.6, temperature=0.3))
    assert child["gave_in_midway"] > 0.3


def test_softmax_choice_limits():
    np.testing.assert_allclose(softmax_choice(np.array([[0.0, 1.0]]), 1e6), [[0.5, 0.5]], atol=1e-6)
    np.testing.assert_allclose(softmax_choice(np.array([[0.0, 1.0]]), 0.0), [[0.0, 1.0]])
    with pytest.raises(ParameterError, match="temperature"):
        softmax_choice(np.zeros((1, 2)), -1.0)


def test_value_iteration_hand_solved():
    g = game("double_or_nothing", max_rounds=1, win_probability=0.75)
    model = g.tabular_model()
    q = value_iteration(model, 1.0).q[0]
    np.testing.assert_allclose(q, [10.0, 15.0])
    assert expected_return(model, policies.income_maximiser(g)) == pytest.approx(15.0)


def test_policy_errors_name_the_game():
    with pytest.raises(ParameterError, match="ultimatum game"):
        policies.inequity_averse_responder(game("marshmallow"))
    with pytest.raises(ParameterError, match="beta must be in"):
        policies.beta_delta(game("marshmallow"), beta=1.5)
    with pytest.raises(ParameterError, match="reference must be"):
        policies.prospect_theory_gambler(game("double_or_nothing"), reference="other")


def test_game_specific_policies_live_in_their_game_module_and_are_served_by_name():
    from subrational_gym.envs import double_or_nothing, ultimatum

    for module in (ultimatum, double_or_nothing):
        for name in module.REFERENCE_POLICIES:
            assert getattr(policies, name) is getattr(module, name)
            assert name in dir(policies)
    from subrational_gym.policies import inequity_averse_responder  # from-import works too

    assert inequity_averse_responder is ultimatum.inequity_averse_responder
    with pytest.raises(AttributeError, match="no attribute 'no_such_policy'"):
        policies.no_such_policy  # noqa: B018
    assert not hasattr(policies, "UltimatumEnv")  # only the listed names are served


def test_policy_works_with_imitation_rollout_and_sb3_evaluate():
    rollout = pytest.importorskip("imitation.data.rollout")
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.vec_env import DummyVecEnv

    env_id = "Subrational/Marshmallow-v0"
    venv = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make(env_id))])
    expert = policies.beta_delta(env_id, beta=0.6, temperature=0.3, seed=0)
    trajs = rollout.rollout(expert, venv, rollout.make_sample_until(min_episodes=20),
                            rng=np.random.default_rng(0))
    assert len(trajs) >= 20 and all(len(t.acts) == 10 for t in trajs)
    mean, _ = evaluate_policy(expert, venv, n_eval_episodes=10)
    assert 1.0 <= mean <= 2.0
    expert.seed(1)
    a = expert.sample(trajs[0].obs[:-1])
    expert.seed(1)
    np.testing.assert_array_equal(a, expert.sample(trajs[0].obs[:-1]))


def test_total_variation_hand_cases():
    g = game("ultimatum")
    model = g.tabular_model()
    a = policies.income_maximiser(g)
    b = policies.inequity_averse_responder(g)
    assert total_variation(model, a, a).mean == 0.0
    d = total_variation(model, a, b)
    # differ at offers 1, 2, 3 fully and at 0 by one half: (3 + 0.5) / 11
    assert d.mean == pytest.approx(3.5 / 11) and d.max == 1.0


def test_policy_stream_differs_from_env_stream_with_the_same_seed():
    # With equal seeds the env's offer draw and the policy's action draw must not coincide.
    g = game("ultimatum")
    env = gym.make("Subrational/Ultimatum-v0")
    policy = policies.fehr_schmidt_population(g, seed=7)
    obs, _ = env.reset(seed=7)
    assert env.unwrapped.np_random.random() != policy.rng.random()
    accepted_at_3 = []
    for seed in range(400):
        policy.seed(seed)
        obs, _ = env.reset(seed=seed, options={"offer": 3})
        accepted_at_3.append(int(policy.sample(obs[None])[0]))
    assert 0.5 < np.mean(accepted_at_3) < 0.7  # P(accept $3) = 0.6 in the population


def test_expected_minutes_waited_hand_cases():
    g = game("marshmallow", wait_minutes=4)
    assert behaviour_summary(g, policies.exponential_discounter(g, gamma=1.0))[
        "expected_minutes_waited"] == 4.0
    assert behaviour_summary(g, policies.exponential_discounter(g, gamma=0.0))[
        "expected_minutes_waited"] == 0.0
    # Hazard h_t of eating at minute t (the last minute's wait pays at once, so h_3 differs):
    # E[wait] = sum_t t h_t prod_{u<t}(1-h_u) + 4 prod_u (1-h_u).
    child = policies.beta_delta(g, beta=0.6, temperature=0.3)
    model = child.model
    h = [child.probs[s, 1] for s in range(model.n_states)
         if model.decision_mask[s] and g.observation_meaning(model.observations[s]).status
         == "waiting"]
    survive, expected = 1.0, 0.0
    for t, h_t in enumerate(h):
        expected += t * h_t * survive
        survive *= 1 - h_t
    expected += 4 * survive
    assert behaviour_summary(g, child)["expected_minutes_waited"] == pytest.approx(expected)
