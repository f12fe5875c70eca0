"""The runner: recorded runs and plain calls on one executor, kept for a whole sweep."""

from __future__ import annotations

import collections
import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from subrational_gym.runner.errors import RunnerError
from subrational_gym.runner.executors import Executor, make_executor
from subrational_gym.runner.progress import Progress
from subrational_gym.runner.store import RunStore
from subrational_gym.runner.tasks import Call, Failure, Outcome, Task
from subrational_gym.runner.workers import refuse_in_a_starting_worker


@dataclasses.dataclass(frozen=True, kw_only=True)
class Run:
    """One recorded run: its key in the store and the call that makes its record.

    Attributes:
        key: The run's key: equal keys, equal records (a hash of its whole config).
        call: Returns the record, a JSON-able mapping (the runner sets its ``key``).
        description: One line for logs and messages (default: the key).
    """

    key: str
    call: Call
    description: str = ""


class Runner:
    """Runs recorded runs and plain calls as they are submitted, on one executor.

    A run (:class:`Run`) whose record is in ``store`` is not run again; the others start
    at :meth:`submit` and their records are saved as they finish, so an interrupted
    sweep keeps every run that finished and a rerun resumes it. :meth:`call` runs any
    pure function on the same workers and returns a :class:`Task` at once. Finished work
    is collected whenever this process looks at the workers (each submit, call, wait,
    and on leaving the ``with`` block, also on an exception such as Ctrl-C, which stops
    the workers).

    Example:
        >>> import math, tempfile
        >>> from subrational_gym.runner import Call
        >>> with Runner(RunStore(tempfile.mkdtemp()), progress=False) as runner:
        ...     runner.submit([Run(key="a", call=Call(fn=dict, kwargs={"x": 1.0}))])
        ...     total = runner.call(math.fsum, [0.1] * 10)
        ...     [record] = runner.records(["a"])
        >>> record, total.result()
        ({'x': 1.0, 'key': 'a', 'reused': False}, 1.0)

    Args:
        store: Where run records are kept (None: this runner runs plain calls only).
        executor: ``"local"`` (in this process with one worker, else a process pool),
            ``"ray"``, or any :class:`~subrational_gym.runner.executors.Executor`.
        workers: Local worker processes (1: in this process).
        ray_address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local Ray).
        retries: How many times a run or call whose worker died is run again.
        progress: Show progress over the runs (a bar on a terminal, else plain lines).
        on_record: Called with each new record as it is saved.
        preload: Modules the local pool's workers import once, before they fork.
        error: The exception class raised (a client's subclass of
            :class:`~subrational_gym.runner.RunnerError`).
        label: What the runs are called, plural, in the progress and in messages.

    Raises:
        RunnerError: (``error``) an unknown executor or a bad number of workers, or the
            runner is built in a worker process that is importing the main script (a
            script without ``if __name__ == "__main__":``).
    """

    def __init__(self, store: RunStore | None = None, *, executor: str | Executor = "local",
                 workers: int = 1, ray_address: str | None = None, retries: int = 2,
                 progress: bool = True,
                 on_record: Callable[[dict[str, Any]], None] | None = None,
                 preload: Sequence[str] = (), error: type[RunnerError] = RunnerError,
                 label: str = "runs") -> None:
        refuse_in_a_starting_worker(error)
        self.error = error
        self.executor = (make_executor(executor, workers=workers, ray_address=ray_address,
                                       retries=retries, preload=preload, error=error)
                         if isinstance(executor, str) else executor)
        self.store = store
        self.on_record = on_record
        self.label = label
        self.progress = Progress(enabled=progress, label=label)
        self._runs: dict[str, Run] = {}  # submitted (or found finished) runs, by key
        self._new: set[str] = set()  # runs this runner ran (not found in the store)
        self._done: set[str] = set()
        self._failures: dict[str, str] = {}  # key -> traceback
        self._unsettled: dict[int, Task] = {}  # given to the executor, not yet settled
        self._run_of: dict[int, str] = {}  # task serial -> run key
        self._ready: collections.deque[tuple[Task, Outcome]] = collections.deque()
        self._later = 0  # runs of the submit under way not yet given to the executor
        self._serials = itertools.count()
        self._closed = False

    # ------------------------------------------------------------------ public
    def submit(self, runs: Iterable[Run]) -> None:
        """Start every run not yet submitted or recorded (returns once all have started).

        With the in-process executor each run runs here, in turn.

        Raises:
            RunnerError: (``error``) this runner has no store, or is closed.
        """
        store = self._store()
        fresh = [run for key, run in {run.key: run for run in runs}.items()
                 if key not in self._runs]
        self.progress.grow(len(fresh))
        todo = []
        for run in fresh:
            if store.has(run.key):
                self._runs[run.key] = run
                self._done.add(run.key)
                self.progress.update(finished=1)
            else:
                todo.append(run)
        try:
            for i, run in enumerate(todo):
                # Registered as it starts: after a Ctrl-C the rest can be submitted again.
                self._runs[run.key] = run
                self._new.add(run.key)
                self._later = len(todo) - i - 1
                task = self._task(run.call, run.description or run.key, counted=True)
                self._run_of[task.serial] = run.key
                self._start(task)
        finally:
            self._later = 0
        self.show()

    def call(self, fn: Callable[..., Any], *args: Any, name: str | None = None,
             **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` on a worker; returns at once.

        ``fn`` must be importable by the workers (a module-level function of an installed
        package, or a bound method of a picklable object) and its arguments picklable.
        """
        task = self._task(Call(fn=fn, args=args, kwargs=kwargs),
                          name or getattr(fn, "__qualname__", repr(fn)))
        self._start(task)
        return task

    def submitted(self, key: str) -> bool:
        """Whether the run ``key`` was submitted to this runner (or found recorded)."""
        return key in self._runs

    def records(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """The records of the runs ``keys`` (submitted before), in order, once finished.

        Each record gets ``reused``: True when it was in the store before this runner.

        Raises:
            RunnerError: (``error``) runs that failed (their tracebacks are in
                ``store.root / "logs"``; the others' records are kept) or were never
                submitted.
        """
        store = self._store()
        unique = list(dict.fromkeys(keys))
        missing = [key for key in unique if key not in self._runs]
        if missing:
            raise self.error(f"{len(missing)} {self.label} were never submitted: "
                             f"{missing[:3]}; submit them first")
        wanted = set(unique)
        self.wait_until(lambda: wanted <= self._done | self._failures.keys())
        failed = sorted(wanted & self._failures.keys())
        if failed:
            first = self._failures[failed[0]].strip().splitlines() or ["unknown error"]
            raise self.error(f"{len(failed)} of {len(unique)} {self.label} failed (finished "
                             f"records are kept; rerun to retry them); tracebacks in "
                             f"{store.root / 'logs'}: " + ", ".join(failed)
                             + f"; the first ended: {first[-1]}")
        return [{**store.load(key), "reused": key not in self._new} for key in unique]

    def limit(self, n: int | None) -> None:
        """Run at most ``n`` runs and calls at once on a local pool (None: one per worker).

        A client can keep a core for other work (the replication keeps one for the
        embedded model while it tabulates). No effect in process (one at a time) or on
        Ray, whose scheduler owns the cluster's CPUs.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise self.error(f"limit must be a positive integer or None, got {n!r}")
        self.executor.limit(n)
        self.show()

    def occupancy(self) -> tuple[int, int]:
        """Runs (running, queued) now: unfinished ones, at most one running per slot.

        A local pool takes every call at once and Ray queues what its CPUs cannot yet
        take, so started-but-unfinished is not the same as running; runs held back by
        :meth:`limit`, and those of a submit under way not yet started, are queued too.
        """
        counted = sum(task.counted for task in self._unsettled.values())
        held = sum(task.counted for task in self.executor.held())
        started = counted - held
        running = min(started, self.executor.slots()) if started > 0 else 0
        return running, started - running + held + self._later

    def show(self) -> None:
        """Bring the progress's running and queued counts up to date."""
        self.progress.update(started=self.occupancy())

    def wait_until(self, condition: Callable[[], bool]) -> None:
        """Collect finished work until ``condition()`` holds.

        Raises:
            RunnerError: (``error``) nothing is left to wait for and it still does not.
        """
        self._drain(block=False)
        while not condition():
            if not self._ready and not self.executor.pending():
                raise self.error("waiting for work that was never started")
            self._drain(block=True)

    def close(self, *, cancel: bool = False) -> None:
        """Save what has finished; then wait for the rest, or with ``cancel`` stop it.

        With ``cancel`` (leaving the ``with`` block on an exception, e.g. Ctrl-C) the
        workers are stopped: their runs are unfinished and leave no record.
        """
        try:
            self._drain(block=False)
            if not cancel:
                self.wait_until(lambda: not self._unsettled)
        except BaseException:
            cancel = True  # e.g. Ctrl-C during the final wait: stop the workers too
            raise
        finally:
            self._closed = True
            self.executor.close(cancel=cancel)
            self.progress.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(cancel=exc_type is not None)

    # --------------------------------------------------------------- internals
    def _store(self) -> RunStore:
        if self.store is None:
            raise self.error("this Runner has no store, so it runs calls only; give it "
                             "one (Runner(RunStore(folder), ...)) to submit runs")
        return self.store

    def _task(self, call: Call, name: str, *, counted: bool = False) -> Task:
        return Task(self, name=name, serial=next(self._serials), call=call, counted=counted)

    def _start(self, task: Task) -> None:
        if self._closed:
            raise self.error(f"this Runner is closed; {task.name} was not started")
        self._unsettled[task.serial] = task
        if task.counted:
            self.show()  # in process, the run goes on inside submit(): show it running
        try:
            self.executor.submit(task)
        except BaseException:
            if not task.done:  # e.g. Ctrl-C while it ran in process: it can start again
                self._unsettled.pop(task.serial, None)
                key = self._run_of.pop(task.serial, None)
                if key is not None:
                    self._runs.pop(key, None)
                    self._new.discard(key)
            raise
        self._drain(block=False)

    def _drain(self, *, block: bool) -> None:
        """Settle what has finished; with ``block``, wait for something first."""
        self._ready.extend(self.executor.finished(block=block and not self._ready))
        while self._ready:
            # One at a time: if settling raises (Ctrl-C in on_record), the rest stay.
            self._settle(*self._ready.popleft())

    def _settle(self, task: Task, outcome: Outcome) -> None:
        self._unsettled.pop(task.serial, None)
        key = self._run_of.pop(task.serial, None)
        if key is not None and outcome.failure is None and not isinstance(outcome.value,
                                                                          Mapping):
            message = (f"{task.name} returned {type(outcome.value).__name__}, not a record "
                       f"(a mapping)")
            outcome = Outcome(failure=Failure(type="NotARecord", message=message,
                                              traceback=message))
        task.settle(outcome)
        if key is None:
            return
        store = self._store()
        if outcome.failure is not None:
            self._failures[key] = outcome.failure.traceback
            store.fail(key, outcome.failure.traceback, heading=self._runs[key].description)
            self.progress.update(failed=1, started=self.occupancy())
            return
        record = {**outcome.value, "key": key}
        store.save(record)
        self._done.add(key)
        try:
            if self.on_record is not None:
                self.on_record(record)
        finally:
            self.progress.update(finished=1, started=self.occupancy())
