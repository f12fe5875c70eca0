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

#: The order in which make test hands the test files to its processes (pytest-xdist,
#: ``--dist loadfile --no-loadscope-reorder``): the longest first, so that they finish
#: together. xdist's own order (most tests first) left the one-test replication files for
#: last, on one process while the other sat idle. Seconds of each file's tests of 2 s or
#: more in the whole suite on two processes (``--durations`` of a fresh-clone ``make test``
#: at 4101141, 2026-12-04, a quiet machine). A
#: file not listed runs after these (one with tests marked slow first), in collection
#: order: the order only balances the processes, a file missing here still runs.
LONGEST_FIRST: dict[str, float] = {
    "tests/learners/test_sweep_cli.py": 97,
    "tests/test_replicate_embedded.py": 68,
    "tests/llm_experts/test_conformance.py": 67,
    "tests/test_replicate.py": 65,
    "tests/llm_experts/test_planted.py": 42,
    "tests/test_hypotheses.py": 42,
    "tests/test_docs.py": 37,
    "tests/learners/test_sweeps.py": 33,
    "tests/test_inference_bootstrap.py": 22,
    "tests/llm_experts/test_llm_expert.py": 18,
    "tests/llm_experts/test_llm_server.py": 17,
    "tests/llm_experts/test_llm_load_benchmark.py": 16,
    "tests/llm_experts/test_llm_snippet.py": 15,
    "tests/learners/test_benchmarks.py": 13,
    "tests/test_benchmarks_core.py": 11,
    "tests/learners/test_inference_cli.py": 10,
    "tests/test_runner.py": 10,
    "tests/test_inference.py": 4,
    "tests/test_double_or_nothing_odds.py": 4,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        if isinstance(item, pytest.DoctestItem) and path.is_relative_to(CORE_PACKAGE) \
                and not path.is_relative_to(NOT_CORE):
            item.add_marker(pytest.mark.core)
    rank = {name: i for i, name in enumerate(sorted(LONGEST_FIRST, key=LONGEST_FIRST.get,
                                                    reverse=True))}
    slow = {_file(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: rank.get(_file(item), len(rank) + (_file(item) not in slow)))


def _file(item: pytest.Item) -> str:
    """The item's file as pytest-xdist's --dist loadfile groups it (``tests/test_x.py``)."""
    return item.nodeid.split("::", 1)[0]
