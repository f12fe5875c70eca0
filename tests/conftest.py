from __future__ import annotations

import os
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]

#: The core package's own doctests run on the core install (``subrational_gym/`` outside
#: ``learners/``); test files say so themselves (``pytestmark = pytest.mark.core``).
CORE_PACKAGE, NOT_CORE = ROOT / "subrational_gym", ROOT / "subrational_gym" / "learners"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        if isinstance(item, pytest.DoctestItem) and path.is_relative_to(CORE_PACKAGE) \
                and not path.is_relative_to(NOT_CORE):
            item.add_marker(pytest.mark.core)
