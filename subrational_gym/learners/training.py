"""One entry point, :func:`train`, for every learner, and its typed result.

Imitation learners (``bc``, ``gail``, ``airl``, ``distribution_matching``) learn from
demonstrations; reinforcement learners (``ppo``, ``dqn``) and the exact
``value_iteration`` optimise the env's reward with an exponential discount ``gamma``
and ignore demonstrations. Every learner ends as a
:class:`~subrational_gym.policies.TabularPolicy` (its action distribution in every
state of the game), so evaluation treats learners, experts and reference policies
alike.

The ``budget`` is counted in each algorithm's natural unit:

==========================  ==========================================  =========
algorithm                   budget unit                                 default
==========================  ==========================================  =========
``bc``                      epochs over the demonstrations              see below
``distribution_matching``   full-batch gradient steps                   see below
``gail``, ``airl``          generator environment steps                 see below
``ppo``, ``dqn``            environment steps                           see below
``value_iteration``         ignored (exact)                             ``None``
==========================  ==========================================  =========

The defaults (:data:`DEFAULTS`, with the per-game overrides in :data:`GAME_DEFAULTS`)
were tuned so that, on 500 demonstrations of the
behavioural reference policies, the imitation learners recover the expert
(``benchmarks/learner_fidelity.py``) within about a minute on one CPU thread.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from imitation.algorithms import bc
from imitation.algorithms.adversarial.airl import AIRL
from imitation.algorithms.adversarial.gail import GAIL
from imitation.data import rollout
from imitation.data.wrappers import RolloutInfoWrapper
from imitation.rewards.reward_nets import BasicRewardNet, BasicShapedRewardNet, RewardNet
from imitation.util import logger as imit_logger
from imitation.util import networks
from imitation.util.networks import RunningNorm
from stable_baselines3 import DQN, PPO
from stable_baselines3.common import logger as sb_logger
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from subrational_gym import make_env
from subrational_gym.core import SubrationalEnv
from subrational_gym.learners.demonstrations import action_counts, empirical_policy
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FeatureMap, check_trajectories
from subrational_gym.learners.seeding import seed_everything
from subrational_gym.learners.vec_env import SubrationalVecEnv
from subrational_gym.planning import softmax_choice, value_iteration
from subrational_gym.policies import TabularPolicy
from subrational_gym.tabular import TabularModel

#: Algorithms that learn from demonstrations.
IMITATION_ALGORITHMS = ("bc", "distribution_matching", "gail", "airl")
#: Algorithms that optimise the env's reward with exponential discount ``gamma``.
RL_ALGORITHMS = ("ppo", "dqn", "value_iteration")
ALGORITHMS = IMITATION_ALGORITHMS + RL_ALGORITHMS

_PPO = {
    "n_envs": 8, "n_steps": 64, "batch_size": 128, "n_epochs": 10, "learning_rate": 3e-4,
    "ent_coef": 0.0, "gae_lambda": 0.95, "clip_range": 0.2, "normalize_advantage": True,
    "venv": "batched",
}
#: Vector envs the learners that step the game can run on (the ``venv`` hyperparameter):
#: ``"batched"``, a :class:`~subrational_gym.learners.SubrationalVecEnv`, or ``"dummy"``,
#: SB3's ``DummyVecEnv`` of single envs (the implementation before the batched env, kept
#: as the reference for speed and equivalence comparisons).
VENVS = ("batched", "dummy")
#: Default budget and hyperparameters of each algorithm (override any via ``train``).
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "bc": {
        "budget": 40, "features": "raw+onehot", "net_arch": [32, 32], "batch_size": 64,
        "learning_rate": 3e-3, "ent_weight": 1e-3, "l2_weight": 0.0,
    },
    "distribution_matching": {
        # smoothing 0: the target is the raw frequency, so states where the expert is
        # deterministic are fitted exactly (0.5 pulled them towards 1/2: a bias of up
        # to 0.5 / (n + 1) in every such state).
        "budget": 1500, "features": "raw+onehot", "net_arch": [32, 32],
        "learning_rate": 1e-2, "smoothing": 0.0, "weight_decay": 0.0,
    },
    # GAIL and AIRL: on these small tabular games the generator does not converge, it
    # circles the expert (its per-round TV to the expert swings between about 0.05 and
    # 0.3 to the end: the discriminator, refitted on 512 fresh samples each round, keeps
    # moving the target). So the reported policy is the iterate average: the mean of the
    # generator's per-state action distributions over the last half of the rounds
    # (``average_last``), while the generator's learning rate decays linearly to 0 over
    # the rounds (``anneal_learning_rate``) so the late iterates move less. Measured on
    # seed 0 (benchmarks/learner_fidelity.py, 500 episodes): GAIL on the sophisticated
    # procrastinator 0.156 (final iterate) -> 0.064 (average) -> 0.031 (average +
    # annealing); GAIL double-or-nothing 0.061 -> 0.006; AIRL double-or-nothing 0.069 ->
    # 0.020. ``trained`` is still the final generator; only ``policy`` is the average.
    "gail": {
        "budget": 100_000, "features": "raw+onehot", "net_arch": [32, 32], **_PPO,
        "learning_rate": 3e-3, "ent_coef": 0.05,
        "gamma": 1.0, "demo_batch_size": 512, "n_disc_updates_per_round": 4,
        "disc_learning_rate": 1e-3, "reward_hid_sizes": [32, 32], "generator_reward": "logit",
        "normalize_advantage": False, "average_last": 0.5, "anneal_learning_rate": True,
    },
    # AIRL: with the iterate average its generator is slow rather than unstable (on the
    # sophisticated procrastinator the iterates still fall at the end of 100k steps), so
    # it learns faster (lr 1e-3 instead of PPO's 3e-4) against a discriminator fitted
    # harder each round (8 updates at lr 2e-3 instead of 4 at 1e-3): sophisticated
    # procrastinator 0.074 -> 0.031 (seed 0) / 0.032 (seed 1); naive 0.062 -> 0.021
    # (seed 1). lr 3e-3 with the old discriminator was worse (0.055).
    "airl": {
        "budget": 100_000, "features": "raw+onehot", "net_arch": [32, 32], **_PPO,
        "learning_rate": 1e-3,
        "gamma": 1.0, "demo_batch_size": 512, "n_disc_updates_per_round": 8,
        "disc_learning_rate": 2e-3, "reward_hid_sizes": [32], "potential_hid_sizes": [32, 32],
        "generator_reward": "logit", "normalize_advantage": False,
        "average_last": 0.5, "anneal_learning_rate": True,
    },
    "ppo": {
        "budget": 50_000, "features": "raw", "net_arch": [64, 64], **_PPO, "ent_coef": 0.01,
        "gamma": 0.99,
    },
    "dqn": {
        "budget": 50_000, "features": "raw", "net_arch": [64, 64], "gamma": 0.99,
        "learning_rate": 1e-3, "buffer_size": 50_000, "learning_starts": 1000,
        "batch_size": 64, "train_freq": 4, "target_update_interval": 500,
        "exploration_fraction": 0.3, "exploration_final_eps": 0.02, "venv": "batched",
    },
    "value_iteration": {"budget": None, "gamma": 1.0, "temperature": 0.0},
}

#: Per-game overrides of :data:`DEFAULTS`: ``GAME_DEFAULTS[algorithm][game]`` (``game``
#: is the env's ``game`` attribute, e.g. ``"marshmallow"``). Explicit arguments of
#: :func:`train` still win. Each entry is an inductive bias justified by the game's
#: structure, measured on seeds 0-2 in ``benchmarks/learner_fidelity.py``:
#:
#: - marshmallow: the state is the elapsed minute alone, and a child's per-minute
#:   hazard of eating varies smoothly with it (for a beta-delta child it is constant
#:   until the last minute). Reading the raw minute (no one-hot) with weight decay
#:   makes the network pool evidence across minutes, which later minutes, visited
#:   rarely, need: it goes below the per-state sampling floor (about 0.026 at 500
#:   episodes) that any per-state estimator is stuck at.
#: - ultimatum: one decision per episode (500 transitions in all), so full-batch
#:   epochs are cheap and converge to the per-offer maximum-likelihood estimate
#:   instead of ending on a noisy minibatch step.
#: - bc on procrastination: one indicator per (day, progress, commitment) state and
#:   large batches for 200 epochs settle on the per-state frequencies; with the default
#:   small batches and raw features BC ended 0.017 / 0.029 / 0.025 (commitment variant,
#:   seeds 0-2), now 0.020 / 0.017 / 0.017 (plain game 0.015 / 0.012 / 0.017).
#: - gail on marshmallow: the generator approaches the expert slowly from a too
#:   deterministic policy (its iterates still fall at the end), and twice the entropy
#:   bonus keeps it closer: 0.050 -> 0.034 on seed 0. On procrastination the same
#:   change was worse (0.038 -> 0.061, naive expert, seed 0), so it stays per game.
#: - dqn on marshmallow: the large reward needs ten waits in a row, which epsilon-greedy
#:   exploration with the default schedule almost never sees, so DQN settled on eating
#:   at once (return 1.0 against the optimum's 1.83 at gamma 0.99). Exploring over 60%
#:   of twice the budget finds the exponential optimum exactly (TV 0 to value
#:   iteration, seed 0, 25 s). PPO still eats at once there at 100k steps with entropy
#:   0.05 or 0.2: use value iteration for the exact optimum.
GAME_DEFAULTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "bc": {
        "ultimatum": {"budget": 200, "batch_size": 512},
        "marshmallow": {"features": "raw"},
        "procrastination": {"budget": 200, "batch_size": 512, "features": "onehot"},
    },
    "distribution_matching": {
        "marshmallow": {"budget": 3000, "features": "raw", "weight_decay": 1.0},
    },
    "gail": {
        "marshmallow": {"ent_coef": 0.1},
    },
    "dqn": {
        "marshmallow": {"budget": 100_000, "exploration_fraction": 0.6,
                        "exploration_final_eps": 0.05},
    },
}

#: Budgets and settings small enough for a smoke test of the imitation learners (about a
#: second each); the policies they produce mean nothing.
SMOKE_BUDGETS: Mapping[str, Mapping[str, Any]] = {
    "bc": {"budget": 1},
    "distribution_matching": {"budget": 5},
    "gail": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "airl": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
}



@dataclasses.dataclass(frozen=True)
class TrainRecord:
    """What was trained, how, and how it ended; JSON-serialisable via :meth:`to_dict`.

    Attributes:
        algorithm: One of :data:`ALGORITHMS`.
        env_id: Registered id of the game.
        env_kwargs: Constructor arguments of the game.
        seed: The seed passed to :func:`seed_everything`.
        budget: Training budget in the algorithm's unit (see the module docstring).
        hyperparameters: Every hyperparameter used, defaults included.
        n_demonstrations: Number of demonstration episodes (0 for RL).
        n_transitions: Number of demonstration transitions (0 for RL).
        train_seconds: Wall-clock seconds spent training.
        final_losses: The last value of each training loss or diagnostic.
    """

    algorithm: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    budget: int | None
    hyperparameters: dict[str, Any]
    n_demonstrations: int
    n_transitions: int
    train_seconds: float
    final_losses: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types."""
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """A trained learner.

    Attributes:
        policy: Its action distribution in every state of the game (for ``gail`` and
            ``airl``, the generator's averaged over the last ``average_last`` of the
            rounds; ``average_last`` 0 reads the final generator alone).
        trained: The raw trained object: an SB3 ``ActorCriticPolicy`` (``bc``,
            ``distribution_matching``), an SB3 algorithm (``ppo``, ``dqn``, ``gail``,
            ``airl``: the generator) or :class:`~subrational_gym.planning.Values`.
        record: Provenance and diagnostics.
        features: The feature map the network reads (``None`` for value iteration).
    """

    policy: TabularPolicy
    trained: Any
    record: TrainRecord
    features: FeatureMap | None


def train(
    algorithm: str,
    demonstrations: Sequence[Any] | None,
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    budget: int | None = None,
    **hyperparams: Any,
) -> TrainResult:
    """Train one learner on one game.

    Args:
        algorithm: One of :data:`ALGORITHMS`.
        demonstrations: imitation ``Trajectory`` objects in the env's raw observations
            (e.g. from :func:`~subrational_gym.learners.generate_demonstrations`);
            ignored (may be ``None``) for ``ppo``, ``dqn`` and ``value_iteration``.
        env_id: Registered id of the game, e.g. ``"Subrational/Marshmallow-v0"``.
        env_kwargs: Constructor arguments of the game.
        seed: Seeds everything (:func:`seed_everything`); equal seeds give bit-identical
            results.
        budget: Training budget in the algorithm's unit; ``None`` for its default.
        **hyperparams: Overrides of :data:`DEFAULTS` (and of :data:`GAME_DEFAULTS`,
            which apply first, for the game) for this algorithm.

    Returns:
        The trained learner as a :class:`TrainResult`.

    Raises:
        LearnerError: for an unknown algorithm or hyperparameter, or missing
            demonstrations.

    >>> from subrational_gym import policies
    >>> from subrational_gym.learners import generate_demonstrations
    >>> demos = generate_demonstrations(policies.income_maximiser(
    ...     "Subrational/Marshmallow-v0"), "Subrational/Marshmallow-v0", 20, seed=0)
    >>> result = train("distribution_matching", demos, "Subrational/Marshmallow-v0",
    ...                budget=200)
    >>> result.policy.probs[0].round(1).tolist()
    [1.0, 0.0]
    """
    if algorithm not in ALGORITHMS:
        raise LearnerError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    kwargs = dict(env_kwargs or {})
    game = make_env(env_id, **kwargs)
    defaults = {**DEFAULTS[algorithm], **GAME_DEFAULTS.get(algorithm, {}).get(game.game, {})}
    unknown = sorted(set(hyperparams) - set(defaults) - {"budget"})
    if unknown:
        raise LearnerError(
            f"unknown hyperparameters {unknown} for {algorithm!r}; it takes "
            f"{sorted(k for k in defaults if k != 'budget')}"
        )
    hp = {k: v for k, v in defaults.items() if k != "budget"}
    hp.update(hyperparams)
    budget = defaults["budget"] if budget is None else budget
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | np.integer)
                               or budget < 1):
        raise LearnerError(f"budget must be a positive integer or None, got {budget!r}")
    budget = None if budget is None else int(budget)
    demos: list[Any] = []
    if algorithm in IMITATION_ALGORITHMS:
        demos = check_trajectories(demonstrations or [])
    rng = seed_everything(seed)
    model = game.tabular_model()
    features = None if algorithm == "value_iteration" else FeatureMap(model, hp["features"])

    start = time.perf_counter()
    # A trainer returns (trained, losses), or (trained, losses, probs) when the policy
    # it reports is not the trained network's own (the adversarial learners' iterate
    # average, see _train_adversarial).
    trained, losses, *reported = _TRAINERS[algorithm](
        model=model, game=game, env_id=env_id, env_kwargs=kwargs, features=features,
        demos=demos, rng=rng, seed=int(seed), budget=budget, hp=hp,
    )
    seconds = time.perf_counter() - start

    if reported:
        policy = TabularPolicy(model, reported[0], seed=seed, name=algorithm)
    elif algorithm == "value_iteration":
        probs = softmax_choice(trained.q, hp["temperature"])
        probs[~model.decision_mask] = 1.0 / model.n_actions
        policy = TabularPolicy(model, probs, seed=seed, name=algorithm,
                               params={"gamma": hp["gamma"]})
    else:
        policy = as_tabular_policy(model, trained, features=features, name=algorithm, seed=seed)
    record = TrainRecord(
        algorithm=algorithm, env_id=env_id, env_kwargs=_jsonable(kwargs), seed=int(seed),
        budget=budget, hyperparameters=_jsonable(hp), n_demonstrations=len(demos),
        n_transitions=int(sum(len(t.acts) for t in demos)), train_seconds=seconds,
        final_losses={k: float(v) for k, v in losses.items()},
    )
    return TrainResult(policy=policy, trained=trained, record=record, features=features)


def as_tabular_policy(
    model: TabularModel,
    policy: Any,
    *,
    features: FeatureMap | None = None,
    name: str = "learner",
    seed: int | None = None,
) -> TabularPolicy:
    """Read a trained network's action distribution in every state of ``model``.

    Args:
        model: The game's tabular model.
        policy: An SB3 actor-critic policy (read through
            ``policy.get_distribution(obs).distribution.probs``), an SB3 DQN policy
            (greedy in its Q-values, ties split), an SB3 algorithm (its ``.policy``), or
            a :class:`TabularPolicy` (returned as is).
        features: The feature map the network reads; ``None`` for raw observations.
        name: Name of the resulting policy.
        seed: Seed of the resulting policy's action draws.

    Raises:
        LearnerError: for an object with neither an action distribution nor Q-values.
    """
    if isinstance(policy, TabularPolicy):
        return policy
    net = getattr(policy, "policy", policy)
    obs = model.observations if features is None else features(model.observations)
    obs_t = th.as_tensor(np.array(obs, dtype=np.float32))  # a writable copy
    was_training = getattr(net, "training", False)
    if hasattr(net, "set_training_mode"):
        net.set_training_mode(False)
    try:
        with th.no_grad():
            if hasattr(net, "get_distribution"):
                probs = net.get_distribution(obs_t).distribution.probs.double().numpy()
            elif hasattr(net, "q_net"):
                q = net.q_net(obs_t).double().numpy()
                probs = softmax_choice(q, 0.0)
            else:
                raise LearnerError(
                    f"cannot read action probabilities from {type(policy).__name__}: expected "
                    f"an SB3 ActorCriticPolicy, DQNPolicy, algorithm or a TabularPolicy"
                )
    finally:
        if hasattr(net, "set_training_mode"):
            net.set_training_mode(was_training)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return TabularPolicy(model, probs, seed=seed, name=name)


# ------------------------------------------------------------------ helpers
def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


class _MemoryWriter(sb_logger.KVWriter):
    """Keeps the last value of every logged key, and writes nothing."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def write(self, key_values: dict[str, Any], key_excluded: Any, step: int = 0) -> None:
        for k, v in key_values.items():
            if isinstance(v, int | float | np.floating | np.integer):
                self.values[k] = float(v)

    def close(self) -> None:
        pass


def _quiet_logger(folder: str) -> tuple[imit_logger.HierarchicalLogger, _MemoryWriter]:
    memory = _MemoryWriter()
    default = sb_logger.Logger(folder=folder, output_formats=[memory])
    return imit_logger.HierarchicalLogger(default, format_strs=[]), memory


def _actor_critic(features: FeatureMap, model: TabularModel, hp: Mapping[str, Any]
                  ) -> ActorCriticPolicy:
    return ActorCriticPolicy(
        features.observation_space, gym.spaces.Discrete(model.n_actions),
        lr_schedule=lambda _: float(hp["learning_rate"]), net_arch=list(hp["net_arch"]),
    )


def _make_venv(hp: Mapping[str, Any], game: SubrationalEnv, env_id: str,
               env_kwargs: Mapping[str, Any], features: FeatureMap, n_envs: int,
               seed: int) -> VecEnv:
    if hp["venv"] == "batched":
        # The copies step together in numpy instead of one Python env each (speed:
        # benchmarks/env_speed.py). One copy seeded with ``seed`` replays the episodes of
        # the DummyVecEnv below; more copies draw other (equally distributed) episodes
        # from one generator, so runs stay reproducible from ``seed``.
        return SubrationalVecEnv(game, int(n_envs), features=features, rollout_info=False,
                                 seed=seed)
    if hp["venv"] != "dummy":
        raise LearnerError(f"venv must be one of {VENVS}, got {hp['venv']!r}")

    def make() -> gym.Env:
        return RolloutInfoWrapper(features.wrap(gym.make(env_id, **env_kwargs)))

    venv = DummyVecEnv([make for _ in range(int(n_envs))])
    venv.seed(seed)
    return venv


def _train_bc(*, model: TabularModel, features: FeatureMap, demos: list[Any],
              rng: np.random.Generator, budget: int, hp: Mapping[str, Any],
              **_: Any) -> tuple[Any, dict[str, float]]:
    transitions = rollout.flatten_trajectories(features.transform_trajectories(demos))
    policy = _actor_critic(features, model, hp)
    with tempfile.TemporaryDirectory() as folder:
        logger, _ = _quiet_logger(folder)
        trainer = bc.BC(
            observation_space=features.observation_space,
            action_space=gym.spaces.Discrete(model.n_actions), rng=rng, policy=policy,
            demonstrations=transitions, batch_size=min(int(hp["batch_size"]), len(transitions)),
            ent_weight=float(hp["ent_weight"]), l2_weight=float(hp["l2_weight"]),
            optimizer_kwargs={"lr": float(hp["learning_rate"])}, device="cpu",
            custom_logger=logger,
        )
        trainer._bc_logger = _DetachingBCLogger(trainer.logger)
        trainer.train(n_epochs=budget, progress_bar=False, log_interval=10**9)
    policy.set_training_mode(False)
    with th.no_grad():
        metrics = trainer.loss_calculator(
            policy, th.as_tensor(np.array(transitions.obs, dtype=np.float32)),
            th.as_tensor(np.array(transitions.acts)))
    losses = {"loss": metrics.loss.item(), "neglogp": metrics.neglogp.item(),
              "entropy": metrics.entropy.item()}
    return policy, losses


def _train_distribution_matching(*, model: TabularModel, features: FeatureMap,
                                 demos: list[Any], budget: int, hp: Mapping[str, Any],
                                 **_: Any) -> tuple[Any, dict[str, float]]:
    # The paper fits the network's output to a kernel density estimate of the expert's
    # action distribution in each state. With two discrete actions the natural density
    # estimate is the additively smoothed frequency (see empirical_policy); each state's
    # squared error is weighted by how often the demonstrations visit it.
    counts = action_counts(model, demos).sum(axis=1)
    visited = np.flatnonzero(counts > 0)
    target = empirical_policy(model, demos, smoothing=float(hp["smoothing"])).probs[visited]
    weights = counts[visited] / counts[visited].sum()
    obs = th.as_tensor(features(model.observations[visited]), dtype=th.float32)
    target_t = th.as_tensor(target, dtype=th.float32)
    weights_t = th.as_tensor(weights, dtype=th.float32)
    policy = _actor_critic(features, model, hp)
    optimizer = th.optim.AdamW(policy.parameters(), lr=float(hp["learning_rate"]),
                               weight_decay=float(hp["weight_decay"]))
    policy.set_training_mode(True)
    loss = th.tensor(0.0)
    for _ in range(budget):
        probs = policy.get_distribution(obs).distribution.probs
        loss = (weights_t * ((probs - target_t) ** 2).sum(dim=1)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy.set_training_mode(False)
    return policy, {"weighted_squared_error": loss.item()}


class _DiscriminatorLogitReward(RewardNet):
    """The generator's reward: the discriminator's logit ``log D - log(1 - D)``.

    For AIRL this is ``f(s, a, s') - log pi(a|s)``, the reward of Fu et al. (2018):
    maximum-entropy RL on it has the expert as its best response once ``f`` has
    converged. imitation 1.0.1 trains AIRL's generator on ``f`` alone, which without an
    entropy term drives the generator to a deterministic policy. For GAIL the logit is
    ``log rho_E(s, a) - log rho_pi(s, a)`` at the optimal discriminator, so small policy
    steps on it descend the KL divergence from the generator's occupancy to the expert's.
    """

    def __init__(self, trainer: Any) -> None:
        base = trainer._reward_net
        super().__init__(base.observation_space, base.action_space,
                         normalize_images=base.normalize_images)
        self.base = base  # a submodule, so train()/eval() reach its running normalisers
        self._trainer = [trainer]  # a list, so torch does not register the trainer

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor,
                done: th.Tensor) -> th.Tensor:
        trainer = self._trainer[0]
        log_prob = None
        if isinstance(trainer, AIRL):
            _, log_prob, _ = trainer.gen_algo.policy.evaluate_actions(
                state, action.argmax(dim=1))
        return trainer.logits_expert_is_high(state, action, next_state, done, log_prob)


class _LogitRewardMixin:
    """Train the generator on the discriminator's logit (see _DiscriminatorLogitReward)."""

    @property
    def reward_train(self) -> RewardNet:
        if not hasattr(self, "_logit_reward"):
            self._logit_reward = _DiscriminatorLogitReward(self)
        return self._logit_reward


class _LogitGAIL(_LogitRewardMixin, GAIL):
    pass


class _LogitAIRL(_LogitRewardMixin, AIRL):
    pass


class _DetachingBCLogger(bc.BCLogger):
    """imitation's BC logger, fed detached metrics.

    ``BCLogger.log_batch`` calls ``float()`` on each training metric, and the loss
    still carries its autograd graph at that point, which makes torch warn on every
    batch. The metrics are only read, so detaching them first changes nothing else.
    """

    def log_batch(self, batch_num: int, batch_size: int, num_samples_so_far: int,
                  training_metrics: Any, rollout_stats: Mapping[str, float]) -> None:
        detached = bc.BCTrainingMetrics(**{
            k: v.detach() if isinstance(v, th.Tensor) else v
            for k, v in vars(training_metrics).items()
        })
        super().log_batch(batch_num, batch_size, num_samples_so_far, detached, rollout_stats)


def _train_adversarial(algorithm: str, *, model: TabularModel, game: SubrationalEnv,
                       env_id: str, env_kwargs: Mapping[str, Any], features: FeatureMap,
                       demos: list[Any], seed: int, budget: int, hp: Mapping[str, Any],
                       **_: Any) -> tuple[Any, dict[str, float]]:
    venv = _make_venv(hp, game, env_id, env_kwargs, features, hp["n_envs"], seed)
    featured = features.transform_trajectories(demos)
    n_transitions = sum(len(t.acts) for t in featured)
    generator = PPO(
        "MlpPolicy", venv, n_steps=int(hp["n_steps"]), batch_size=int(hp["batch_size"]),
        n_epochs=int(hp["n_epochs"]), learning_rate=float(hp["learning_rate"]),
        ent_coef=float(hp["ent_coef"]), gamma=float(hp["gamma"]),
        gae_lambda=float(hp["gae_lambda"]), clip_range=float(hp["clip_range"]),
        normalize_advantage=bool(hp["normalize_advantage"]),
        policy_kwargs={"net_arch": list(hp["net_arch"])}, seed=seed, device="cpu", verbose=0,
    )
    if hp["generator_reward"] not in ("logit", "library"):
        raise LearnerError(
            f"generator_reward must be 'logit' or 'library', got {hp['generator_reward']!r}"
        )
    space, actions = features.observation_space, gym.spaces.Discrete(model.n_actions)
    if algorithm == "gail":
        reward_net = BasicRewardNet(space, actions, hid_sizes=list(hp["reward_hid_sizes"]),
                                    normalize_input_layer=RunningNorm)
    else:
        reward_net = BasicShapedRewardNet(
            space, actions, reward_hid_sizes=list(hp["reward_hid_sizes"]),
            potential_hid_sizes=list(hp["potential_hid_sizes"]),
            discount_factor=float(hp["gamma"]), normalize_input_layer=RunningNorm,
        )
    with tempfile.TemporaryDirectory() as folder:
        logger, memory = _quiet_logger(folder)
        if hp["generator_reward"] == "logit":
            trainer_cls: Any = _LogitGAIL if algorithm == "gail" else _LogitAIRL
        else:
            trainer_cls = GAIL if algorithm == "gail" else AIRL
        trainer = trainer_cls(
            demonstrations=featured,
            demo_batch_size=min(int(hp["demo_batch_size"]), n_transitions),
            venv=venv, gen_algo=generator, reward_net=reward_net,
            n_disc_updates_per_round=int(hp["n_disc_updates_per_round"]),
            disc_opt_kwargs={"lr": float(hp["disc_learning_rate"])},
            log_dir=folder, custom_logger=logger, init_tensorboard=False,
        )
        n_rounds = budget // trainer.gen_train_timesteps
        if n_rounds < 1:
            raise LearnerError(
                f"budget {budget} is less than one round of {trainer.gen_train_timesteps} "
                f"generator steps (n_envs * n_steps)"
            )
        lr0 = float(hp["learning_rate"])
        done = [0]  # rounds completed
        if hp["anneal_learning_rate"]:
            # imitation calls gen_algo.learn() once per round, so SB3's own progress (and
            # any schedule passed to PPO) only spans one round: count rounds instead.
            generator.lr_schedule = lambda _: lr0 * (1.0 - done[0] / n_rounds)
        first_averaged = n_rounds - max(1, math.ceil(float(hp["average_last"]) * n_rounds))
        total = np.zeros((model.n_states, model.n_actions))

        def after_round(r: int) -> None:
            done[0] = r + 1
            if r >= first_averaged:
                total[:] += as_tabular_policy(model, generator.policy, features=features).probs

        # The round loop of AdversarialTrainer.train, written out: it draws a tqdm bar on
        # stderr that cannot be turned off, and a library must not print bars of its own.
        for r in range(n_rounds):
            trainer.train_gen(trainer.gen_train_timesteps)
            for _ in range(trainer.n_disc_updates_per_round):
                with networks.training(trainer.reward_train):
                    trainer.train_disc()
            after_round(r)
            trainer.logger.dump(trainer._global_step)
    venv.close()
    keep = ("disc_loss", "disc_acc", "disc_acc_expert", "disc_acc_gen", "disc_entropy",
            "policy_gradient_loss", "value_loss", "entropy_loss")
    losses = {k.split("/")[-1]: v for k, v in memory.values.items()
              if k.split("/")[-1] in keep}
    return generator, losses, total / (n_rounds - first_averaged)


def _train_rl(algorithm: str, *, model: TabularModel, game: SubrationalEnv, env_id: str,
              env_kwargs: Mapping[str, Any], features: FeatureMap, seed: int, budget: int,
              hp: Mapping[str, Any], **_: Any) -> tuple[Any, dict[str, float]]:
    with tempfile.TemporaryDirectory() as folder:
        memory = _MemoryWriter()
        logger = sb_logger.Logger(folder=folder, output_formats=[memory])
        if algorithm == "ppo":
            venv = _make_venv(hp, game, env_id, env_kwargs, features, hp["n_envs"], seed)
            agent: Any = PPO(
                "MlpPolicy", venv, n_steps=int(hp["n_steps"]),
                batch_size=int(hp["batch_size"]), n_epochs=int(hp["n_epochs"]),
                learning_rate=float(hp["learning_rate"]), ent_coef=float(hp["ent_coef"]),
                gamma=float(hp["gamma"]), gae_lambda=float(hp["gae_lambda"]),
                clip_range=float(hp["clip_range"]),
                normalize_advantage=bool(hp["normalize_advantage"]),
                policy_kwargs={"net_arch": list(hp["net_arch"])}, seed=seed, device="cpu",
            )
        else:
            venv = _make_venv(hp, game, env_id, env_kwargs, features, 1, seed)
            agent = DQN(
                "MlpPolicy", venv, learning_rate=float(hp["learning_rate"]),
                buffer_size=int(hp["buffer_size"]), learning_starts=int(hp["learning_starts"]),
                batch_size=int(hp["batch_size"]), gamma=float(hp["gamma"]),
                train_freq=int(hp["train_freq"]),
                target_update_interval=int(hp["target_update_interval"]),
                exploration_fraction=float(hp["exploration_fraction"]),
                exploration_final_eps=float(hp["exploration_final_eps"]),
                policy_kwargs={"net_arch": list(hp["net_arch"])}, seed=seed, device="cpu",
            )
        agent.set_logger(logger)
        agent.learn(total_timesteps=budget, progress_bar=False)
        venv.close()
    keep = ("loss", "policy_gradient_loss", "value_loss", "entropy_loss", "ep_rew_mean")
    return agent, {k.split("/")[-1]: v for k, v in memory.values.items()
                   if k.split("/")[-1] in keep}


def _train_value_iteration(*, model: TabularModel, hp: Mapping[str, Any],
                           **_: Any) -> tuple[Any, dict[str, float]]:
    return value_iteration(model, float(hp["gamma"])), {}


_TRAINERS = {
    "bc": _train_bc,
    "distribution_matching": _train_distribution_matching,
    "gail": lambda **kw: _train_adversarial("gail", **kw),
    "airl": lambda **kw: _train_adversarial("airl", **kw),
    "ppo": lambda **kw: _train_rl("ppo", **kw),
    "dqn": lambda **kw: _train_rl("dqn", **kw),
    "value_iteration": _train_value_iteration,
}
