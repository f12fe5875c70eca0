"""Executors: where a runner's calls run, behind one small protocol.

- :class:`InProcessExecutor`: in this process, at submission (one local worker).
- :class:`~subrational_gym.runner.pool.LocalPoolExecutor`: a pool of worker processes on
  this machine; a pool broken by a dead worker is rebuilt and its calls run again.
- :class:`~subrational_gym.runner.ray_executor.RayExecutor`: tasks on a Ray cluster,
  joined at an address or started locally when the first call needs it.

:func:`make_executor` builds one by name (:data:`EXECUTORS`). Any object with the
methods of :class:`Executor` can be given to a :class:`~subrational_gym.runner.Runner`
instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from subrational_gym.runner.errors import RunnerError
from subrational_gym.runner.tasks import Outcome, Shared, Task, call_safely

#: Executor names of :func:`make_executor` (``local`` with one worker runs in process).
EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Where a runner's tasks run.

    The runner calls these from its own thread only; an executor may use threads of
    its own (a process pool's callbacks) behind them.
    """

    def submit(self, task: Task) -> None:
        """Start ``task.call`` (or hold it until there is room); returns at once."""

    def finished(self, *, block: bool) -> list[tuple[Task, Outcome]]:
        """Tasks that finished since the last call, with their outcomes.

        With ``block``, wait until at least one has (an empty list if nothing is
        pending).
        """

    def pending(self) -> int:
        """Tasks submitted whose outcome :meth:`finished` has not returned yet."""

    def held(self) -> Sequence[Task]:
        """Tasks submitted but held back, not yet given to a worker."""

    def slots(self) -> int:
        """How many tasks can run at once."""

    def limit(self, n: int | None) -> None:
        """Run at most ``n`` tasks at once (None: as many as there are slots)."""

    def close(self, *, cancel: bool) -> None:
        """Wait for nothing more; with ``cancel``, stop the tasks still running."""


def resolve_shared(args: Sequence[Any]) -> tuple[Any, ...]:
    """``args`` with each :class:`~subrational_gym.runner.Shared` replaced by its value."""
    return tuple(a.value if isinstance(a, Shared) else a for a in args)


class InProcessExecutor:
    """Runs each call in this process as it is submitted (no pickling, no workers)."""

    def __init__(self) -> None:
        self._done: list[tuple[Task, Outcome]] = []

    def submit(self, task: Task) -> None:
        """Run ``task.call`` now."""
        call = task.call
        self._done.append((task, call_safely(call.fn, *resolve_shared(call.args),
                                             **call.kwargs)))

    def finished(self, *, block: bool) -> list[tuple[Task, Outcome]]:
        """What ran since the last call (nothing runs later, so ``block`` never waits)."""
        done, self._done = self._done, []
        return done

    def pending(self) -> int:
        """Calls that ran and were not collected yet."""
        return len(self._done)

    def held(self) -> Sequence[Task]:
        """Nothing is held: calls run at submission."""
        return ()

    def slots(self) -> int:
        """One call at a time."""
        return 1

    def limit(self, n: int | None) -> None:
        """No effect: one call runs at a time anyway."""

    def close(self, *, cancel: bool) -> None:
        """Nothing to stop."""
        self._done.clear()


def make_executor(name: str, *, workers: int = 1, ray_address: str | None = None,
                  retries: int = 2, preload: Sequence[str] = (),
                  error: type[RunnerError] = RunnerError) -> Executor:
    """The executor called ``name``.

    Args:
        name: ``"local"`` (in this process with one worker, else a process pool) or
            ``"ray"``.
        workers: Local worker processes.
        ray_address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local Ray).
        retries: How many times a call whose worker died is run again.
        preload: Modules the local pool's workers import once, before they fork.
        error: The exception class the executor raises.

    Raises:
        RunnerError: (``error``) an unknown name or a bad number of workers.
    """
    if name not in EXECUTORS:
        raise error(f"executor must be one of {EXECUTORS}, got {name!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise error(f"workers must be a positive integer, got {workers!r}")
    if name == "ray":
        from subrational_gym.runner.ray_executor import RayExecutor

        return RayExecutor(address=ray_address, retries=retries, error=error)
    if workers == 1:
        return InProcessExecutor()
    from subrational_gym.runner.pool import LocalPoolExecutor

    return LocalPoolExecutor(workers=workers, retries=retries, preload=preload)
