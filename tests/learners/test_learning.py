"""Every learner learns: on a deterministic expert, with a small budget, each one gets
closer to its target than an untrained network can.

The expert is the naive prospect-theory gambler at temperature 0 in a three-round double
or nothing; an untrained network is about uniform in every state, so its visit-weighted
total variation (TV) to this deterministic expert is near 0.5. A learner whose training
is skipped or broken stays there. The RL learners are measured against the exact
exponential optimum (value iteration) instead of the expert.
"""

from __future__ import annotations

import pytest

from subrational_gym import make_env, policies
from subrational_gym.evaluation import total_variation
from subrational_gym.learners import (
    FeatureMap,
    as_tabular_policy,
    generate_demonstrations,
    seed_everything,
    train,
)
from subrational_gym.learners.networks import actor_critic

ENV_ID = "Subrational/DoubleOrNothing-v0"
KWARGS = {"max_rounds": 3}
#: Small budgets (seconds each) and the TV each learner must reach with them.
BUDGETS = {
    "bc": ({"budget": 30}, 0.05),
    "distribution_matching": ({"budget": 200}, 0.05),
    "gail": ({"budget": 2048, "n_envs": 4, "n_steps": 64, "distil_steps": 0}, 0.1),
    "airl": ({"budget": 2048, "n_envs": 4, "n_steps": 64, "distil_steps": 0}, 0.15),
}
#: An untrained network's TV to the expert is above this (checked below).
UNTRAINED_AT_LEAST = 0.3


@pytest.fixture(scope="module")
def setting():
    env = make_env(ENV_ID, **KWARGS)
    expert = policies.prospect_theory_gambler(env, planning="naive")
    demos = generate_demonstrations(expert, ENV_ID, 100, seed=0, env_kwargs=KWARGS)
    return env.tabular_model(), expert, demos


def _untrained(model, features: str, net_arch=(32, 32)):
    seed_everything(0)
    fm = FeatureMap(model, features)
    return as_tabular_policy(model, actor_critic(fm, model, net_arch, 1e-3), features=fm)


def test_an_untrained_network_is_far_from_the_expert(setting):
    model, expert, _ = setting
    assert ((expert.probs == 0) | (expert.probs == 1))[model.decision_mask].all()
    for features in ("raw", "raw+onehot", "onehot"):
        assert total_variation(model, expert, _untrained(model, features)).mean \
            > UNTRAINED_AT_LEAST


@pytest.mark.parametrize("algorithm", [
    "bc", "distribution_matching",
    pytest.param("gail", marks=pytest.mark.slow), pytest.param("airl", marks=pytest.mark.slow),
])
def test_imitation_learner_recovers_a_deterministic_expert(algorithm, setting):
    model, expert, demos = setting
    overrides, target = BUDGETS[algorithm]
    result = train(algorithm, demos, ENV_ID, env_kwargs=KWARGS, seed=0, **overrides)
    assert total_variation(model, expert, result.policy).mean < target < UNTRAINED_AT_LEAST


#: The RL learners' game: at the default win probability 0.5 a double is a fair bet that
#: pays later, so with gamma 0.99 the exponential optimum stops.
RL_KWARGS = KWARGS


@pytest.mark.parametrize("algorithm, overrides", [
    ("dqn", {"budget": 2000, "learning_starts": 200}),
    pytest.param("ppo", {"budget": 4096}, marks=pytest.mark.slow),
])
def test_rl_learner_approaches_the_exponential_optimum(algorithm, overrides):
    model = make_env(ENV_ID, **RL_KWARGS).tabular_model()
    optimum = train("value_iteration", None, ENV_ID, env_kwargs=RL_KWARGS, gamma=0.99).policy
    untrained = total_variation(model, optimum, _untrained(model, "raw", (64, 64))).mean
    result = train(algorithm, None, ENV_ID, env_kwargs=RL_KWARGS, seed=0, **overrides)
    assert total_variation(model, optimum, result.policy).mean < 0.1 < untrained
