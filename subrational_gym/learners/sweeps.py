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
``executor="ray"`` (tasks with ``max_retries``; ``ray.init(address)`` joins a cluster, or
starts a local one when no address is given). Scheduling is the pool's or Ray's own.

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

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import multiprocessing
import os
import platform
import tempfile
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

__all__ = ["EXECUTORS", "Job", "RunStore", "SweepError", "execute", "run_job", "table_digest"]

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


class _Progress:
    """One bar over jobs with finished / failed / running counts."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=done, desc="jobs", disable=not enabled,
                        leave=False)
        self.failed = 0
        self.running = 0

    def update(self, *, finished: int = 0, failed: int = 0, running: int | None = None) -> None:
        self.failed += failed
        if running is not None:
            self.running = running
        self.bar.update(finished)
        self.bar.set_postfix(failed=self.failed, running=self.running)

    def close(self) -> None:
        self.bar.close()


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
    unique = _checked_jobs(jobs, tables, executor, workers)
    todo = [job for job in unique if not store.has(job.key)]
    bar = _Progress(len(unique), len(unique) - len(todo), progress)
    failures: dict[str, str] = {}

    def finished(job: Job, record: dict[str, Any] | None, error: str | None) -> None:
        if record is None:
            failures[job.key] = error or "unknown error"
            store.fail(job, failures[job.key])
            bar.update(failed=1)
            return
        store.save(record)
        if on_record is not None:
            on_record(record)
        bar.update(finished=1)

    try:
        if todo and executor == "ray":
            _execute_ray(todo, tables, finished, bar, ray_address, retries)
        elif todo and workers == 1:
            for job in todo:
                bar.update(running=1)
                finished(job, *_run_safely(job, tables.get(job.expert_digest or "")))
        elif todo:
            _execute_pool(todo, tables, finished, bar, workers, retries)
    finally:
        bar.close()
    if failures:
        raise SweepError(f"{len(failures)} of {len(unique)} jobs failed (finished records are "
                         f"kept; rerun to retry them); tracebacks in {store.root / 'logs'}: "
                         + ", ".join(sorted(failures)))
    new = {job.key for job in todo}
    return [{**store.load(job.key), "reused": job.key not in new} for job in unique]


def _checked_jobs(jobs: Sequence[Job], tables: Mapping[str, np.ndarray], executor: str,
                  workers: int) -> list[Job]:
    """The distinct jobs of ``jobs``, after checking the arguments of :func:`execute`."""
    if executor not in EXECUTORS:
        raise SweepError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepError(f"workers must be a positive integer, got {workers!r}")
    unique = list({job.key: job for job in jobs}.values())
    for job in unique:
        if job.expert_digest is not None and job.expert_digest not in tables:
            raise SweepError(f"no expert table with digest {job.expert_digest} for job "
                             f"{job.describe()}; tabulate the expert first and pass "
                             f"tables={{table_digest(probs): probs}}")
    return unique


def _execute_pool(todo: list[Job], tables: Mapping[str, np.ndarray],
                  finished: Callable[..., None], bar: _Progress, workers: int,
                  retries: int) -> None:
    """A process pool; a pool broken by a dead child is rebuilt for the unfinished jobs."""
    pending = list(todo)
    attempts = {job.key: 0 for job in todo}
    # forkserver: workers fork from a clean server process that imported the learners
    # once (fast starts), not from this one, which may hold threads (the embedded
    # model's server) that a plain fork would copy mid-state.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    while pending:
        broken: list[Job] = []
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                    mp_context=context) as pool:
            futures = {pool.submit(_run_safely, job, tables.get(job.expert_digest or "")): job
                       for job in pending}
            bar.update(running=len(futures))
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    record, error = future.result()
                except cf.process.BrokenProcessPool:
                    broken.append(job)
                    continue
                finished(job, record, error)
        pending = []
        for job in broken:
            attempts[job.key] += 1
            if attempts[job.key] > retries:
                finished(job, None, f"its worker process died {attempts[job.key]} times")
            else:
                pending.append(job)
    bar.update(running=0)


def _execute_ray(todo: list[Job], tables: Mapping[str, np.ndarray],
                 finished: Callable[..., None], bar: _Progress, address: str | None,
                 retries: int) -> None:
    """Ray tasks (one CPU each); Ray reruns a task whose worker died, ``retries`` times."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the installed extras
        raise SweepError("executor 'ray' needs Ray: pip install 'subrational-gym[ray]'") from err
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    refs = {digest: ray.put(np.asarray(probs)) for digest, probs in tables.items()
            if any(job.expert_digest == digest for job in todo)}
    task = ray.remote(num_cpus=1, max_retries=retries)(_run_safely)
    futures = {task.remote(job, refs.get(job.expert_digest or "")): job for job in todo}
    pending = list(futures)
    while pending:
        bar.update(running=len(pending))
        done, pending = ray.wait(pending, num_returns=1)
        job = futures[done[0]]
        try:
            record, error = ray.get(done[0])
        except ray.exceptions.RayError as err:  # the worker died more than `retries` times
            record, error = None, f"{type(err).__name__}: {err}"
        finished(job, record, error)
    bar.update(running=0)


def comparable(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the fields that differ between runs of the same job."""
    out = {k: v for k, v in record.items() if k not in VOLATILE}
    if "train" in out:
        out["train"] = {k: v for k, v in out["train"].items() if k not in VOLATILE}
    return out
