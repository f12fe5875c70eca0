"""One entry point, :func:`train`, for every learner, and its typed result.

Imitation learners (``bc``, ``gail``, ``airl``, ``distribution_matching``) learn from
demonstrations; reinforcement learners (``ppo``, ``dqn``) and the exact
``value_iteration`` optimise the env's reward with an exponential discount ``gamma``
and ignore demonstrations. Every learner ends as a
:class:`~subrational_gym.policies.TabularPolicy` (its action distribution in every
state of the game), so evaluation treats learners, experts and reference policies
alike.

The trainers live in one module per family, in the style of imitation's
``algorithms/``: :mod:`.cloning` (BC, distribution matching), :mod:`.adversarial`
(GAIL, AIRL) and :mod:`.reinforcement` (PPO, DQN, value iteration), each with its
typed, frozen hyperparameter record; :mod:`.defaults` holds the per-game overrides.

The ``budget`` is counted in each algorithm's natural unit:

==========================  ==========================================  =========
algorithm                   budget unit                                 default
==========================  ==========================================  =========
``bc``                      epochs over the demonstrations              40
``distribution_matching``   full-batch gradient steps                   1500
``gail``, ``airl``          generator environment steps                 100000
``ppo``, ``dqn``            environment steps                           50000
``value_iteration``         ignored (exact)                             ``None``
==========================  ==========================================  =========

The defaults were tuned so that, on 500 demonstrations of the behavioural reference
policies, the imitation learners recover the expert (``benchmarks/learner_fidelity.py``)
within about a minute on one CPU thread.

>>> from subrational_gym import policies
>>> from subrational_gym.learners import generate_demonstrations
>>> demos = generate_demonstrations(policies.income_maximiser(
...     "Subrational/Marshmallow-v0"), "Subrational/Marshmallow-v0", 20, seed=0)
>>> result = train("distribution_matching", demos, "Subrational/Marshmallow-v0",
...                budget=200)
>>> result.policy.probs[0].round(1).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.policies import ActorCriticPolicy

from subrational_gym import make_env
from subrational_gym.evaluation import total_variation
from subrational_gym.learners import adversarial, cloning, reinforcement
from subrational_gym.learners.defaults import (
    ALGORITHMS,
    DEFAULTS,
    GAME_DEFAULTS,
    IMITATION_ALGORITHMS,
    RL_ALGORITHMS,
    SMOKE_BUDGETS,
    resolve,
)
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.features import FeatureMap, check_trajectories
from subrational_gym.learners.hyperparameters import VENVS, Hyperparameters
from subrational_gym.learners.networks import as_tabular_policy, distil
from subrational_gym.learners.seeding import seed_everything
from subrational_gym.planning import softmax_choice
from subrational_gym.policies import TabularPolicy

__all__ = [
    "ALGORITHMS", "DEFAULTS", "GAME_DEFAULTS", "IMITATION_ALGORITHMS", "RL_ALGORITHMS",
    "SMOKE_BUDGETS", "VENVS", "TrainRecord", "TrainResult", "as_tabular_policy", "train",
]


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
        distilled_tv: For ``gail`` and ``airl``, the visit-weighted total variation of
            the distilled network (``TrainResult.network``) from the reported table;
            ``None`` otherwise.
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
    distilled_tv: float | None = None

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
        network: A network policy that SB3 and imitation can run on the game wrapped by
            ``features.wrap``: the trained network itself (``bc``,
            ``distribution_matching``, ``ppo``), or for ``gail`` and ``airl`` the
            reported table distilled into a fresh network (its distance to ``policy`` is
            ``record.distilled_tv``); ``None`` for ``dqn`` and ``value_iteration`` (and
            when ``distil_steps`` is 0).
    """

    policy: TabularPolicy
    trained: Any
    record: TrainRecord
    features: FeatureMap | None
    network: ActorCriticPolicy | None = None


#: The trainer of each algorithm. A trainer returns (trained, losses), or (trained,
#: losses, probs) when the policy it reports is not the trained network's own (the
#: adversarial learners' iterate average).
_TRAINERS: Mapping[str, Callable[..., tuple[Any, ...]]] = {
    "bc": cloning.train_bc,
    "distribution_matching": cloning.train_distribution_matching,
    "gail": lambda **kw: adversarial.train_adversarial("gail", **kw),
    "airl": lambda **kw: adversarial.train_adversarial("airl", **kw),
    "ppo": reinforcement.train_ppo,
    "dqn": reinforcement.train_dqn,
    "value_iteration": reinforcement.train_value_iteration,
}


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
        **hyperparams: Overrides of the algorithm's record (its fields, e.g.
            :class:`~subrational_gym.learners.cloning.BCHyperparameters`), applied after
            the game's :data:`GAME_DEFAULTS`; a mapping ``m`` is passed as ``**m``.

    Returns:
        The trained learner as a :class:`TrainResult`.

    Raises:
        LearnerError: for an unknown algorithm or hyperparameter, or missing
            demonstrations.
    """
    kwargs = dict(env_kwargs or {})
    if algorithm not in ALGORITHMS:
        raise LearnerError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    game = make_env(env_id, **kwargs)
    hp = resolve(algorithm, game.game, hyperparams, budget=budget)
    demos = (check_trajectories(demonstrations or []) if algorithm in IMITATION_ALGORITHMS
             else [])
    rng = seed_everything(seed)
    model = game.tabular_model()
    features = None if algorithm == "value_iteration" else FeatureMap(model, hp.features)

    start = time.perf_counter()
    trained, losses, *reported = _TRAINERS[algorithm](
        model=model, game=game, env_id=env_id, env_kwargs=kwargs, features=features,
        demos=demos, rng=rng, seed=int(seed), hp=hp,
    )
    seconds = time.perf_counter() - start
    policy = _reported_policy(algorithm, model, trained, reported, features, hp, seed)
    network, distilled_tv = _network(algorithm, model, trained, policy, features, hp)
    record = TrainRecord(
        algorithm=algorithm, env_id=env_id, env_kwargs=_jsonable(kwargs), seed=int(seed),
        budget=hp.budget, hyperparameters=_jsonable(hp.to_dict()),
        n_demonstrations=len(demos), n_transitions=int(sum(len(t.acts) for t in demos)),
        train_seconds=seconds, final_losses={k: float(v) for k, v in losses.items()},
        distilled_tv=distilled_tv,
    )
    return TrainResult(policy=policy, trained=trained, record=record, features=features,
                       network=network)


def _reported_policy(algorithm: str, model: Any, trained: Any, reported: list[Any],
                     features: FeatureMap | None, hp: Any, seed: int) -> TabularPolicy:
    if reported:
        return TabularPolicy(model, reported[0], seed=seed, name=algorithm)
    if algorithm == "value_iteration":
        probs = softmax_choice(trained.q, hp.temperature)
        probs[~model.decision_mask] = 1.0 / model.n_actions
        return TabularPolicy(model, probs, seed=seed, name=algorithm,
                             params={"gamma": hp.gamma})
    return as_tabular_policy(model, trained, features=features, name=algorithm, seed=seed)


def _network(algorithm: str, model: Any, trained: Any, policy: TabularPolicy,
             features: FeatureMap | None, hp: Hyperparameters
             ) -> tuple[ActorCriticPolicy | None, float | None]:
    """The deployable network of a result, and (when distilled) its TV to the table."""
    if algorithm in ("bc", "distribution_matching"):
        return trained, None
    if algorithm == "ppo":
        return trained.policy, None
    if not isinstance(hp, adversarial.AdversarialHyperparameters) or not hp.distil_steps \
            or features is None:
        return None, None
    net = distil(model, policy.probs, features, net_arch=hp.net_arch, steps=hp.distil_steps)
    table = as_tabular_policy(model, net, features=features)
    return net, total_variation(model, policy, table).mean


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
