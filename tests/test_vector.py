"""The batched core and the Gymnasium vector env against the single env and the exact model.

Needs only the core install (runs under Gymnasium 0.29 and 1.x); the stable-baselines3
VecEnv is tested in tests/learners/test_vec_env.py.
"""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import subrational_gym
from subrational_gym import make_env
from subrational_gym.errors import InvalidActionError, ParameterError, ResetNeededError
from subrational_gym.testing import batched_chi_square, check_batched_matches_model
from subrational_gym.vector import BatchedGame, SubrationalVectorEnv
from tests.test_envs import IDS, VARIANTS

pytestmark = pytest.mark.core  # runs on the core install (Gymnasium 1.x in make test)

GYMNASIUM_1 = int(gym.__version__.split(".")[0]) >= 1


def single_env_run(env_id, kwargs, actions, seed):
    """Observations, rewards and ends of the single env over ``actions``, resetting at ends."""
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    out = [(obs.copy(), None, None)]
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(int(a))
        assert not truncated
        out.append((obs.copy(), reward, terminated))
        if terminated:
            obs, _ = env.reset()
            out.append((obs.copy(), None, None))
    return out


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS, ids=IDS)
class TestAgainstTheSingleEnv:
    def test_one_copy_is_the_single_env_draw_for_draw(self, env_id, kwargs):
        actions = np.random.default_rng(1).integers(2, size=300)
        expected = single_env_run(env_id, kwargs, actions, seed=7)
        batch = BatchedGame(env_id, 1, **kwargs)
        got = [(batch.observations(batch.reset(seed=7))[0], None, None)]
        for a in actions:
            states, reward, terminated = batch.step([a])
            got.append((batch.observations(states)[0], reward[0], terminated[0]))
            if terminated[0]:
                got.append((batch.observations(batch.reset(mask=terminated))[0], None, None))
        assert len(got) == len(expected)
        for (o1, r1, t1), (o2, r2, t2) in zip(expected, got, strict=True):
            assert np.array_equal(o1, o2) and r1 == r2 and t1 == t2

    def test_vector_env_with_one_copy_autoresets_like_the_single_env(self, env_id, kwargs):
        # Same-step autoreset: the step that ends an episode returns the next episode's
        # first observation and the terminal one in the info.
        actions = np.random.default_rng(2).integers(2, size=200)
        expected = single_env_run(env_id, kwargs, actions, seed=3)
        envs = SubrationalVectorEnv(env_id, 1, autoreset_mode="same_step", **kwargs)
        obs, _ = envs.reset(seed=3)
        got = [(obs[0], None, None)]
        final_key = "final_obs" if GYMNASIUM_1 else "final_observation"
        for a in actions:
            obs, reward, terminated, truncated, info = envs.step(np.array([a]))
            assert not truncated[0]
            if terminated[0]:
                assert info[f"_{final_key}"][0]
                got.append((info[final_key][0], reward[0], True))
                got.append((obs[0], None, None))
            else:
                assert final_key not in info
                got.append((obs[0], reward[0], False))
        for (o1, r1, t1), (o2, r2, t2) in zip(expected, got, strict=True):
            assert np.array_equal(o1, o2) and r1 == r2 and t1 == t2

    @pytest.mark.skipif(not GYMNASIUM_1, reason="next-step autoreset is Gymnasium 1.x's")
    def test_next_step_autoreset_like_the_single_env(self, env_id, kwargs):
        # Next-step autoreset: the terminal observation is returned as the observation;
        # the following step ignores its action and returns the reset (reward 0).
        actions = np.random.default_rng(4).integers(2, size=200)
        envs = SubrationalVectorEnv(env_id, 1, autoreset_mode="next_step", **kwargs)
        obs, _ = envs.reset(seed=5)
        got = [(obs[0], None, None)]
        pending = False
        used = []
        for a in actions:
            obs, reward, terminated, _, _ = envs.step(np.array([a]))
            if pending:
                assert reward[0] == 0.0 and not terminated[0]
                got.append((obs[0], None, None))
            else:
                used.append(a)
                got.append((obs[0], reward[0], terminated[0]))
            pending = bool(terminated[0])
        expected = single_env_run(env_id, kwargs, used, seed=5)
        for (o1, r1, t1), (o2, r2, t2) in zip(expected, got, strict=False):
            assert np.array_equal(o1, o2) and r1 == r2 and t1 == t2

    def test_frequencies_match_the_model(self, env_id, kwargs):
        # Pooled chi-squared test of start and transition frequencies of 256 copies
        # against the exact model (dof 0 where the game is deterministic: then only the
        # support, rewards and terminations are checked).
        check_batched_matches_model(BatchedGame(env_id, 256, **kwargs), steps=100, seed=0)

    def test_every_copy_lasts_the_horizon(self, env_id, kwargs):
        envs = SubrationalVectorEnv(env_id, 16, autoreset_mode="same_step", **kwargs)
        horizon = envs.game.horizon
        model = envs.game.tabular_model()
        obs, _ = envs.reset(seed=0)
        rng = np.random.default_rng(0)
        length = np.zeros(16, dtype=int)
        final_key = "final_obs" if GYMNASIUM_1 else "final_observation"
        for _ in range(3 * horizon):
            obs, _, terminated, truncated, info = envs.step(rng.integers(2, size=16))
            length += 1
            assert not truncated.any()
            assert (terminated == (length == horizon)).all()
            for i in np.flatnonzero(terminated):
                assert model.terminal_mask[model.state_index(info[final_key][i])]
                assert model.initial_distribution[model.state_index(obs[i])] > 0
            length[terminated] = 0
            assert envs.observation_space.contains(obs)


# Wrong dynamics (other parameters of the same game): the chi-squared test must reject.
WRONG = [
    ("Subrational/Ultimatum-v0", {}, {"offer_distribution": [0.08] + [0.092] * 10}),
    ("Subrational/Marshmallow-v0", {"reliability": 0.5, "wait_minutes": 4},
     {"reliability": 0.7, "wait_minutes": 4}),
    ("Subrational/DoubleOrNothing-v0", {}, {"win_probability": 0.55}),
    ("Subrational/Ultimatum-v0", {"pie": 4, "offer_distribution": [0.1, 0.2, 0.3, 0.2, 0.2]},
     {"pie": 4, "offer_distribution": [0.12, 0.2, 0.28, 0.2, 0.2]}),
]


@pytest.mark.parametrize(("env_id", "true_kwargs", "wrong_kwargs"), WRONG,
                         ids=[f"{e.split('/')[1]}-{sorted(w)[0]}" for e, _, w in WRONG])
def test_chi_square_rejects_wrong_dynamics(env_id, true_kwargs, wrong_kwargs):
    true_model = make_env(env_id, **true_kwargs).tabular_model()
    with pytest.raises(AssertionError, match="pooled chi-squared test rejects"):
        check_batched_matches_model(BatchedGame(env_id, 256, **wrong_kwargs), true_model,
                                    steps=100, seed=0)
    # The same sample size accepts the right dynamics.
    check_batched_matches_model(BatchedGame(env_id, 256, **true_kwargs), true_model,
                                steps=100, seed=0)


class _OneDrawForAllCopies(BatchedGame):
    """A plausible bug: one uniform number shared by every copy in a step."""

    def _advance(self, states, actions):
        tables = self.tables
        flat = states * tables.n_actions + actions
        u = self.np_random.random()
        k = (u >= tables.cumulative[flat]).sum(axis=1)
        nxt = tables.next_state[flat, k]
        return nxt, tables.reward[flat, k], tables.terminal[nxt]


def test_chi_square_rejects_correlated_copies():
    # Each copy alone still has the right probabilities, so pooled counts barely see the
    # bug; counted step by step, the copies' outcomes move together.
    batch = _OneDrawForAllCopies("Subrational/DoubleOrNothing-v0", 256)
    result = batched_chi_square(batch, steps=100, seed=0)
    assert result.per_step.p_value < 1e-12
    with pytest.raises(AssertionError, match="per-step chi-squared test rejects"):
        check_batched_matches_model(batch, steps=100, seed=0)
    right = batched_chi_square(BatchedGame("Subrational/DoubleOrNothing-v0", 256),
                               steps=100, seed=0)
    assert right.per_step.p_value > 1e-4 and right.per_step.dof > 40


def test_chi_square_rejects_an_impossible_transition():
    batch = BatchedGame("Subrational/Marshmallow-v0", 8, wait_minutes=3)
    broken = batch.tables.next_state.copy()
    broken[1, 0] = batch.tables.next_state[0, 0]  # EAT at minute 0 leads back to waiting
    batch.tables = dataclasses.replace(batch.tables, next_state=broken)
    assert batch.tables.first_next_state[1] == broken[1, 0]
    with pytest.raises(AssertionError, match="impossible in the model"):
        batched_chi_square(batch, steps=20, seed=0)


class TestSeeding:
    def run(self, seed, n=64, steps=30):
        batch = BatchedGame("Subrational/DoubleOrNothing-v0", n)
        batch.reset(seed=seed)
        rng = np.random.default_rng(0)
        trace = []
        for _ in range(steps):
            states, rewards, terminated = batch.step(rng.integers(2, size=n))
            trace.append(states)
            if terminated.any():
                batch.reset(mask=terminated)
        return np.array(trace)

    def test_same_seed_same_episodes(self):
        assert np.array_equal(self.run(11), self.run(11))

    def test_other_seed_other_episodes(self):
        assert not np.array_equal(self.run(11), self.run(12))

    def test_reset_with_a_seed_restarts_the_stream(self):
        batch = BatchedGame("Subrational/Ultimatum-v0", 32)
        first = batch.reset(seed=5)
        batch.step(np.ones(32, dtype=int))
        batch.reset()
        assert np.array_equal(batch.reset(seed=5), first)

    def test_copies_are_independent(self):
        # Copies of one batch do not start alike (they draw different numbers).
        starts = BatchedGame("Subrational/Ultimatum-v0", 64).reset(seed=0)
        assert len(set(starts.tolist())) > 5

    def test_vector_env_np_random_is_the_copies_generator(self):
        envs = SubrationalVectorEnv("Subrational/Ultimatum-v0", 4)
        envs.reset(seed=3)
        assert envs.np_random is envs.batch.np_random
        envs.np_random = np.random.default_rng(3)
        first = envs.reset()[0]
        assert np.array_equal(first, envs.reset(seed=3)[0])

    def test_vector_env_seed_must_be_one_integer(self):
        envs = SubrationalVectorEnv("Subrational/Ultimatum-v0", 2)
        with pytest.raises(ParameterError, match="one non-negative integer"):
            envs.reset(seed=[1, 2])


class TestErrors:
    def test_step_before_reset(self):
        with pytest.raises(ResetNeededError, match="before reset"):
            BatchedGame("Subrational/Ultimatum-v0", 2).step([0, 1])

    def test_step_after_the_end(self):
        batch = BatchedGame("Subrational/Ultimatum-v0", 3)
        batch.reset(seed=0)
        batch.step([0, 1, 1])
        with pytest.raises(ResetNeededError, match=r"ended in copies \[0, 1, 2\]"):
            batch.step([0, 1, 1])

    @pytest.mark.parametrize("bad", [[0, 2], [-1, 0], [0.0, 1.0], [True, False], [0, 1, 1], "ab"])
    def test_invalid_actions(self, bad):
        batch = BatchedGame("Subrational/Marshmallow-v0", 2)
        batch.reset(seed=0)
        with pytest.raises(InvalidActionError, match="actions must be"):
            batch.step(bad)

    def test_bad_parameters(self):
        with pytest.raises(ParameterError, match="num_envs must be in"):
            BatchedGame("Subrational/Ultimatum-v0", 0)
        with pytest.raises(ParameterError, match="pie must be in"):
            BatchedGame("Subrational/Ultimatum-v0", 2, pie=0)
        with pytest.raises(ParameterError, match="autoreset_mode must be one of"):
            SubrationalVectorEnv("Subrational/Ultimatum-v0", 2, autoreset_mode="disabled")
        with pytest.raises(ParameterError, match="not understood"):
            BatchedGame("Subrational/Ultimatum-v0", 2).reset(options={"ofer": 3})


def test_reset_options_and_masks():
    batch = BatchedGame("Subrational/Ultimatum-v0", 4)
    states = batch.reset(seed=0, options={"offer": 3})
    assert (batch.observations(states)[:, 0] == np.float32(0.3)).all()
    mask = np.array([True, False, True, False])
    states = batch.reset(options={"offer": 9}, mask=mask)
    assert batch.observations(states)[:, 0].tolist() == pytest.approx([0.9, 0.3, 0.9, 0.3])


def test_masked_step_leaves_the_other_copies():
    batch = BatchedGame("Subrational/Marshmallow-v0", 3, wait_minutes=4)
    before = batch.reset(seed=0)
    states, rewards, terminated = batch.step([1, 1, 1], mask=np.array([True, False, True]))
    assert states[1] == before[1] and rewards.tolist() == [1.0, 0.0, 1.0]
    assert not terminated.any()


def test_vector_env_infos_are_the_single_env_infos():
    envs = SubrationalVectorEnv("Subrational/Marshmallow-v0", 2, wait_minutes=2)
    obs, info = envs.reset(seed=0)
    assert info["minute"].tolist() == [0, 0] and info["_status"].all()
    obs, _, _, _, info = envs.step(np.array([0, 1]))
    assert info["status"].tolist() == ["waiting", "eaten"]


def test_vector_env_render():
    envs = SubrationalVectorEnv("Subrational/Ultimatum-v0", 2, render_mode="ansi")
    assert envs.render()[0].startswith("(no episode yet")
    envs.reset(seed=0, options={"offer": 4})
    lines = envs.render()
    assert len(lines) == 2 and lines[0].startswith("step 0/1: The proposer has $10")
    assert lines[0].rstrip().endswith("[reject/accept]")


@pytest.mark.skipif(not GYMNASIUM_1, reason="vector_entry_point mode of make_vec is 1.x's")
def test_make_vec_vector_entry_point():
    for env_id in subrational_gym.ENV_IDS.values():
        envs = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
        assert isinstance(envs, SubrationalVectorEnv) and envs.num_envs == 3
        assert envs.spec is not None and envs.spec.id == env_id
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (3, *envs.single_observation_space.shape)
        envs.step(envs.action_space.sample())
    envs = gym.make_vec("Subrational/Marshmallow-v0", num_envs=2,
                        vectorization_mode="vector_entry_point", wait_minutes=3,
                        autoreset_mode="same_step")
    assert envs.game.wait_minutes == 3
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    # Gymnasium's own vectorisation still works.
    sync = gym.make_vec("Subrational/Marshmallow-v0", num_envs=2, vectorization_mode="sync")
    assert type(sync).__name__ == "SyncVectorEnv"


@pytest.mark.skipif(not GYMNASIUM_1, reason="compares with Gymnasium 1.x's SyncVectorEnv")
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_one_copy_matches_gymnasium_sync_vector_env(mode):
    env_id, kwargs = "Subrational/DoubleOrNothing-v0", {"max_rounds": 3}
    sync = gym.vector.SyncVectorEnv(
        [lambda: gym.make(env_id, **kwargs)],
        autoreset_mode=gym.vector.AutoresetMode(
            {"next_step": "NextStep", "same_step": "SameStep"}[mode]))
    ours = SubrationalVectorEnv(env_id, 1, autoreset_mode=mode, **kwargs)
    assert_same(sync.reset(seed=4), ours.reset(seed=4))
    for a in np.random.default_rng(0).integers(2, size=60):
        assert_same(sync.step(np.array([a])), ours.step(np.array([a])))


def assert_same(a, b):
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert_same(list(a), list(b))
    else:
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype or np.asarray(a).dtype == object


def test_gymnasium_0_29_make_vec_custom_mode():
    if GYMNASIUM_1:
        pytest.skip("Gymnasium 0.29's 'custom' vectorization mode")
    envs = gym.make_vec("Subrational/Marshmallow-v0", num_envs=2, vectorization_mode="custom",
                        vector_kwargs={"wait_minutes": 2})
    assert isinstance(envs, SubrationalVectorEnv) and envs.game.wait_minutes == 2
    assert envs.autoreset_mode == "same_step"
