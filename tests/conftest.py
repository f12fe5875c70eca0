from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

ENV_IDS = [
    "Subrational/Ultimatum-v0",
    "Subrational/Marshmallow-v0",
    "Subrational/DoubleOrNothing-v0",
    "Subrational/Procrastination-v0",
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
