"""The paper replication and the project's main job (``make demo``).

For each game of Coletta et al. 2024 and each of its personas: tabulate the LLM expert
(the embedded model by default, any OpenAI-compatible endpoint by flag), roll out
demonstrations, train BC, GAIL, AIRL and distribution matching over several seeds,
train the exponential-discount baselines (value iteration over a gamma sweep, PPO and
DQN), evaluate everything exactly on the game's tabular model, check the paper's four
findings, and score every policy against published human figures.

Run::

    python -m benchmarks.replicate                       # demo budget, embedded model
    python -m benchmarks.replicate --budget full         # the full budget
    python -m benchmarks.replicate --base-url http://host:8000/v1 --model my-model

Writes under ``--out`` (default ``results/``): ``summary.json`` (stable shape: model,
endpoint, finished_at, wall_seconds, findings, fidelity), ``perf.json``,
``report.md``, ``plots/<game>.png`` and the full record ``runs/<time>.json``.

The code lives in the :mod:`benchmarks.replication` package, one module per concern;
this module is the command and keeps the names other scripts import.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from benchmarks import replication
from benchmarks.replication.cli import cli, main, parse_args
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

if TYPE_CHECKING:
    from benchmarks.replication.run import Replication

__all__ = ["BUDGETS", "GAMES", "GAMMAS", "IMITATION", "PAPER_LEARNER", "RL", "RL_GAMMA",
           "Args", "Budget", "Replication", "cli", "main", "parse_args"]


def __getattr__(name: str) -> object:
    # Replication: the package imports it on first use (see benchmarks.replication).
    return getattr(replication, name)


if __name__ == "__main__":
    sys.exit(cli())
