"""Sweeps: the same records in and out of process, resumable, robust to a dead worker.

The same records on Ray: tests/learners/test_sweep_cli.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from subrational_gym import policies
from subrational_gym.learners.sweeps import (
    Job,
    Runner,
    RunStore,
    SweepError,
    comparable,
    execute,
    table_digest,
)

GAME = "Subrational/Ultimatum-v0"


def _grid(learners=("bc", "distribution_matching"), seeds=(0, 1), budget=30):
    """2 personas x 2 learners x 2 seeds on one game, experts known in closed form."""
    experts = {"fairness": policies.inequity_averse_responder(GAME, temperature=0.5),
               "income": policies.income_maximiser(GAME, temperature=0.5)}
    jobs = [Job.imitate(alg, expert, n_episodes=40, seed=seed, budget=budget,
                        tags={"persona": persona})
            for persona, expert in experts.items() for alg in learners for seed in seeds]
    return jobs, {table_digest(e.probs): e.probs for e in experts.values()}


def test_a_finished_sweep_runs_nothing_again(tmp_path):
    jobs, tables = _grid(learners=("bc",), seeds=(0,))
    store = RunStore(tmp_path)
    first = execute(jobs, tables, store, progress=False)
    stamps = {k: store.path(k).stat().st_mtime_ns for k in store.keys()}
    again = execute(jobs + jobs, tables, store, progress=False)  # duplicates run once
    assert [r["reused"] for r in first] == [False, False]
    assert [r["reused"] for r in again] == [True, True]
    assert {k: store.path(k).stat().st_mtime_ns for k in store.keys()} == stamps
    # A half-written temporary file is not a record.
    (tmp_path / "jobs" / ".x.json.123.tmp").write_text("{")
    assert store.keys() == sorted(stamps)


def test_a_pool_with_a_killed_worker_gives_the_in_process_records(tmp_path):
    """Two worker processes, one killed mid-job: the pool is rebuilt, every record is
    written once, and the records equal the in-process ones."""
    import multiprocessing

    jobs, tables = _grid(learners=("distribution_matching",), seeds=(0,), budget=1500)
    here = execute(jobs, tables, RunStore(tmp_path / "here"), progress=False)
    store = RunStore(tmp_path / "pool")
    killed = []

    def kill_one_child():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            children = multiprocessing.active_children()
            # Kill once the workers have started (and imported torch) and no job is done.
            if len(children) == 2 and not store.keys():
                time.sleep(0.3)
                os.kill(children[0].pid, signal.SIGKILL)
                killed.append(children[0].pid)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_one_child)
    killer.start()
    pooled = execute(jobs, tables, store, workers=2, progress=False)
    killer.join()
    assert killed, "no worker was killed: the test did not exercise the retry"
    assert len(pooled) == len(store.keys()) == 2
    assert sorted(r["key"] for r in pooled) == store.keys()
    assert all(r["worker"].split(":")[1] != str(os.getpid()) for r in pooled)
    assert [comparable(r) for r in here] == [comparable(r) for r in pooled]
    # Different experts give different policies: the comparison can fail.
    assert here[0]["policy"] != here[1]["policy"]


def test_failures_are_logged_kept_apart_and_retried_on_rerun(tmp_path):
    jobs, tables = _grid(learners=("bc",), seeds=(0,))
    bad = Job.imitate("bc", policies.income_maximiser(GAME, temperature=0.5), n_episodes=10,
                      seed=0, budget=2, learning_rate=-1.0)  # refused by the optimiser
    tables[bad.expert_digest] = policies.income_maximiser(GAME, temperature=0.5).probs
    store = RunStore(tmp_path)
    with pytest.raises(SweepError, match="1 of 3 jobs failed"):
        execute([*jobs, bad], tables, store, progress=False)
    assert len(store.keys()) == 2 and not store.has(bad.key)
    assert "Traceback" in (tmp_path / "logs" / f"{bad.key}.log").read_text()
    with pytest.raises(SweepError, match="no expert table with digest"):
        execute(jobs, {}, store, progress=False)
    with pytest.raises(SweepError, match="executor must be one of"):
        execute(jobs, tables, store, executor="slurm", progress=False)
    with pytest.raises(SweepError, match="needs an expert_digest"):
        Job("bc", GAME)


def test_a_runner_trains_while_this_process_works_and_runs_functions(tmp_path):
    """Jobs submitted in batches to two workers give the in-process records; functions run
    on the same workers return their values or raise with the worker's traceback."""
    import math

    jobs, tables = _grid(learners=("bc",), seeds=(0, 1), budget=2)
    here = execute(jobs, tables, RunStore(tmp_path / "here"), progress=False)
    with Runner(RunStore(tmp_path / "pool"), workers=2, progress=False) as runner:
        runner.submit(jobs[:2], tables)
        total = runner.call(math.fsum, [0.1] * 10)
        broken = runner.call(math.sqrt, -1.0, name="a square root")
        unpicklable = runner.call(math.fsum, threading.Lock(), name="a lock's sum")
        runner.submit(jobs, tables)  # the first two again: not run twice
        with pytest.raises(SweepError, match="never submitted"):
            runner.records([Job.reinforce("ppo", GAME, seed=0)])
        pooled = runner.records(jobs)
        assert total.result() == 1.0 and total.seconds is not None
        with pytest.raises(SweepError, match="(?s)a square root failed.*ValueError: math domain"):
            broken.result()
        assert broken.exception_type == "ValueError"
        with pytest.raises(SweepError, match="(?s)a lock's sum failed.*pickle"):
            unpicklable.result()
    assert [comparable(r) for r in here] == [comparable(r) for r in pooled]
    assert not any(r["reused"] for r in pooled)


def test_an_interrupted_runner_keeps_the_finished_jobs(tmp_path):
    """Ctrl-C part-way: the jobs that finished are recorded (a rerun reuses them), the one
    still running is stopped and leaves no record."""
    jobs, tables = _grid(learners=("bc",), seeds=(0,), budget=2)
    slow = Job.imitate("distribution_matching", policies.income_maximiser(GAME, temperature=0.5),
                       n_episodes=40, seed=0, budget=100_000)
    tables[slow.expert_digest] = policies.income_maximiser(GAME, temperature=0.5).probs
    store = RunStore(tmp_path)
    with pytest.raises(KeyboardInterrupt), Runner(store, workers=2, progress=False) as runner:
        runner.submit(jobs, tables)
        runner.records(jobs)
        runner.submit([slow], tables)
        time.sleep(1.0)  # the slow job is running
        raise KeyboardInterrupt
    assert store.keys() == sorted(j.key for j in jobs)
    # The workers were stopped, not left to finish the slow job (minutes) orphaned.
    import multiprocessing

    deadline = time.time() + 10
    while multiprocessing.active_children() and time.time() < deadline:
        time.sleep(0.1)
    assert not multiprocessing.active_children()
    rerun = execute(jobs, tables, store, progress=False)
    assert all(r["reused"] for r in rerun)


def _interval(seconds: float) -> tuple[float, float]:
    """When a worker ran this (a function the workers import from this module)."""
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def _overlaps(intervals) -> bool:
    spans = sorted(intervals)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


def test_a_limit_keeps_work_off_a_reserved_core(tmp_path):
    """limit(1) on two workers runs one thing at a time (the replication keeps a core for
    the model while it tabulates); without it, two run together."""
    with Runner(RunStore(tmp_path), workers=2, progress=False) as runner:
        runner.call(_interval, 0.0).result()  # the workers are up
        runner.limit(1)
        one = [runner.call(_interval, 0.4) for _ in range(3)]
        one = [t.result() for t in one]
        runner.limit(None)
        two = [runner.call(_interval, 0.4) for _ in range(4)]
        two = [t.result() for t in two]
        with pytest.raises(SweepError, match="limit must be a positive integer"):
            runner.limit(0)
    assert not _overlaps(one)
    assert _overlaps(two)


def _counts(runner: Runner) -> tuple[int, int]:
    """What the progress says: (running, queued)."""
    return runner.runner.progress.running, runner.runner.progress.queued


def test_the_bar_counts_the_job_running_in_process(tmp_path):
    """One worker runs each job inside submit(): the bar says one running and the rest of
    the list queued while it does (it said nothing running at all before), then none."""
    jobs, tables = _grid(learners=("bc",))  # 2 personas x 2 seeds
    seen = []
    runner = Runner(RunStore(tmp_path), workers=1, progress=False,
                    on_record=lambda _: seen.append(_counts(runner)))
    with runner:
        runner.submit(jobs, tables)
        assert seen == [(1, 3), (1, 2), (1, 1), (1, 0)]
        assert _counts(runner) == (0, 0)


def test_jobs_not_started_before_a_ctrl_c_can_be_submitted_again(tmp_path):
    """One worker, Ctrl-C as the first record is saved: the other three never started, so
    submitting the list again runs them (and not the saved one)."""
    jobs, tables = _grid(learners=("bc",))  # 2 personas x 2 seeds

    def ctrl_c(_):
        raise KeyboardInterrupt

    runner = Runner(RunStore(tmp_path), workers=1, progress=False, on_record=ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        runner.submit(jobs, tables)
    assert len(RunStore(tmp_path).keys()) == 1
    runner.on_record = None
    runner.submit(jobs, tables)
    assert [r["reused"] for r in runner.records(jobs)] == [False] * 4
    runner.close()
    assert len(RunStore(tmp_path).keys()) == 4


def _four_long_jobs():
    """An expert and four jobs learning from it that take far longer than a test."""
    expert = policies.income_maximiser(GAME, temperature=0.5)
    return expert, [Job.imitate("distribution_matching", expert, n_episodes=40, seed=seed,
                                budget=100_000) for seed in range(4)]


def test_the_bar_counts_as_running_only_what_the_workers_can_hold(tmp_path):
    """Four long jobs on two workers: two running and two queued, not four running (the
    pool takes every submitted job at once); limit(1) makes it one and three."""
    expert, slow = _four_long_jobs()
    with pytest.raises(KeyboardInterrupt), \
            Runner(RunStore(tmp_path), workers=2, progress=False) as runner:
        runner.submit(slow, {slow[0].expert_digest: expert.probs})
        assert _counts(runner) == (2, 2)
        runner.limit(1)
        assert _counts(runner) == (1, 3)
        raise KeyboardInterrupt  # stop the workers: no job finishes
    assert RunStore(tmp_path).keys() == []


def test_jobs_held_back_by_the_limit_are_counted_as_queued(tmp_path):
    """Under limit(1) before submitting, three of four jobs wait outside the pool: the
    bar says one running and three queued (they were counted nowhere before)."""
    expert, slow = _four_long_jobs()
    with pytest.raises(KeyboardInterrupt), \
            Runner(RunStore(tmp_path), workers=2, progress=False) as runner:
        runner.limit(1)
        runner.submit(slow, {slow[0].expert_digest: expert.probs})
        assert len(runner.runner.executor.held()) == 3
        assert _counts(runner) == (1, 3)
        raise KeyboardInterrupt  # stop the workers: no job finishes
    assert RunStore(tmp_path).keys() == []


def _documented_runner_block() -> str:
    """The Python block of docs/runner.md that builds a Runner (it was the README's)."""
    import re
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "runner.md").read_text()
    [block] = [b for b in re.findall(r"```python\n(.*?)```", page, re.S)
               if "Runner(RunStore(" in b]
    return block


def _script_env() -> dict[str, str]:
    """The environment of a user's script: this checkout's packages, one thread each."""
    from pathlib import Path

    root = str(Path(__file__).parents[2])
    path = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}


def _run_script(path, cwd, timeout=300):
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=_script_env())


def _without_the_main_guard(block: str) -> str:
    """``block`` with its ``if __name__ == "__main__":`` line removed and its body dedented."""
    head, body = block.split('if __name__ == "__main__":\n')
    return head + "".join(line.removeprefix("    ") for line in body.splitlines(True))


@pytest.mark.slow
def test_the_documented_runner_example_saved_without_a_main_guard_fails_fast(tmp_path):
    """Saved as a script and run without its ``__main__`` guard, the documented example (as
    it read before the guard): the forkserver workers import the script again and build a
    Runner as they start. It used to hang for ever at 0% CPU; now each worker refuses with
    the fix in its message, and the driver stops with an error that names it, within
    seconds (timeout: a hang)."""
    script = tmp_path / "my_sweep.py"
    script.write_text(_without_the_main_guard(_documented_runner_block()))
    assert "__main__" not in script.read_text()
    started = time.time()
    out = _run_script(script, tmp_path)
    assert out.returncode != 0
    assert time.time() - started < 240
    assert "a Runner was built while a worker process was starting" in out.stderr
    assert f'`if __name__ == "__main__":` in {script}' in out.stderr
    assert "3 of 3 jobs failed" in out.stderr.splitlines()[-1]
    assert 'needs `if __name__ == "__main__":`' in out.stderr.splitlines()[-1]


@pytest.mark.slow
def test_the_documented_runner_example_saved_as_a_script_runs(tmp_path):
    """The Runner example of docs/runner.md, verbatim (under its ``__main__`` guard), saved
    as a script in a fresh folder and run as a reader runs it: it prints three distances
    and a family and records the three jobs. (It also ran as ``python -c BLOCK``, a
    second run of the same code on the same path: the workers do not re-import a ``-c``
    main, so the script is the stricter of the two.)"""
    script = tmp_path / "my_sweep.py"
    script.write_text(_documented_runner_block())
    out = _run_script(script, tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    tvs, family = out.stdout.strip().splitlines()[-1].rsplit("] ", 1)
    assert len(tvs.strip("[").split(",")) == 3 and family
    assert len(RunStore(tmp_path / "results" / "my-sweep").keys()) == 3


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_local_workers_exit_when_the_driver_is_killed(tmp_path):
    """SIGKILL the driver while its two workers each run a ten-minute call: the workers
    exit within seconds (they used to run on, orphaned, and then wait for work for ever)."""
    import subprocess
    import sys

    script = tmp_path / "driver.py"
    script.write_text(
        "import multiprocessing, sys, time\n"
        "from subrational_gym.learners.sweeps import Runner, RunStore\n"
        "if __name__ == '__main__':\n"
        "    with Runner(RunStore(sys.argv[1]), workers=2, progress=False) as runner:\n"
        "        tasks = [runner.call(time.sleep, 600) for _ in range(2)]\n"
        "        print(*[p.pid for p in multiprocessing.active_children()], flush=True)\n"
        "        tasks[0].result()\n")
    driver = subprocess.Popen([sys.executable, str(script), str(tmp_path / "store")],
                              stdout=subprocess.PIPE, text=True, env=_script_env())
    workers: list[int] = []
    try:
        workers += [int(p) for p in driver.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        time.sleep(1.0)  # inside the calls
        driver.kill()
        driver.wait(timeout=30)
        deadline = time.time() + 20
        while any(_alive(p) for p in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers)
    finally:
        driver.kill()
        driver.stdout.close()
        for pid in workers:  # a failed check leaves no ten-minute sleeper behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
