"""Save and load trained learners as plain tensors and JSON-like metadata.

torch >= 2.6 loads with ``weights_only=True`` by default, which SB3 2.2.1's own
``ActorCriticPolicy.load`` cannot satisfy. So a learner is saved as its network's
``state_dict`` together with what is needed to rebuild the network (the feature kind,
the architecture) and its action table; loading always uses ``weights_only=True`` and
never unpickles code.
"""

from __future__ import annotations

import json
import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.dqn.policies import DQNPolicy

from subrational_gym import make_env
from subrational_gym.learners.errors import PolicyFileError
from subrational_gym.learners.features import FeatureMap
from subrational_gym.learners.training import TrainRecord, TrainResult, as_tabular_policy
from subrational_gym.planning import Values
from subrational_gym.policies import TabularPolicy

FORMAT = "subrational-gym/learner"
VERSION = 1


def save(result: TrainResult, path: str | os.PathLike[str]) -> None:
    """Write a trained learner to ``path`` (conventionally ``*.pt``).

    Args:
        result: What :func:`~subrational_gym.learners.train` returned (or :func:`load`).
        path: Destination file; its folder must exist.
    """
    net = getattr(result.trained, "policy", result.trained)
    if isinstance(net, ActorCriticPolicy):
        kind, state = "actor_critic", net.state_dict()
    elif isinstance(net, DQNPolicy):
        kind, state = "dqn", net.state_dict()
    else:
        kind, state = "table", {}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "network": kind,
        "net_arch": [int(x) for x in result.record.hyperparameters.get("net_arch", [])],
        "features": None if result.features is None else result.features.kind,
        "record": json.dumps(result.record.to_dict()),
        "probs": th.as_tensor(np.array(result.policy.probs)),  # a writable copy
        "state_dict": dict(state),
        # The deployable network when it is not the trained one (GAIL's and AIRL's
        # distilled iterate average); empty otherwise.
        "network_state_dict": ({} if result.network is None or result.network is net
                               else dict(result.network.state_dict())),
    }
    th.save(payload, os.fspath(path))


def load(path: str | os.PathLike[str]) -> TrainResult:
    """Read a learner written by :func:`save`.

    The network is rebuilt and its action table recomputed from it (and checked against
    the saved table), so the loaded policy is exactly the saved one.

    Raises:
        PolicyFileError: for a missing, unreadable or malformed file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PolicyFileError(f"no saved learner at {path!r}; pass a file written by save()")
    try:
        payload = th.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same diagnosis
        raise PolicyFileError(
            f"{path!r} is not a saved learner (torch.load failed: {exc}); expected a file "
            f"written by subrational_gym.learners.save"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PolicyFileError(
            f"{path!r} is not a saved learner: expected a dict with format {FORMAT!r}; "
            f"write it with subrational_gym.learners.save"
        )
    if payload.get("version") != VERSION:
        raise PolicyFileError(
            f"{path!r} has format version {payload.get('version')!r}, this code reads "
            f"version {VERSION}; re-save it with this version of subrational_gym"
        )
    try:
        record = TrainRecord(**json.loads(payload["record"]))
        model = make_env(record.env_id, **record.env_kwargs).tabular_model()
        probs = payload["probs"].double().numpy()
        features = None if payload["features"] is None else FeatureMap(model,
                                                                        payload["features"])
        net = _rebuild(payload, model, features)
    except PolicyFileError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise PolicyFileError(
            f"{path!r} is malformed ({type(exc).__name__}: {exc}); re-save the learner"
        ) from exc
    if net is None:
        policy = TabularPolicy(model, probs, seed=record.seed, name=record.algorithm)
        trained: Any = Values(q=np.full_like(probs, np.nan), v=np.full(len(probs), np.nan))
    elif record.algorithm in ("gail", "airl"):
        # The saved table is the generators' iterate average, the network the final
        # generator: they differ by design, so the table is taken as saved.
        policy = TabularPolicy(model, probs, seed=record.seed, name=record.algorithm)
        trained = net
    else:
        policy = as_tabular_policy(model, net, features=features, name=record.algorithm,
                                   seed=record.seed)
        if not np.allclose(policy.probs, probs, atol=1e-6):
            raise PolicyFileError(
                f"{path!r}: the network's action probabilities differ from the saved table; "
                f"the file is corrupt or was edited, re-save the learner"
            )
        trained = net
    return TrainResult(policy=policy, trained=trained, record=record, features=features,
                       network=_network(payload, model, features, net, record.algorithm))


def _network(payload: dict[str, Any], model: Any, features: FeatureMap | None, net: Any,
             algorithm: str) -> ActorCriticPolicy | None:
    """The deployable network of a loaded learner (see ``TrainResult.network``)."""
    state = payload.get("network_state_dict") or {}
    if state and features is not None:
        distilled = ActorCriticPolicy(features.observation_space,
                                      gym.spaces.Discrete(model.n_actions),
                                      lr_schedule=lambda _: 0.0,
                                      net_arch=list(payload["net_arch"]))
        distilled.load_state_dict(state)
        distilled.set_training_mode(False)
        return distilled
    if isinstance(net, ActorCriticPolicy) and algorithm not in ("gail", "airl"):
        return net  # bc, distribution matching, ppo: the trained network itself
    return None


def _rebuild(payload: dict[str, Any], model: Any, features: FeatureMap | None) -> Any:
    kind = payload["network"]
    if kind == "table":
        return None
    if features is None:
        raise PolicyFileError("a saved network needs its feature kind; re-save the learner")
    space = features.observation_space
    actions = gym.spaces.Discrete(model.n_actions)
    arch = list(payload["net_arch"])
    if kind == "actor_critic":
        net: Any = ActorCriticPolicy(space, actions, lr_schedule=lambda _: 0.0, net_arch=arch)
    elif kind == "dqn":
        net = DQNPolicy(space, actions, lr_schedule=lambda _: 0.0, net_arch=arch)
    else:
        raise PolicyFileError(f"unknown network kind {kind!r} in a saved learner")
    net.load_state_dict(payload["state_dict"])
    net.set_training_mode(False)
    return net
