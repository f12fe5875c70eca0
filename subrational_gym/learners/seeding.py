"""Seeding in one place, so that training runs are bit-for-bit repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch as th


def seed_everything(seed: int, *, threads: int = 1) -> np.random.Generator:
    """Seed Python's, NumPy's and torch's global generators and fix torch's thread count.

    One thread is both faster and reproducible on the small networks used here:
    torch's default (one thread per core) thrashes on a shared 2-core machine.

    Args:
        seed: Non-negative integer seed.
        threads: Number of intra-op torch threads.

    Returns:
        A fresh ``np.random.Generator`` seeded with ``seed``, for the ``rng`` arguments
        of imitation's trainers.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}; pass e.g. seed=0")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    th.manual_seed(seed)
    if th.get_num_threads() != threads:
        th.set_num_threads(threads)
    return np.random.default_rng(seed)
