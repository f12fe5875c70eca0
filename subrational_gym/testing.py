"""Reusable checks for Subrational environments, shipped with the package (after seals).

Every env, including a user's new game built on :class:`SubrationalEnv`, can be
tested the same way::

    from subrational_gym.testing import check_subrational_env
    check_subrational_env("Subrational/Ultimatum-v0", pie=4)

The checks need only gymnasium and numpy (the chi-squared test also scipy).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np

from subrational_gym.core import SubrationalEnv
from subrational_gym.tabular import TabularModel


def rollout_actions(env: gym.Env, actions: list[int], seed: int) -> list[tuple]:
    """Observations, rewards and ends of one episode with the given actions (cycled)."""
    obs, _ = env.reset(seed=seed)
    steps: list[tuple] = [(obs.tobytes(),)]
    i = 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(actions[i % len(actions)])
        steps.append((obs.tobytes(), reward, terminated, truncated))
        i += 1
        if terminated or truncated:
            return steps


def check_fixed_horizon(env: gym.Env, *, episodes: int = 20, seed: int = 0) -> None:
    """Every episode, whatever the actions, lasts exactly ``horizon`` steps."""
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    rng = np.random.default_rng(seed)
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        length = 0
        while True:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            length += 1
            assert not truncated, "Subrational envs never truncate"
            if terminated:
                break
            assert length < game.horizon, f"episode ran past the horizon {game.horizon}"
        assert length == game.horizon, f"episode lasted {length} steps, horizon {game.horizon}"


def check_model_matches_simulator(
    env: gym.Env, *, episodes: int = 300, seed: int = 0, tolerance: float = 0.12
) -> None:
    """The tabular model and ``step`` agree.

    Every observation the simulator emits is a state of the model, every reward and
    next state it produces has positive probability in ``P[s][a]``, and empirical
    transition frequencies are within ``tolerance`` of the model's probabilities.
    """
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    model = game.tabular_model()
    rng = np.random.default_rng(seed)
    counts: dict[tuple[int, int], dict[int, int]] = {}
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        s = model.state_index(obs)
        assert model.initial_distribution[s] > 0, "reset reached a state of zero start mass"
        terminated = False
        while not terminated:
            a = int(rng.integers(model.n_actions))
            obs, reward, terminated, _, _ = env.step(a)
            s2 = model.state_index(obs)
            match = [t for t in model.transitions[s][a] if t.next_state == s2]
            assert match, f"step went {s}->{s2} with action {a}, impossible in the model"
            assert np.isclose(match[0].reward, reward), "reward differs from the model"
            assert match[0].terminated == terminated, "termination differs from the model"
            counts.setdefault((s, a), {}).setdefault(s2, 0)
            counts[(s, a)][s2] += 1
            s = s2
    for (s, a), nxt in counts.items():
        total = sum(nxt.values())
        if total < 50:
            continue
        successors, probabilities = model.sparse_transitions.successors(s, a)
        for s2, k in nxt.items():
            expected = float(probabilities[successors == s2].sum())
            assert abs(k / total - expected) < tolerance, (
                f"P[{s}][{a}]->{s2}: empirical {k / total:.3f}, model {expected:.3f}"
            )


def check_meaning_round_trip(env: gym.Env) -> None:
    """``observation_meaning`` inverts the observation of every state of the model."""
    game: SubrationalEnv = env.unwrapped  # type: ignore[assignment]
    model = game.tabular_model()
    for s, obs in enumerate(model.observations):
        state = game.observation_meaning(obs)
        assert np.array_equal(game._observe(state), obs), f"state {s} does not round-trip"
        assert game.observation_space.contains(obs), f"state {s} is outside the space"
        assert model.descriptions[s] == game.describe(obs)
        labels = game.action_labels(obs)
        assert len(labels) == model.n_actions and all(x.isalpha() for x in labels)


def check_subrational_env(env_id: str, **kwargs: Any) -> None:
    """Run every check above plus Gymnasium's ``check_env`` on ``gym.make(env_id, **kwargs)``."""
    from gymnasium.utils.env_checker import check_env

    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    check_fixed_horizon(env)
    check_model_matches_simulator(env)
    check_meaning_round_trip(env)


@dataclasses.dataclass(frozen=True)
class ChiSquare:
    """A chi-squared goodness-of-fit test pooled over several distributions.

    Attributes:
        statistic: Sum of ``(observed - expected)**2 / expected`` over the cells tested.
        dof: Degrees of freedom (cells minus one, summed over the distributions tested).
        p_value: Upper tail of the chi-squared distribution at ``statistic`` (1.0 when
            ``dof`` is 0: nothing random was tested).
    """

    statistic: float
    dof: int
    p_value: float


@dataclasses.dataclass(frozen=True)
class FrequencyTests:
    """Frequencies of a batched game against a model (see :func:`batched_chi_square`).

    Attributes:
        pooled: Start states, and next states of each (state, action) pair, counted
            over all steps: power against wrong probabilities.
        per_step: The same counted separately in every step of the batch: power
            against copies that are not independent (a shared random number makes a
            step's copies move together, which pooled counts average away).
        n_samples: Number of start draws and transitions.
    """

    pooled: ChiSquare
    per_step: ChiSquare
    n_samples: int


def batched_chi_square(batch: Any, model: TabularModel | None = None, *, steps: int = 200,
                       seed: int = 0, min_expected: float = 5.0) -> FrequencyTests:
    """Test a batched game's start and transition frequencies against a model's probabilities.

    Steps every copy of ``batch`` (a :class:`~subrational_gym.vector.BatchedGame`)
    ``steps`` times with uniformly random actions, resetting the copies whose episode
    ended, and compares the frequencies of start states and of next states for each
    (state, action) pair with ``model.initial_distribution`` and ``model.transitions``
    (a distribution enters when every expected count is at least ``min_expected``),
    once pooled over steps and once step by step. Every observed start, transition,
    reward and termination must also be possible in ``model``.

    Args:
        batch: The batched game to sample from.
        model: The model to test against (default: ``batch.model``); states are matched
            by observation, so a model of the same game built with other parameters works.
        steps: Steps of the whole batch.
        seed: Seeds the batch's generator and the actions (as independent streams).
        min_expected: Smallest expected count of a cell for its distribution to be tested.

    Raises:
        AssertionError: if a start, transition or reward is impossible in ``model``.
    """
    from subrational_gym.vector import BatchedGame

    if not isinstance(batch, BatchedGame):
        raise TypeError(f"batch must be a BatchedGame, got {type(batch).__name__}")
    model = batch.model if model is None else model
    n, n_actions = model.n_states, model.n_actions
    to_model = model.state_indices(batch.model.observations)  # batch index -> model index
    env_seed, action_seed = (int(x) for x in np.random.SeedSequence(seed).generate_state(2))
    rng = np.random.default_rng(action_seed)
    starts = [to_model[batch.reset(seed=env_seed)]]
    start_steps = [np.zeros(batch.num_envs, dtype=np.int64)]
    pairs, nexts, rewards = [], [], []
    for step in range(steps):
        actions = rng.integers(n_actions, size=batch.num_envs)
        pairs.append(to_model[batch.states] * n_actions + actions)
        states, reward, terminated = batch.step(actions)
        nexts.append(to_model[states])
        rewards.append(reward)
        if terminated.any():
            starts.append(to_model[batch.reset(mask=terminated)[terminated]])
            start_steps.append(np.full(int(terminated.sum()), step + 1))
    start, start_step = np.concatenate(starts), np.concatenate(start_steps)
    pair, nxt, reward = np.concatenate(pairs), np.concatenate(nexts), np.concatenate(rewards)
    pair_step = np.repeat(np.arange(steps), batch.num_envs)

    impossible = np.flatnonzero(model.initial_distribution[start] <= 0)
    assert not len(impossible), f"reset reached state {start[impossible[0]]} of zero start mass"
    outcome_probs: dict[int, np.ndarray] = {}
    for key in np.unique(pair * n + nxt).tolist():
        p, s2 = divmod(key, n)
        s, a = divmod(p, n_actions)
        outcomes = [tr for tr in model.transitions[s][a] if tr.next_state == s2]
        assert outcomes, f"a copy went {s}->{s2} with action {a}, impossible in the model"
        assert np.isin(reward[(pair == p) & (nxt == s2)], [tr.reward for tr in outcomes]).all(), (
            f"reward of {s}->{s2} with action {a} differs from the model"
        )
        assert bool(model.terminal_mask[s2]) == outcomes[0].terminated
        if p not in outcome_probs:
            probs = np.zeros(n)
            for tr in model.transitions[s][a]:
                probs[tr.next_state] += tr.probability
            outcome_probs[p] = probs

    def test(group_start: np.ndarray, group_pair: np.ndarray) -> ChiSquare:
        statistic, dof = _chi_square_groups(group_start, start, model.initial_distribution,
                                            min_expected)
        for p, probs in outcome_probs.items():
            chosen = pair == p
            stat, df = _chi_square_groups(group_pair[chosen], nxt[chosen], probs, min_expected)
            statistic, dof = statistic + stat, dof + df
        return _chi_square(statistic, dof)

    return FrequencyTests(
        pooled=test(np.zeros(len(start), dtype=np.int64), np.zeros(len(pair), dtype=np.int64)),
        per_step=test(start_step, pair_step),
        n_samples=int(len(start) + len(pair)),
    )


def check_batched_matches_model(batch: Any, model: TabularModel | None = None, *,
                                steps: int = 200, seed: int = 0,
                                alpha: float = 1e-4) -> FrequencyTests:
    """Assert neither test of :func:`batched_chi_square` rejects the model at level ``alpha``.

    The default level keeps false alarms rare when many variants are checked (16 tests
    for the 8 variants of the test suite: about 0.2% in all), while wrong dynamics are
    still rejected at the suite's sample sizes (p below 1e-6 in its controls).

    Raises:
        AssertionError: if a test rejects, or a transition is impossible in the model.
    """
    result = batched_chi_square(batch, model, steps=steps, seed=seed)
    for name, test in (("pooled", result.pooled), ("per-step", result.per_step)):
        assert test.p_value >= alpha, (
            f"{name} chi-squared test rejects the model: statistic {test.statistic:.1f} on "
            f"{test.dof} degrees of freedom, p = {test.p_value:.2e} < {alpha} "
            f"({result.n_samples} draws)"
        )
    return result


def _chi_square_groups(groups: np.ndarray, outcomes: np.ndarray, probs: np.ndarray,
                       min_expected: float) -> tuple[float, int]:
    """Chi-squared statistic and dof of ``outcomes`` against ``probs``, summed over groups."""
    support = np.flatnonzero(probs > 0)
    if len(support) < 2 or not len(outcomes):
        return 0.0, 0
    column = np.searchsorted(support, outcomes)
    group_ids, group_of = np.unique(groups, return_inverse=True)
    counts = np.zeros((len(group_ids), len(support)))
    np.add.at(counts, (group_of, column), 1.0)
    expected = counts.sum(axis=1, keepdims=True) * probs[support]
    tested = expected.min(axis=1) >= min_expected
    if not tested.any():
        return 0.0, 0
    cells = (counts[tested] - expected[tested]) ** 2 / expected[tested]
    return float(cells.sum()), int(tested.sum()) * (len(support) - 1)


def _chi_square(statistic: float, dof: int) -> ChiSquare:
    from scipy import stats

    p_value = float(stats.chi2.sf(statistic, dof)) if dof else 1.0
    return ChiSquare(float(statistic), int(dof), p_value)
