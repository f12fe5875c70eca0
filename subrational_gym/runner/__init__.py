"""A torch-free runner: recorded runs and plain calls on one executor, resumable.

- :class:`Runner`: submit :class:`Run` s (a key and the :class:`Call` that makes its
  record) and plain calls (:meth:`Runner.call` returns a :class:`Task`); records are saved
  to a :class:`RunStore` as they finish, so a rerun skips every finished run.
- Executors behind one protocol (:class:`~subrational_gym.runner.executors.Executor`):
  :class:`InProcessExecutor`, :class:`LocalPoolExecutor` (worker processes that ignore
  Ctrl-C and exit with the driver) and :class:`RayExecutor` (joins a cluster, or starts a
  local Ray, at its first call); :func:`make_executor` builds one by name
  (:data:`EXECUTORS`).
- :class:`Progress`: a bar on a terminal, plain lines in a log file or a pipe.

Nothing here imports torch, imitation or stable-baselines3: the learners' sweeps
(:mod:`subrational_gym.learners.sweeps`) are one client of it.

Example:
    >>> import math
    >>> from subrational_gym.runner import Runner
    >>> with Runner(progress=False) as runner:
    ...     task = runner.call(math.fsum, [0.1] * 10)
    >>> task.result()
    1.0
"""

from __future__ import annotations

from subrational_gym.runner.errors import RunnerError
from subrational_gym.runner.executors import (
    EXECUTORS,
    Executor,
    InProcessExecutor,
    make_executor,
)
from subrational_gym.runner.pool import LocalPoolExecutor
from subrational_gym.runner.progress import Progress
from subrational_gym.runner.ray_executor import RayExecutor
from subrational_gym.runner.runner import Run, Runner
from subrational_gym.runner.store import RunStore
from subrational_gym.runner.tasks import Call, Failure, Outcome, Shared, Task, call_safely

__all__ = ["EXECUTORS", "Call", "Executor", "Failure", "InProcessExecutor",
           "LocalPoolExecutor", "Outcome", "Progress", "RayExecutor", "Run", "RunStore",
           "Runner", "RunnerError", "Shared", "Task", "call_safely", "make_executor"]
