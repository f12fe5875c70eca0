"""The Ray executor: calls as tasks on a Ray cluster, joined or started when needed."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

from subrational_gym.runner.errors import RunnerError
from subrational_gym.runner.tasks import Failure, Outcome, Shared, Task, call_safely


class RayExecutor:
    """Calls as Ray tasks (one CPU each, run again by Ray if their worker dies).

    Nothing touches Ray until the first call: then the executor joins the cluster at
    ``address`` (or ``$RAY_ADDRESS``), else starts a local Ray (dashboard off), unless
    this process is already connected. :meth:`close` shuts down (or, for a cluster it
    joined, disconnects from) a Ray it connected to, and leaves one that this process
    had connected to before as it is. A :class:`~subrational_gym.runner.Shared` argument
    goes into the object store once per key. Scheduling is Ray's own.

    Args:
        address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local Ray).
        retries: How many times Ray runs a task again whose worker died.
        error: The exception class raised when Ray is missing or cannot be reached.
        env_vars: Environment of the tasks (one thread per task by default).
    """

    def __init__(self, *, address: str | None = None, retries: int = 2,
                 error: type[RunnerError] = RunnerError,
                 env_vars: dict[str, str] | None = None) -> None:
        self.address = address
        self.retries = retries
        self.error = error
        self.env_vars = {"OMP_NUM_THREADS": "1"} if env_vars is None else dict(env_vars)
        self._ray: Any = None  # the ray module, once connected
        self._started = False  # this executor called ray.init(): close() shuts it down
        self._remote: Any = None
        self._flight: dict[Any, Task] = {}  # object reference -> task
        self._done: list[tuple[Task, Outcome]] = []  # could not even be submitted
        self._shared: dict[str, Any] = {}  # Shared key -> object reference
        self._slots: int | None = None  # the cluster's CPUs, read once

    def connect(self) -> Any:
        """The ``ray`` module, connected: Ray is joined or started here, once.

        Every Ray call of the executor goes through this, so none runs before
        ``ray.init`` (asking Ray for its CPUs first stopped sweeps with "Ray has not
        been started yet").

        Raises:
            RunnerError: (``error``) Ray is not installed, or could not be started or
                joined.
        """
        if self._ray is not None:
            return self._ray
        try:
            import ray
        except ImportError as err:  # pragma: no cover - depends on the installed extras
            raise self.error("executor 'ray' needs Ray: pip install "
                             "'subrational-gym[ray]'") from err
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": self.env_vars})
            except Exception as err:  # noqa: BLE001 - Ray raises many types here
                where = (f"join the Ray cluster at {address!r}" if address
                         else "start a local Ray")
                raise self.error(f"could not {where}: {type(err).__name__}: {err}; start a "
                                 f"cluster with `ray start --head` and pass its address "
                                 f"(--ray-address or $RAY_ADDRESS), or give none for a "
                                 f"local Ray; a cluster with token authentication needs "
                                 f"RAY_AUTH_MODE=token here too") from err
            self._started = True
        self._ray = ray
        self._remote = ray.remote(num_cpus=1, max_retries=self.retries)(call_safely)
        return ray

    def submit(self, task: Task) -> None:
        """Start ``task`` as a Ray task named after it (connecting first if needed)."""
        self.connect()
        try:
            args = [self._share(a) if isinstance(a, Shared) else a for a in task.call.args]
            ref = self._remote.options(name=task.name).remote(task.call.fn, *args,
                                                              **task.call.kwargs)
        except Exception:  # noqa: BLE001 - e.g. an argument Ray cannot serialise
            self._done.append((task, Outcome(failure=Failure.current("CouldNotRun"))))
            return
        self._flight[ref] = task

    def finished(self, *, block: bool) -> list[tuple[Task, Outcome]]:
        """Tasks that finished; one whose worker died more than ``retries`` times fails."""
        out, self._done = self._done, []
        if out or not self._flight:
            return out
        ray = self.connect()
        refs = list(self._flight)
        done, _ = ray.wait(refs, num_returns=1 if block else len(refs),
                           timeout=None if block else 0)
        for ref in done:
            task = self._flight.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as err:
                outcome = Outcome(failure=Failure.worker_died(f"{type(err).__name__}: {err}"))
            out.append((task, outcome))
        return out

    def pending(self) -> int:
        """Tasks in flight, and those that could not be submitted, not yet collected."""
        return len(self._flight) + len(self._done)

    def held(self) -> Sequence[Task]:
        """Nothing is held here: Ray queues what its CPUs cannot take yet."""
        return ()

    def slots(self) -> int:
        """The cluster's CPUs (read once; 1 before anything connected)."""
        if self._ray is None:
            return 1
        if self._slots is None:
            self._slots = max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        return self._slots

    def limit(self, n: int | None) -> None:
        """No effect: Ray's scheduler owns the cluster's CPUs."""

    def close(self, *, cancel: bool) -> None:
        """With ``cancel``, cancel unfinished tasks; shut down a Ray this executor began."""
        if self._ray is None:
            return
        ray = self._ray
        if cancel and ray.is_initialized():
            for ref in list(self._flight):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        self._flight.clear()
        self._shared.clear()
        self._done.clear()
        if self._started:
            ray.shutdown()
            self._started = False
        self._ray = self._remote = None
        self._slots = None

    def _share(self, shared: Shared) -> Any:
        if shared.key not in self._shared:
            self._shared[shared.key] = self._ray.put(shared.value)
        return self._shared[shared.key]
