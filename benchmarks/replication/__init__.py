"""The paper replication (``python -m benchmarks.replicate``, ``make demo``) by concern.

- :mod:`~benchmarks.replication.config`: budgets, learners and the typed :class:`Args`;
- :mod:`~benchmarks.replication.cli`: the command line;
- :mod:`~benchmarks.replication.records`: typed run records (``to_dict()`` for the JSON);
- :mod:`~benchmarks.replication.tabulation`: the LLM experts and the run's model use;
- :mod:`~benchmarks.replication.training`: training jobs and their records;
- :mod:`~benchmarks.replication.findings`: findings, model card, known answers;
- :mod:`~benchmarks.replication.fidelity`: human fidelity of every policy family;
- :mod:`~benchmarks.replication.performance`: the performance record (perf.json);
- :mod:`~benchmarks.replication.output`: summary.json, report.md, plots, the run record;
- :mod:`~benchmarks.replication.run`: :class:`Replication`, which runs them in order.

The public names are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks.replication.config import (
    BUDGETS,
    GAMES,
    GAMMAS,
    IMITATION,
    PAPER_LEARNER,
    RL,
    RL_GAMMA,
    Args,
    Budget,
)
from benchmarks.replication.records import Finding, RunRecords

if TYPE_CHECKING:
    from benchmarks.replication.run import Replication

__all__ = ["BUDGETS", "GAMES", "GAMMAS", "IMITATION", "PAPER_LEARNER", "RL", "RL_GAMMA",
           "Args", "Budget", "Finding", "Replication", "RunRecords"]


def __getattr__(name: str) -> object:
    # The orchestrator (and with it torch, the learners and the model client) is imported
    # on first use, so ``--help`` and the budgets answer in a few seconds.
    if name == "Replication":
        from benchmarks.replication.run import Replication

        return Replication
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
