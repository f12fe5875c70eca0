"""The local executor: a pool of worker processes on this machine."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import multiprocessing
import threading
from collections.abc import Sequence
from typing import Any

from subrational_gym.runner.executors import resolve_shared
from subrational_gym.runner.tasks import Failure, Outcome, Task, call_safely
from subrational_gym.runner.workers import died_too_often, start_worker


class LocalPoolExecutor:
    """Calls on a :class:`concurrent.futures.ProcessPoolExecutor` kept for the whole run.

    Workers fork from a forkserver that imported ``preload`` once (fast starts), not from
    this process, which may hold threads (an embedded model's server) that a fork would
    copy mid-state. Each worker ignores Ctrl-C and exits when this process dies
    (:func:`~subrational_gym.runner.workers.start_worker`). A worker that dies (killed,
    out of memory) breaks the whole pool: a new pool takes the broken one's calls, each
    run again up to ``retries`` times.

    Calls beyond :meth:`limit` wait here, outside the pool, and enter it as others
    finish (from the pool's own thread, so they start without this process looking).

    Args:
        workers: Worker processes.
        retries: How many times a call whose worker died is run again.
        preload: Modules the forkserver imports before it forks workers.
    """

    def __init__(self, *, workers: int, retries: int = 2, preload: Sequence[str] = ()) -> None:
        self.workers = workers
        self.retries = retries
        self.preload = list(preload)
        self._pool: cf.ProcessPoolExecutor | None = None
        # In the pool: future -> (task, the pool it went to). Waiting: tasks held back by
        # the limit. Both change from the pool's thread too (see _left_pool): the lock.
        self._flight: dict[cf.Future[Any], tuple[Task, cf.ProcessPoolExecutor]] = {}
        self._waiting: collections.deque[Task] = collections.deque()
        self._limit: int | None = None
        self._in_pool = 0
        self._attempts: dict[int, int] = {}
        self._lock = threading.RLock()
        self._closed = False

    def submit(self, task: Task) -> None:
        """Queue ``task`` and move what fits into the pool."""
        with self._lock:
            self._waiting.append(task)
        self._pump()

    def finished(self, *, block: bool) -> list[tuple[Task, Outcome]]:
        """Calls that finished; a call whose worker died is run again (up to ``retries``)."""
        with self._lock:
            futures = list(self._flight)
            if not futures and self._waiting:
                self._pump()  # e.g. a pool that broke twice while work waited
                futures = list(self._flight)
        if not futures:
            return []
        done, _ = cf.wait(futures, timeout=None if block else 0,
                          return_when=cf.FIRST_COMPLETED)
        out = []
        for future in done:
            with self._lock:
                task, pool = self._flight.pop(future)
            try:
                outcome = future.result()
            except (cf.process.BrokenProcessPool, cf.CancelledError):
                attempts = self._attempts[task.serial] = self._attempts.get(task.serial, 0) + 1
                if attempts <= self.retries:
                    self._discard(pool)
                    self.submit(task)
                    continue
                outcome = Outcome(failure=Failure.worker_died(died_too_often(attempts)))
            except Exception:  # noqa: BLE001 - e.g. an argument that cannot be pickled
                outcome = Outcome(failure=Failure.current("CouldNotRun"))
            out.append((task, outcome))
        return out

    def pending(self) -> int:
        """Calls in the pool or waiting for room."""
        with self._lock:
            return len(self._flight) + len(self._waiting)

    def held(self) -> Sequence[Task]:
        """Calls waiting outside the pool (held back by the limit)."""
        with self._lock:
            return tuple(self._waiting)

    def slots(self) -> int:
        """The workers, or the limit if lower."""
        return self.workers if self._limit is None else min(self.workers, self._limit)

    def limit(self, n: int | None) -> None:
        """Keep at most ``n`` calls in the pool at once (None: one per worker)."""
        self._limit = n
        self._pump()

    def close(self, *, cancel: bool) -> None:
        """Shut the pool down; with ``cancel``, terminate its workers first.

        Terminated workers' calls are unfinished and give no outcome.
        """
        with self._lock:
            self._closed = True
            self._waiting.clear()
            pool, self._pool = self._pool, None
        if pool is None:
            return
        if cancel:
            # Private attribute of CPython's ProcessPoolExecutor (3.11; 3.14 adds
            # terminate_workers()): without this the workers finish their current call,
            # orphaned, after this process has gone.
            for process in list((pool._processes or {}).values()):
                process.terminate()
        pool.shutdown(wait=not cancel, cancel_futures=cancel)

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        # Always set: the default list also preloads __main__, which would run the
        # driver's script (its top level) in the server too.
        context.set_forkserver_preload(["subrational_gym.runner", *self.preload])
        return cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                      initializer=start_worker)

    def _discard(self, pool: cf.ProcessPoolExecutor) -> None:
        """Shut down ``pool`` if it is still the current one (it is broken)."""
        with self._lock:
            if pool is self._pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)

    def _pump(self) -> None:
        """Move waiting calls into the pool while it has room."""
        rebuilt = False
        with self._lock:
            while (not self._closed and self._waiting
                   and (self._limit is None or self._in_pool < self._limit)):
                if self._pool is None:
                    self._pool = self._new_pool()
                task = self._waiting[0]
                try:
                    future = self._pool.submit(call_safely, task.call.fn,
                                               *resolve_shared(task.call.args),
                                               **task.call.kwargs)
                except cf.process.BrokenProcessPool:
                    # Broken by a dead worker: a fresh pool takes the rest (once per call);
                    # what was in the broken one comes back through finished().
                    self._discard(self._pool)
                    if rebuilt:
                        return
                    rebuilt = True
                    continue
                except RuntimeError:  # shut down (the interpreter is exiting): stop here
                    return
                self._waiting.popleft()
                self._in_pool += 1
                self._flight[future] = (task, self._pool)
                future.add_done_callback(self._left_pool)

    def _left_pool(self, _: cf.Future[Any]) -> None:
        with self._lock:
            self._in_pool -= 1
        self._pump()
