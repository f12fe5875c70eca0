"""Sweeps of training jobs: job records, a resumable store, and two executors.

A :class:`Job` trains one learner with one seed, on one expert's action table (an LLM
persona tabulated beforehand, or any :class:`~subrational_gym.policies.TabularPolicy`),
or an RL baseline on the game's own reward, and evaluates the result exactly on the
tabular model. :func:`run_job` is a pure function of the job and the expert's table, so
the same job gives the same record (to the last digit, timings aside) in this process,
in a local worker process or on a Ray worker. Workers never call a model: the tables
travel with the jobs (pickled to a process pool, ``ray.put`` once into Ray's object
store).

:class:`RunStore` keeps one record per finished job under a folder, keyed by a hash of
the job's config (which includes a digest of the expert's table): the record and the
learned policy are each written to a temporary file and renamed into place, the policy
first, so a job killed part-way leaves nothing that looks finished, and a rerun skips
every job whose record exists.

:func:`execute` runs the unfinished jobs of a list with ``executor="local"`` (in this
process with one worker, else a :class:`concurrent.futures.ProcessPoolExecutor` whose
broken pool, e.g. a killed child, is rebuilt and its unfinished jobs resubmitted) or
``executor="ray"`` (tasks with ``max_retries``; at the first Ray task the runner joins the
cluster at its ``ray_address`` or ``$RAY_ADDRESS``, or starts a local Ray, which it shuts
down when closed). Scheduling is the pool's or Ray's own.

Local workers (forkserver) import the main script again as they start, as spawn's do: a
:class:`Runner` built at the top level of a script without ``if __name__ ==
"__main__":`` raises :class:`SweepError` in each worker instead of hanging, and a worker
exits when the process that started it dies.

Example:
    >>> import tempfile
    >>> from subrational_gym import policies
    >>> expert = policies.income_maximiser("Subrational/Marshmallow-v0", temperature=0.5)
    >>> job = Job.imitate("bc", expert, n_episodes=20, seed=0, budget=2)
    >>> store = RunStore(tempfile.mkdtemp())
    >>> [record] = execute([job], {job.expert_digest: expert.probs}, store, progress=False)
    >>> record["key"] == job.key and store.has(job.key)
    True
    >>> execute([job], {job.expert_digest: expert.probs}, store, progress=False)[0]["reused"]
    True
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import io
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from subrational_gym import make_env
from subrational_gym.evaluation import behaviour_summary, total_variation
from subrational_gym.learners.demonstrations import generate_demonstrations
from subrational_gym.learners.errors import LearnerError
from subrational_gym.learners.training import (
    ALGORITHMS,
    IMITATION_ALGORITHMS,
    RL_ALGORITHMS,
    train,
)
from subrational_gym.policies import TabularPolicy

__all__ = ["EXECUTORS", "Job", "RunStore", "Runner", "SweepError", "Task", "execute", "run_job",
           "table_digest"]

EXECUTORS = ("local", "ray")
#: Fields of a record that differ from run to run of the same job.
VOLATILE = ("train_seconds", "seconds", "finished_at", "worker", "reused", "log")


class SweepError(LearnerError):
    """A job failed after its retries, or a sweep was configured wrongly."""


def table_digest(probs: np.ndarray) -> str:
    """A short digest of an action table (float64 bytes and shape)."""
    arr = np.ascontiguousarray(probs, dtype=np.float64)
    h = hashlib.sha256(repr(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:16]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclasses.dataclass(frozen=True)
class Job:
    """One training run of a sweep.

    Attributes:
        learner: One of :data:`~subrational_gym.learners.ALGORITHMS` except value iteration.
        env_id: Registered id of the game.
        env_kwargs: Constructor arguments of the game.
        seed: Seed of the demonstrations and of training.
        budget: Training budget in the learner's unit (None: its default).
        n_episodes: Demonstration episodes (0 for RL).
        expert_digest: :func:`table_digest` of the expert's table (None for RL).
        hyperparams: Overrides of the learner's defaults (e.g. ``gamma`` for RL).
        tags: What the job is for, e.g. model, game, variant, persona; part of the key.
    """

    learner: str
    env_id: str
    env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    seed: int = 0
    budget: int | None = None
    n_episodes: int = 0
    expert_digest: str | None = None
    hyperparams: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    tags: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        trainable = tuple(a for a in ALGORITHMS if a != "value_iteration")
        if self.learner not in trainable:
            raise SweepError(f"job learner must be one of {trainable}, got {self.learner!r}")
        if self.learner in IMITATION_ALGORITHMS and (self.expert_digest is None
                                                     or self.n_episodes < 1):
            raise SweepError(f"an imitation job ({self.learner}) needs an expert_digest and "
                             f"n_episodes >= 1, got {self.expert_digest!r} and "
                             f"{self.n_episodes!r}; build it with Job.imitate(...)")
        if self.learner in RL_ALGORITHMS and self.expert_digest is not None:
            raise SweepError(f"an RL job ({self.learner}) learns from the game's reward and "
                             f"takes no expert; build it with Job.reinforce(...)")
        for name in ("env_kwargs", "hyperparams", "tags"):
            object.__setattr__(self, name, dict(getattr(self, name)))

    @classmethod
    def imitate(cls, learner: str, expert: TabularPolicy, *, n_episodes: int, seed: int,
                budget: int | None = None, tags: Mapping[str, str] | None = None,
                **hyperparams: Any) -> Job:
        """A job that imitates ``expert`` in its own game (its table's digest is in the key)."""
        model = expert.model
        return cls(learner, model.env_id, dict(model.env_kwargs), int(seed), budget,
                   int(n_episodes), table_digest(expert.probs), hyperparams, dict(tags or {}))

    @classmethod
    def reinforce(cls, learner: str, env_id: str, *, seed: int, budget: int | None = None,
                  env_kwargs: Mapping[str, Any] | None = None,
                  tags: Mapping[str, str] | None = None, **hyperparams: Any) -> Job:
        """An RL job (``ppo`` or ``dqn``) on the game's reward."""
        return cls(learner, env_id, dict(env_kwargs or {}), int(seed), budget, 0, None,
                   hyperparams, dict(tags or {}))

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON types."""
        return json.loads(_canonical(dataclasses.asdict(self)))

    @property
    def key(self) -> str:
        """A hash of the whole config: equal keys, equal results."""
        return hashlib.sha256(_canonical(self.to_dict()).encode()).hexdigest()[:20]

    def describe(self) -> str:
        """One line for logs and job lists."""
        tags = " ".join(f"{k}={v}" for k, v in self.tags.items())
        return f"{self.learner} seed={self.seed} {tags}".strip()


def package_versions(names: Sequence[str] = ("subrational-gym", "numpy", "torch", "imitation",
                                              "stable-baselines3", "gymnasium")
                     ) -> dict[str, str]:
    """Python's version and each installed package's (``"not installed"`` where absent)."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_job(job: Job, expert_probs: np.ndarray | None) -> dict[str, Any]:
    """Train and evaluate one job; a pure function of ``job`` and the expert's table.

    Returns:
        The record: ``key``, ``job`` (config), ``train`` (the learner's
        :class:`~subrational_gym.learners.TrainRecord`), ``summary`` (behaviour summary),
        ``tv_mean``/``tv_max`` to the expert (imitation only), ``policy`` (the learned
        table, a nested list), ``seconds``, ``finished_at``, ``worker``, ``versions``,
        ``log`` (what the job printed).
    """
    started = time.perf_counter()
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        game = make_env(job.env_id, **job.env_kwargs)
        model = game.tabular_model()
        record: dict[str, Any] = {"key": job.key, "job": job.to_dict()}
        if job.learner in IMITATION_ALGORITHMS:
            if expert_probs is None or table_digest(expert_probs) != job.expert_digest:
                raise SweepError(f"job {job.describe()} needs the expert table with digest "
                                 f"{job.expert_digest}; pass it in the tables mapping")
            expert = TabularPolicy(model, np.asarray(expert_probs, dtype=np.float64),
                                   name="expert")
            demos = generate_demonstrations(expert, job.env_id, job.n_episodes, seed=job.seed,
                                            env_kwargs=job.env_kwargs)
            result = train(job.learner, demos, job.env_id, env_kwargs=job.env_kwargs,
                           seed=job.seed, budget=job.budget, **job.hyperparams)
            dist = total_variation(model, expert, result.policy)
            record.update(tv_mean=dist.mean, tv_max=dist.max)
        else:
            result = train(job.learner, None, job.env_id, env_kwargs=job.env_kwargs,
                           seed=job.seed, budget=job.budget, **job.hyperparams)
        record.update(train=result.record.to_dict(),
                      summary=behaviour_summary(game, result.policy),
                      policy=result.policy.probs.tolist())
    record.update(seconds=time.perf_counter() - started, worker=f"{platform.node()}:{os.getpid()}",
                  finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  versions=package_versions(), log=log.getvalue())
    return record


class RunStore:
    """One JSON record per finished job, and per-job logs, under ``root``.

    Layout: ``jobs/<key>.json`` (the record, the learned policy inside), ``logs/<key>.log``
    (what the job printed, or its traceback). Records are written atomically (temporary
    file, then rename), so a record either is complete or is not there.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        (self.root / "jobs").mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """Where the record of ``key`` lives."""
        return self.root / "jobs" / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether the job ``key`` finished."""
        return self.path(key).exists()

    def load(self, key: str) -> dict[str, Any]:
        """The record of a finished job."""
        return json.loads(self.path(key).read_text())

    def keys(self) -> list[str]:
        """Keys of every finished job."""
        return sorted(p.stem for p in (self.root / "jobs").glob("*.json"))

    def _atomic(self, path: Path, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def save(self, record: Mapping[str, Any]) -> Path:
        """Write a finished job's record (and its log) atomically."""
        key = record["key"]
        self._atomic(self.root / "logs" / f"{key}.log", str(record.get("log", "")))
        body = {k: v for k, v in record.items() if k not in ("log", "reused")}
        self._atomic(self.path(key), json.dumps(body, default=_jsonable))
        return self.path(key)

    def fail(self, job: Job, error: str) -> None:
        """Write a failed job's traceback to its log (no record: a rerun retries it)."""
        self._atomic(self.root / "logs" / f"{job.key}.log", f"{job.describe()}\n{error}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _run_safely(job: Job, probs: np.ndarray | None) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return run_job(job, probs), None
    except Exception:  # noqa: BLE001 - reported per job, the sweep goes on
        return None, traceback.format_exc()


def _leave_ctrl_c_to_the_driver() -> None:
    """Make a worker ignore Ctrl-C.

    SIGINT reaches the terminal's whole process group; the driver, interrupted, records
    what finished and terminates the workers.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_with_the_driver() -> None:
    """Make a worker exit as soon as the process that started it dies.

    A killed driver (SIGKILL, out of memory) cannot terminate its workers, and a pool's
    workers would otherwise finish their job and then wait for the next one forever. The
    parent's sentinel (a pipe whose other end only the driver holds) becomes readable
    when it dies; a daemon thread waits on it.
    """
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - always set in a pool's worker
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-the-driver", daemon=True).start()


def _start_worker() -> None:
    """Initializer of each local worker process."""
    _leave_ctrl_c_to_the_driver()
    _exit_with_the_driver()


def _main_script() -> str | None:
    """What spawned and forkserver workers import again as they start (None: nothing).

    The main module's name under ``python -m``, else its file; mirrors
    :func:`multiprocessing.spawn.get_preparation_data`.
    """
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:  # python -m: a package's __main__ is not imported again
        return None if name == "__main__" or name.endswith(".__main__") else str(name)
    path = getattr(main, "__file__", None)
    return None if path is None else str(path)


def _refuse_in_a_starting_worker() -> None:
    """Raise if this process is a worker still importing its driver's main script.

    Spawned and forkserver workers run the driver's main script again (as
    ``__mp_main__``) before they take work, with the ``_inheriting`` flag that
    :mod:`multiprocessing` itself checks before starting processes set on the current
    process. A runner built there would start workers of its own and wait for them;
    before this check it hung every worker and the driver with it.

    Raises:
        SweepError: naming the script and the fix (the ``__main__`` guard).
    """
    if not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    script = getattr(sys.modules.get("__mp_main__"), "__file__", None) or "the main script"
    raise SweepError(
        f"a Runner was built while a worker process was starting: workers import "
        f"{script} again as they start, and it builds a Runner at import time, so each "
        f"worker would start a sweep of its own. Put the code that builds the Runner under "
        f'`if __name__ == "__main__":` in {script} (see "Safe importing of main module" in '
        f"the multiprocessing docs)")


def _call_safely(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
                 ) -> tuple[tuple[Any, float] | None, tuple[str, str, str] | None]:
    """``fn(*args, **kwargs)`` and its seconds, or (exception type, message, traceback)."""
    started = time.perf_counter()
    try:
        return (fn(*args, **kwargs), time.perf_counter() - started), None
    except Exception as exc:  # noqa: BLE001 - reported to whoever waits for the result
        return None, (type(exc).__name__, str(exc), traceback.format_exc())


class _Progress:
    """One bar over jobs with finished / failed / running / queued counts."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=done, desc="jobs", disable=not enabled,
                        leave=False)
        self.failed = 0
        self.running = 0
        self.queued = 0

    def update(self, *, finished: int = 0, failed: int = 0,
               started: tuple[int, int] | None = None) -> None:
        """Count finished and failed jobs; ``started`` is (running, queued) now."""
        self.failed += failed
        if started is not None:
            self.running, self.queued = started
        self.bar.update(finished)
        self.bar.set_postfix(failed=self.failed, running=self.running, queued=self.queued)

    def grow(self, n: int) -> None:
        if n:
            self.bar.total = (self.bar.total or 0) + n
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


class Task:
    """The pending result of a function run by :meth:`Runner.call`.

    Attributes:
        name: What the task is, for messages.
        serial: Its number among the runner's tasks.
        done: Whether it finished (or failed).
        seconds: How long the function ran on its worker (None until done, or if it failed).
        exception_type: Name of the exception it raised (None if it did not).
        exception_message: That exception's message.
    """

    def __init__(self, runner: Runner, name: str, serial: int = 0) -> None:
        self._runner = runner
        self.name = name
        self.serial = serial
        self.done = False
        self.seconds: float | None = None
        self.exception_type: str | None = None
        self.exception_message: str | None = None
        self._value: Any = None
        self._traceback: str | None = None

    def _settle(self, value: tuple[Any, float] | None,
                error: tuple[str, str, str] | str | None) -> None:
        if value is not None:
            self._value, self.seconds = value
        elif isinstance(error, tuple):
            self.exception_type, self.exception_message, self._traceback = error
        else:
            self.exception_type, self._traceback = "WorkerDied", str(error)
            self.exception_message = self._traceback
        self.done = True

    def result(self) -> Any:
        """The function's return value (waits for it).

        Raises:
            SweepError: the function raised (its traceback is in the message) or its
                worker died more often than the runner retries.
        """
        self._runner._wait_until(lambda: self.done)
        if self.exception_type is not None:
            raise SweepError(f"{self.name} failed:\n{self._traceback}")
        return self._value


class Runner:
    """Runs a sweep's jobs as they are submitted, on workers kept for the whole sweep.

    :func:`execute` is the one-shot form. A runner lets training start while this
    process goes on with other work (the replication submits each persona's jobs as soon
    as its table exists and tabulates the next persona meanwhile), and runs other pure
    functions (structural fits) on the same workers with :meth:`call`.

    Finished records are saved to ``store`` whenever this process looks at the workers
    (each :meth:`submit`, :meth:`call`, wait, and on leaving the ``with`` block, also
    when leaving it on an exception such as Ctrl-C), so an interrupted sweep keeps every
    job that finished. With ``executor="local"`` and one worker, jobs and calls run in
    this process at submission.

    With ``executor="ray"``, the first Ray task joins the cluster at ``ray_address`` (or
    ``$RAY_ADDRESS``), else starts a local Ray (dashboard off); a Ray this runner started or
    joined is shut down (disconnected, for a cluster it joined) by :meth:`close`, one that
    this process had connected to before is left as it is.

    Example:
        >>> import tempfile
        >>> from subrational_gym import policies
        >>> expert = policies.income_maximiser("Subrational/Marshmallow-v0", temperature=0.5)
        >>> job = Job.imitate("bc", expert, n_episodes=20, seed=0, budget=2)
        >>> with Runner(RunStore(tempfile.mkdtemp()), progress=False) as runner:
        ...     runner.submit([job], {job.expert_digest: expert.probs})
        ...     [record] = runner.records([job])
        >>> record["key"] == job.key
        True

    Args:
        store: Where records are kept; a job whose record exists is not run again.
        executor: ``"local"`` or ``"ray"``.
        workers: Local worker processes (1: in this process). Each trains on one thread.
        ray_address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local cluster).
        retries: How many times a job or call whose worker died is run again.
        progress: Show one progress bar over jobs.
        on_record: Called with each new record as it is saved.

    Raises:
        SweepError: unknown executor or a bad number of workers, or the runner is built
            in a worker process that is importing the main script (a script without
            ``if __name__ == "__main__":``; see the module docstring).
    """

    def __init__(self, store: RunStore, *, executor: str = "local", workers: int = 1,
                 ray_address: str | None = None, retries: int = 2, progress: bool = True,
                 on_record: Callable[[dict[str, Any]], None] | None = None) -> None:
        _refuse_in_a_starting_worker()
        if executor not in EXECUTORS:
            raise SweepError(f"executor must be one of {EXECUTORS}, got {executor!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise SweepError(f"workers must be a positive integer, got {workers!r}")
        self.store = store
        self.executor = executor
        self.workers = workers
        self.ray_address = ray_address
        self.retries = retries
        self.on_record = on_record
        self._jobs: dict[str, Job] = {}
        self._new: set[str] = set()
        self._done: set[str] = set()
        self._failures: dict[str, str] = {}
        # In flight: future (or Ray reference) -> (job or task, function, arguments, pool)
        self._flight: dict[Any, tuple[Job | Task, Callable[..., Any], tuple[Any, ...], Any]] = {}
        self._attempts: dict[str | int, int] = {}
        self._pool: cf.ProcessPoolExecutor | None = None
        # Local pool: work waiting for a free slot, the most in the pool at once (None: no
        # limit beyond the workers), how many are in it, and a lock, since a finished
        # future tops the pool up from the pool's own thread.
        self._waiting: collections.deque[tuple[Job | Task, Callable[..., Any],
                                               tuple[Any, ...]]] = collections.deque()
        self._limit: int | None = None
        self._in_pool = 0
        self._lock = threading.RLock()
        self._closed = False
        self._task_ids = itertools.count()
        self._refs: dict[str, Any] = {}
        self._remote: dict[Callable[..., Any], Any] = {}
        self._slots: int | None = None  # the Ray cluster's CPUs, read once
        self._ray_connected = False  # this runner called ray.init(): close() shuts it down
        self._bar = _Progress(0, 0, progress)

    # ------------------------------------------------------------------ public
    def submit(self, jobs: Sequence[Job], tables: Mapping[str, np.ndarray]) -> None:
        """Start every job of ``jobs`` not yet submitted or recorded (returns at once).

        Raises:
            SweepError: an imitation job whose expert table is not in ``tables`` (checked
                for all jobs before any starts).
        """
        fresh = [job for key, job in {job.key: job for job in jobs}.items()
                 if key not in self._jobs]
        for job in fresh:
            if job.expert_digest is not None and job.expert_digest not in tables:
                raise SweepError(f"no expert table with digest {job.expert_digest} for job "
                                 f"{job.describe()}; tabulate the expert first and pass "
                                 f"tables={{table_digest(probs): probs}}")
        self._bar.grow(len(fresh))
        todo = []
        for job in fresh:
            if self.store.has(job.key):
                self._jobs[job.key] = job
                self._done.add(job.key)
                self._bar.update(finished=1)
            else:
                todo.append(job)
        in_process = self.executor != "ray" and self.workers == 1
        for i, job in enumerate(todo):
            # Registered as it starts: after a Ctrl-C the rest can be submitted again.
            self._jobs[job.key] = job
            self._new.add(job.key)
            if in_process:  # it runs now, in this call: the rest of the list waits
                self._bar.update(started=(1, len(todo) - i - 1))
            self._start(job, _run_safely, (job, tables.get(job.expert_digest or "")))
        self._collect(block=False)
        self._bar.update(started=self._occupancy())

    def call(self, fn: Callable[..., Any], *args: Any, name: str | None = None,
             **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` on a worker; returns at once.

        ``fn`` must be importable by the workers (a module-level function of an installed
        package, or a bound method of a picklable object) and its arguments picklable.
        """
        task = Task(self, name or getattr(fn, "__qualname__", repr(fn)), next(self._task_ids))
        self._start(task, _call_safely, (fn, args, kwargs))
        self._collect(block=False)
        return task

    def records(self, jobs: Sequence[Job]) -> list[dict[str, Any]]:
        """The records of ``jobs`` (submitted before), in order, once all are finished.

        Each record gets ``reused``: True when it was in the store before this runner.

        Raises:
            SweepError: jobs that failed (their tracebacks are in ``store.root / "logs"``;
                the others' records are kept) or were never submitted.
        """
        unique = list({job.key: job for job in jobs}.values())
        missing = [job.describe() for job in unique if job.key not in self._jobs]
        if missing:
            raise SweepError(f"{len(missing)} jobs were never submitted: {missing[:3]}; "
                             "call submit(jobs, tables) first")
        keys = {job.key for job in unique}
        self._wait_until(lambda: keys <= self._done | set(self._failures))
        failed = sorted(keys & set(self._failures))
        if failed:
            first = self._failures[failed[0]].strip().splitlines() or ["unknown error"]
            raise SweepError(f"{len(failed)} of {len(unique)} jobs failed (finished records "
                             f"are kept; rerun to retry them); tracebacks in "
                             f"{self.store.root / 'logs'}: " + ", ".join(failed)
                             + f"; the first ended: {first[-1]}")
        return [{**self.store.load(job.key), "reused": job.key not in self._new}
                for job in unique]

    def close(self, *, cancel: bool = False) -> None:
        """Save what has finished; then wait for the rest, or with ``cancel`` stop it.

        With ``cancel`` (leaving the ``with`` block on an exception, e.g. Ctrl-C) the local
        workers are terminated: their jobs are unfinished and leave no record.
        """
        try:
            self._collect(block=False)
            if not cancel:
                self._wait_until(lambda: not self._flight and not self._waiting)
        except BaseException:
            cancel = True  # e.g. Ctrl-C during the final wait: stop the workers too
            raise
        finally:
            with self._lock:
                self._closed = True
                self._waiting.clear()
                pool, self._pool = self._pool, None
            if pool is not None:
                if cancel:
                    # Private attribute of CPython's ProcessPoolExecutor (3.11; 3.14 adds
                    # terminate_workers()): without this the workers finish their current
                    # job, orphaned, after this process has gone.
                    for process in list((pool._processes or {}).values()):
                        process.terminate()
                pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._close_ray(cancel=cancel)
            self._bar.close()

    def limit(self, n: int | None) -> None:
        """Run at most ``n`` jobs and calls at once on the local pool (None: one per worker).

        The replication keeps one core for the embedded model while it tabulates (a third
        process on two cores slowed the model and the training alike). No effect in this
        process (one worker) or on Ray, whose scheduler owns the cluster's CPUs.
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise SweepError(f"limit must be a positive integer or None, got {n!r}")
        self._limit = n
        self._pump()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(cancel=exc_type is not None)

    # ----------------------------------------------------------------- workers
    def _start(self, item: Job | Task, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if self.executor == "ray":
            self._start_ray(item, fn, args)
        elif self.workers == 1:
            self._settle(item, *fn(*args))
        else:
            with self._lock:
                self._waiting.append((item, fn, args))
            self._pump()
            self._bar.update(started=self._occupancy())

    def _pump(self) -> None:
        """Move waiting work into the local pool while it has room."""
        rebuilt = False
        with self._lock:
            while (not self._closed and self._waiting
                   and (self._limit is None or self._in_pool < self._limit)):
                if self._pool is None:
                    # forkserver: workers fork from a clean server process that imported
                    # the learners once (fast starts), not from this one, which may hold
                    # threads (the embedded model's server) that a fork would copy mid-state.
                    context = multiprocessing.get_context("forkserver")
                    context.set_forkserver_preload([__name__, "torch._dynamo"])
                    self._pool = cf.ProcessPoolExecutor(max_workers=self.workers,
                                                        mp_context=context,
                                                        initializer=_start_worker)
                item, fn, args = self._waiting[0]
                try:
                    future = self._pool.submit(fn, *args)
                except cf.process.BrokenProcessPool:
                    # Broken by a dead worker: a fresh pool takes the rest (once per call);
                    # what was in the broken one comes back through _collect.
                    broken, self._pool = self._pool, None
                    broken.shutdown(wait=False, cancel_futures=True)
                    if rebuilt:
                        return
                    rebuilt = True
                    continue
                except RuntimeError:  # shut down (the interpreter is exiting): stop here
                    return
                self._waiting.popleft()
                self._in_pool += 1
                self._flight[future] = (item, fn, args, self._pool)
                future.add_done_callback(self._left_pool)

    def _left_pool(self, _: cf.Future[Any]) -> None:
        with self._lock:
            self._in_pool -= 1
        self._pump()

    def _ray(self) -> Any:
        """The ``ray`` module, connected: Ray is joined or started here, once, when needed.

        Every Ray call of the runner goes through this, so none runs before ``ray.init``
        (the sweep's first ``submit`` asked Ray for its CPUs before any task had started
        it, and stopped with "Ray has not been started yet").
        """
        try:
            import ray
        except ImportError as err:  # pragma: no cover - depends on the installed extras
            raise SweepError("executor 'ray' needs Ray: pip install "
                             "'subrational-gym[ray]'") from err
        if not ray.is_initialized():
            address = self.ray_address or os.environ.get("RAY_ADDRESS") or None
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
            except Exception as err:  # noqa: BLE001 - Ray raises many types here
                where = (f"join the Ray cluster at {address!r}" if address
                         else "start a local Ray")
                raise SweepError(f"could not {where}: {type(err).__name__}: {err}; start a "
                                 f"cluster with `ray start --head` and pass its address "
                                 f"(--ray-address or $RAY_ADDRESS), or give none for a "
                                 f"local Ray; a cluster with token authentication needs "
                                 f"RAY_AUTH_MODE=token here too") from err
            self._ray_connected = True
        return ray

    def _close_ray(self, *, cancel: bool) -> None:
        """Cancel unfinished Ray tasks (with ``cancel``); shut down a Ray this runner began."""
        if self.executor != "ray" or not (self._ray_connected or self._flight):
            return
        import ray

        if cancel and ray.is_initialized():
            for ref in list(self._flight):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
        if self._ray_connected:
            self._flight.clear()
            self._refs.clear()
            self._remote.clear()
            ray.shutdown()
            self._ray_connected = False

    def _start_ray(self, item: Job | Task, fn: Callable[..., Any], args: tuple[Any, ...]
                   ) -> None:
        ray = self._ray()
        if isinstance(item, Job) and item.expert_digest is not None:
            # Each table goes into the object store once, however many jobs learn from it.
            if item.expert_digest not in self._refs:
                self._refs[item.expert_digest] = ray.put(np.asarray(args[1]))
            args = (item, self._refs[item.expert_digest])
        if fn not in self._remote:
            self._remote[fn] = ray.remote(num_cpus=1, max_retries=self.retries)(fn)
        try:
            ref = self._remote[fn].remote(*args)
        except Exception:  # noqa: BLE001 - e.g. an argument Ray cannot serialise
            error = traceback.format_exc()
            self._settle(item, None, ("CouldNotRun", error.strip().splitlines()[-1], error)
                         if isinstance(item, Task) else error)
            return
        self._flight[ref] = (item, fn, args, None)
        self._bar.update(started=self._occupancy())

    def _occupancy(self) -> tuple[int, int]:
        """Jobs (running, queued) now: unfinished ones, at most one running per slot.

        The local pool takes every submitted job at once and Ray queues what its CPUs
        cannot yet take, so started-but-unfinished is not the same as running; jobs
        still held back by :meth:`limit` (not yet in the pool) are queued too.
        """
        with self._lock:
            started = sum(isinstance(item, Job) for item, *_ in self._flight.values())
            held = sum(isinstance(item, Job) for item, *_ in self._waiting)
            slots = self.workers if self._limit is None else min(self.workers, self._limit)
        if self.executor == "ray" and started:  # nothing started: Ray may not be up yet
            if self._slots is None:
                self._slots = max(1, int(self._ray().cluster_resources().get("CPU", 1)))
            slots = self._slots
        running = min(started, slots)
        return running, started - running + held

    def _collect(self, *, block: bool) -> None:
        """Settle what has finished; with ``block``, wait for at least one first."""
        if not self._flight:
            return
        if self.executor == "ray":
            ray = self._ray()
            refs = list(self._flight)
            done, _ = ray.wait(refs, num_returns=1 if block else len(refs),
                               timeout=None if block else 0)
            for ref in done:
                item, *_ = self._flight.pop(ref)
                try:
                    value, error = ray.get(ref)
                except ray.exceptions.RayError as err:  # died more than `retries` times
                    value, error = None, f"{type(err).__name__}: {err}"
                self._settle(item, value, error)
            return
        with self._lock:
            futures = list(self._flight)
        done, _ = cf.wait(futures, timeout=None if block else 0,
                          return_when=cf.FIRST_COMPLETED)
        for future in done:
            with self._lock:
                item, fn, args, pool = self._flight.pop(future)
            try:
                value, error = future.result()
            except (cf.process.BrokenProcessPool, cf.CancelledError):
                # A worker died (killed, out of memory): the whole pool is broken. Build a
                # new one and run the item again, up to `retries` times.
                key = item.key if isinstance(item, Job) else item.serial
                attempts = self._attempts[key] = self._attempts.get(key, 0) + 1
                if attempts <= self.retries:
                    with self._lock:
                        if pool is self._pool and self._pool is not None:
                            broken, self._pool = self._pool, None
                            broken.shutdown(wait=False, cancel_futures=True)
                    self._start(item, fn, args)
                    continue
                value, error = None, f"its worker process died {attempts} times"
                if _main_script() is not None:
                    error += (f"; workers import {_main_script()} again as they start: if "
                              f"they died there, their error is on this process's stderr "
                              f"(a script that builds a Runner needs "
                              f'`if __name__ == "__main__":`)')
            except Exception:  # noqa: BLE001 - e.g. an argument that cannot be pickled
                value, error = None, traceback.format_exc()
                if isinstance(item, Task):
                    error = ("CouldNotRun", error.strip().splitlines()[-1], error)
            self._settle(item, value, error)
        self._bar.update(started=self._occupancy())

    def _settle(self, item: Job | Task, value: Any, error: str | None) -> None:
        if isinstance(item, Task):
            item._settle(value, error)
            return
        if value is None:
            self._failures[item.key] = error or "unknown error"
            self.store.fail(item, self._failures[item.key])
            self._bar.update(failed=1)
            return
        self.store.save(value)
        self._done.add(item.key)
        if self.on_record is not None:
            self.on_record(value)
        self._bar.update(finished=1)

    def _wait_until(self, condition: Callable[[], bool]) -> None:
        self._collect(block=False)
        while not condition():
            with self._lock:
                idle, waiting = not self._flight, bool(self._waiting)
            if idle:
                if not waiting:
                    raise SweepError("waiting for work that was never started")
                self._pump()
            self._collect(block=True)


def execute(
    jobs: Sequence[Job],
    tables: Mapping[str, np.ndarray],
    store: RunStore,
    *,
    executor: str = "local",
    workers: int = 1,
    ray_address: str | None = None,
    retries: int = 2,
    progress: bool = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished job of ``jobs``; return all their records in order.

    The one-shot form of :class:`Runner` (same arguments).

    Args:
        jobs: The jobs (duplicates run once).
        tables: Expert tables by :func:`table_digest` (what imitation jobs learn from).
        store: Where records are kept; a job whose record exists is not run again.
        executor: ``"local"`` or ``"ray"``.
        workers: Local worker processes (1: in this process). Each trains on one thread.
        ray_address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local cluster).
        retries: How many times a job whose worker died is run again.
        progress: Show one progress bar over jobs.
        on_record: Called with each new record as it is saved.

    Raises:
        SweepError: Unknown executor, a missing expert table, or jobs that failed (their
            tracebacks are in ``store.root / "logs"``; the others' records are kept).
    """
    with Runner(store, executor=executor, workers=workers, ray_address=ray_address,
                retries=retries, progress=progress, on_record=on_record) as runner:
        runner.submit(jobs, tables)
        return runner.records(jobs)


def comparable(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the fields that differ between runs of the same job."""
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    if "train" in out:
        out["train"] = {k: v for k, v in out["train"].items() if k not in VOLATILE}
    return out
