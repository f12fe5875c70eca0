"""Sweeps of training jobs: job records, run by the torch-free runner.

A :class:`Job` trains one learner with one seed, on one expert's action table (an LLM
persona tabulated beforehand, or any :class:`~subrational_gym.policies.TabularPolicy`),
or an RL baseline on the game's own reward, and evaluates the result exactly on the
tabular model. :func:`run_job` is a pure function of the job and the expert's table, so
the same job gives the same record (to the last digit, timings aside) in this process,
in a local worker process or on a Ray worker. Workers never call a model: the tables
travel with the jobs (pickled to a process pool, ``ray.put`` once into Ray's object
store).

The scheduling is :mod:`subrational_gym.runner`'s (which imports no torch): this module's
:class:`Runner` gives it each job as a :class:`~subrational_gym.runner.Run` keyed by a hash
of the job's config (which includes a digest of the expert's table), so a
:class:`RunStore` keeps one record per finished job and a rerun skips every job whose
record exists. :func:`execute` runs the unfinished jobs of a list with
``executor="local"`` (in this process with one worker, else a process pool whose broken
pool, e.g. a killed child, is rebuilt and its unfinished jobs resubmitted) or
``executor="ray"`` (tasks with ``max_retries``; at the first Ray task the runner joins the
cluster at its ``ray_address`` or ``$RAY_ADDRESS``, or starts a local Ray, which it shuts
down when closed).

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

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from subrational_gym import make_env
from subrational_gym.evaluation import behaviour_summary, total_variation
from subrational_gym.learners.demonstrations import generate_demonstrations
from subrational_gym.learners.errors import SweepError
from subrational_gym.learners.training import (
    ALGORITHMS,
    IMITATION_ALGORITHMS,
    RL_ALGORITHMS,
    train,
)
from subrational_gym.policies import TabularPolicy
from subrational_gym.runner import EXECUTORS, Call, Run, RunStore, Shared, Task
from subrational_gym.runner import Runner as TaskRunner  # the generic one this wraps

__all__ = ["EXECUTORS", "Job", "RunStore", "Runner", "SweepError", "Task", "comparable",
           "execute", "package_versions", "run_job", "table_digest"]

#: Fields of a record that differ from run to run of the same job.
VOLATILE = ("train_seconds", "seconds", "finished_at", "worker", "reused", "log")

#: What the local workers import once, before they fork: the learners (torch's compiler
#: module too, which torch otherwise imports at the first training step in each worker).
PRELOAD = (__name__, "torch._dynamo")

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


class Runner:
    """Runs a sweep's jobs as they are submitted, on workers kept for the whole sweep.

    :func:`execute` is the one-shot form. A runner lets training start while this
    process goes on with other work (the replication submits each persona's jobs as soon
    as its table exists and tabulates the next persona meanwhile), and runs other pure
    functions (structural fits) on the same workers with :meth:`call`. The scheduling,
    the executors, the store and the progress are :class:`subrational_gym.runner.Runner`'s
    (:attr:`runner`); this class turns jobs and expert tables into its runs.

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
        progress: Show progress over jobs (a bar on a terminal, else plain lines).
        on_record: Called with each new record as it is saved.

    Raises:
        SweepError: unknown executor or a bad number of workers, or the runner is built
            in a worker process that is importing the main script (a script without
            ``if __name__ == "__main__":``; see the module docstring).
    """

    def __init__(self, store: RunStore, *, executor: str = "local", workers: int = 1,
                 ray_address: str | None = None, retries: int = 2, progress: bool = True,
                 on_record: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.store = store
        self.runner = TaskRunner(store, executor=executor, workers=workers,
                                 ray_address=ray_address, retries=retries, progress=progress,
                                 on_record=on_record, preload=PRELOAD, error=SweepError,
                                 label="jobs")

    @property
    def on_record(self) -> Callable[[dict[str, Any]], None] | None:
        """Called with each new record as it is saved (settable)."""
        return self.runner.on_record

    @on_record.setter
    def on_record(self, callback: Callable[[dict[str, Any]], None] | None) -> None:
        self.runner.on_record = callback

    def submit(self, jobs: Sequence[Job], tables: Mapping[str, np.ndarray]) -> None:
        """Start every job of ``jobs`` not yet submitted or recorded (returns at once).

        Raises:
            SweepError: an imitation job whose expert table is not in ``tables`` (checked
                for all jobs before any starts).
        """
        fresh = [job for key, job in {job.key: job for job in jobs}.items()
                 if not self.runner.submitted(key)]
        for job in fresh:
            if job.expert_digest is not None and job.expert_digest not in tables:
                raise SweepError(f"no expert table with digest {job.expert_digest} for job "
                                 f"{job.describe()}; tabulate the expert first and pass "
                                 f"tables={{table_digest(probs): probs}}")
        self.runner.submit([_as_run(job, tables) for job in fresh])

    def call(self, fn: Callable[..., Any], *args: Any, name: str | None = None,
             **kwargs: Any) -> Task:
        """Run ``fn(*args, **kwargs)`` on a worker; returns at once.

        ``fn`` must be importable by the workers (a module-level function of an installed
        package, or a bound method of a picklable object) and its arguments picklable.
        """
        return self.runner.call(fn, *args, name=name, **kwargs)

    def records(self, jobs: Sequence[Job]) -> list[dict[str, Any]]:
        """The records of ``jobs`` (submitted before), in order, once all are finished.

        Each record gets ``reused``: True when it was in the store before this runner.

        Raises:
            SweepError: jobs that failed (their tracebacks are in ``store.root / "logs"``;
                the others' records are kept) or were never submitted.
        """
        unique = list({job.key: job for job in jobs}.values())
        missing = [job.describe() for job in unique if not self.runner.submitted(job.key)]
        if missing:
            raise SweepError(f"{len(missing)} jobs were never submitted: {missing[:3]}; "
                             "call submit(jobs, tables) first")
        return self.runner.records([job.key for job in unique])

    def limit(self, n: int | None) -> None:
        """Run at most ``n`` jobs and calls at once on the local pool (None: one per worker).

        The replication keeps one core for the embedded model while it tabulates (a third
        process on two cores slowed the model and the training alike). No effect in this
        process (one worker) or on Ray, whose scheduler owns the cluster's CPUs.
        """
        self.runner.limit(n)

    def close(self, *, cancel: bool = False) -> None:
        """Save what has finished; then wait for the rest, or with ``cancel`` stop it."""
        self.runner.close(cancel=cancel)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(cancel=exc_type is not None)


def _as_run(job: Job, tables: Mapping[str, np.ndarray]) -> Run:
    """``job`` as the runner's run: :func:`run_job` on the job and its shared expert table."""
    digest = job.expert_digest
    table = None if digest is None else Shared(key=digest, value=np.asarray(tables[digest]))
    return Run(key=job.key, call=Call(fn=run_job, args=(job, table)),
               description=job.describe())


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
