"""The torch-free runner: plain calls and recorded runs on each executor, no learners.

Learner jobs on the runner: tests/learners/test_sweeps.py; the sweep CLI on Ray (started
by the runner, or joined at an address): tests/learners/test_sweep_cli.py.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from subrational_gym.runner import (
    Call,
    InProcessExecutor,
    Progress,
    Run,
    Runner,
    RunnerError,
    RunStore,
    Shared,
    make_executor,
)

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """A user's shell: this checkout's packages, one thread, no Ray address."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return {**env, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def test_importing_the_runner_loads_no_torch():
    """The runner is core: importing it (and building a runner) loads none of the
    learners' heavy packages, nor Ray before a Ray executor runs something."""
    code = ("import sys\n"
            "import subrational_gym.runner as r\n"
            "r.Runner(progress=False).close()\n"
            "heavy = ('torch', 'imitation', 'stable_baselines3', 'ray')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=_env(), cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    # The check can fail: the learners' sweeps, which run on the runner, do load torch.
    code = "import sys, subrational_gym.learners.sweeps; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env=_env(), cwd=ROOT)
    assert out.stdout.strip() == "True", out.stderr[-2000:]


def _runner(executor: str, store: RunStore | None = None) -> Runner:
    if executor == "inprocess":
        return Runner(store, executor=InProcessExecutor(), progress=False)
    return Runner(store, executor=executor, workers=2, progress=False)


@pytest.mark.parametrize("executor", ["inprocess", "local", "ray"])
def test_each_executor_runs_plain_calls_and_recorded_runs(tmp_path, executor):
    """Plain functions (no learner anywhere): values, seconds, a worker's exception with
    its traceback, a shared argument, and records saved to the store."""
    if executor == "ray":
        pytest.importorskip("ray")
    store = RunStore(tmp_path)
    runs = [Run(key=f"k{i}", call=Call(fn=dict, kwargs={"square": i * i}),
                description=f"square {i}") for i in range(3)]
    bad = Run(key="bad", call=Call(fn=dict, args=(5,)), description="a bad dict")
    with _runner(executor, store) as runner:
        pid = runner.call(os.getpid)
        total = runner.call(math.fsum, [0.1] * 10)
        shared = runner.call(sum, Shared(key="numbers", value=[1, 2, 3]), name="a sum")
        broken = runner.call(math.sqrt, -1.0, name="a square root")
        runner.submit([*runs, bad])
        with pytest.raises(RunnerError, match="1 of 4 runs failed"):
            runner.records([run.key for run in [*runs, bad]])
        records = runner.records([run.key for run in runs])
        assert total.result() == 1.0 and total.seconds is not None
        assert shared.result() == 6
        with pytest.raises(RunnerError, match="(?s)a square root failed.*ValueError"):
            broken.result()
        assert (broken.exception_type, broken.exception_message) == ("ValueError",
                                                                     "math domain error")
        assert (pid.result() == os.getpid()) == (executor == "inprocess")
    assert [r["square"] for r in records] == [0, 1, 4]
    assert [r["key"] for r in records] == ["k0", "k1", "k2"] == store.keys()
    assert not any(r["reused"] for r in records)
    assert "TypeError" in (tmp_path / "logs" / "bad.log").read_text()
    assert (tmp_path / "logs" / "bad.log").read_text().startswith("a bad dict\n")
    # A rerun reuses every record and retries the failed run.
    with Runner(store, progress=False) as again:
        again.submit(runs)
        assert all(r["reused"] for r in again.records([run.key for run in runs]))


def test_bad_settings_name_the_value_and_the_fix(tmp_path):
    with pytest.raises(RunnerError, match="executor must be one of"):
        Runner(executor="slurm")
    with pytest.raises(RunnerError, match="workers must be a positive integer, got 0"):
        make_executor("local", workers=0)
    with Runner(progress=False) as runner:
        with pytest.raises(RunnerError, match="no store, so it runs calls only"):
            runner.submit([Run(key="a", call=Call(fn=dict))])
        with pytest.raises(RunnerError, match="limit must be a positive integer"):
            runner.limit(0)
        with pytest.raises(RunnerError, match="never submitted"):
            Runner(RunStore(tmp_path), progress=False).records(["nope"])
    with pytest.raises(RunnerError, match="is closed"):
        runner.call(math.fsum, [1.0])


def test_a_run_that_returns_no_record_fails(tmp_path):
    with Runner(RunStore(tmp_path), progress=False) as runner:
        runner.submit([Run(key="n", call=Call(fn=math.fsum, args=([1.0],)))])
        with pytest.raises(RunnerError, match="returned float, not a record"):
            runner.records(["n"])


def test_progress_writes_plain_lines_when_not_on_a_terminal(tmp_path):
    """Output to a pipe (as ``make demo > log`` sends it to a file): plain lines, no
    carriage returns or escape codes, the last one with every run finished."""
    script = textwrap.dedent("""
        import sys
        from subrational_gym.runner import Call, Run, Runner, RunStore

        runs = [Run(key=f"k{i}", call=Call(fn=dict, kwargs={"i": i})) for i in range(5)]
        with Runner(RunStore(sys.argv[1])) as runner:
            runner.submit(runs)
            runner.records([run.key for run in runs])
        print("done")
    """)
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, env=_env(), cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == "done\n"
    assert "\r" not in out.stderr and "\x1b" not in out.stderr
    lines = out.stderr.splitlines()
    assert 1 <= len(lines) <= 2, lines  # the first finished run, then the last
    assert lines[-1] == "runs: 5/5 finished, 0 failed, 0 running, 0 queued"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_progress_draws_a_bar_on_a_terminal():
    """On a terminal the same progress is a bar redrawn in place (carriage returns)."""
    pytest.importorskip("tqdm")
    import pty

    main, child = pty.openpty()
    try:
        with os.fdopen(child, "w", closefd=True) as terminal:
            progress = Progress(label="runs", stream=terminal)
            progress.grow(2)
            progress.update(finished=2, started=(0, 0))
            progress.close()
        drawn = os.read(main, 65536).decode()
    finally:
        os.close(main)
    assert "\r" in drawn and "runs" in drawn


def test_plain_lines_are_spaced_by_the_interval():
    import io

    out = io.StringIO()
    progress = Progress(label="jobs", stream=out, interval=3600)
    progress.grow(4)
    for _ in range(4):
        progress.update(finished=1)
    progress.close()
    assert out.getvalue().splitlines() == [
        "jobs: 1/4 finished, 0 failed, 0 running, 0 queued",
        "jobs: 4/4 finished, 0 failed, 0 running, 0 queued"]
    quiet = io.StringIO()
    off = Progress(enabled=False, stream=quiet, interval=0)
    off.grow(1)
    off.update(finished=1)
    off.close()
    assert quiet.getvalue() == ""
