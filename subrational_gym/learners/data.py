"""Demonstration batches for imitation's trainers, collated in one indexing step.

imitation builds its demonstration loader as a torch ``DataLoader`` that fetches every
transition of a minibatch one by one and collates them with
``imitation.data.types.transitions_collate_fn``: for our tiny networks that per-item
Python work was about a fifth of BC's training time and 2.7 s of a 20k-step GAIL run
(cProfile, on one game: ``docs/learners.md``). :func:`demonstration_loader` gives the
same minibatches, drawn by the same torch samplers from the same global random state, so
training gives the same result to the last digit, but gathers each minibatch with one
numpy index.
:func:`use_fast_loader` installs it in a constructed BC or adversarial trainer.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th
from imitation.data import rollout, types

__all__ = ["demonstration_loader", "use_fast_loader"]

_FIELDS = ("obs", "acts", "next_obs", "dones")


class _Batches(th.utils.data.Dataset):
    """Transitions as arrays; indexing with a list of positions gives one collated batch."""

    def __init__(self, transitions: types.Transitions) -> None:
        self.arrays = {k: np.asarray(getattr(transitions, k)) for k in _FIELDS}
        self.infos = transitions.infos
        self.n = len(transitions)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, indices: Sequence[int]) -> dict[str, Any]:
        idx = np.asarray(indices, dtype=np.int64)
        # As transitions_collate_fn: actions and dones as tensors, observations stacked
        # as numpy arrays, infos as a list.
        return {"acts": th.as_tensor(self.arrays["acts"][idx]),
                "dones": th.as_tensor(self.arrays["dones"][idx]),
                "infos": [self.infos[i] for i in idx],
                "obs": self.arrays["obs"][idx], "next_obs": self.arrays["next_obs"][idx]}


def _identity(batch: dict[str, Any]) -> dict[str, Any]:
    return batch


def demonstration_loader(demonstrations: types.Transitions | Sequence[types.Trajectory],
                         batch_size: int) -> th.utils.data.DataLoader:
    """The minibatches of imitation's ``make_data_loader(demonstrations, batch_size)``.

    Shuffled, incomplete last batch dropped, each minibatch a dict of ``acts`` and
    ``dones`` (tensors), ``obs`` and ``next_obs`` (numpy arrays) and ``infos`` (a list),
    with the same values, types and order as imitation's own loader under the same torch
    random state.

    Args:
        demonstrations: Transitions, or trajectories (flattened as imitation does).
        batch_size: Transitions per minibatch.

    Raises:
        ValueError: ``batch_size`` is not positive or exceeds the number of transitions.
    """
    if not isinstance(demonstrations, types.Transitions):
        demonstrations = rollout.flatten_trajectories(list(demonstrations))
    if batch_size <= 0 or batch_size > len(demonstrations):
        raise ValueError(f"batch_size must be in [1, {len(demonstrations)}] (the number of "
                         f"transitions), got {batch_size}; pass a smaller batch size")
    data = _Batches(demonstrations)
    # The samplers imitation's DataLoader(shuffle=True, drop_last=True) builds, over
    # positions; the dataset answers a whole list of positions at once.
    sampler = th.utils.data.BatchSampler(th.utils.data.RandomSampler(data), batch_size,
                                         drop_last=True)
    return th.utils.data.DataLoader(data, batch_size=None, sampler=sampler,
                                    collate_fn=_identity)


def use_fast_loader(trainer: Any, demonstrations: types.Transitions
                    | Sequence[types.Trajectory], batch_size: int) -> None:
    """Replace a just-constructed imitation trainer's demonstration loader with ours.

    Works on ``imitation.algorithms.bc.BC`` and the adversarial trainers (GAIL, AIRL) of
    imitation 1.0.1, whose ``set_demonstrations`` keeps the loader in the private
    attribute ``_demo_data_loader`` (and, for the adversarial ones, an endless iterator
    over it in ``_endless_expert_iterator``); ``tests/learners/test_data.py`` fails if
    either attribute disappears. Call it right after construction, before training.

    Raises:
        AttributeError: the trainer has no ``_demo_data_loader`` (another imitation).
    """
    if not hasattr(trainer, "_demo_data_loader"):
        raise AttributeError(f"{type(trainer).__name__} has no _demo_data_loader; "
                             "use_fast_loader supports imitation 1.0.1's BC, GAIL and AIRL")
    trainer._demo_data_loader = demonstration_loader(demonstrations, batch_size)
    if hasattr(trainer, "_endless_expert_iterator"):
        # imitation's util.endless_iter, without its check that the loader is not empty
        # (that check draws a batch, moving torch's random state; the constructor's own
        # loader has drawn it already, so the random state stays where it would be).
        trainer._endless_expert_iterator = itertools.chain.from_iterable(
            itertools.repeat(trainer._demo_data_loader))
