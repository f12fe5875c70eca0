"""The sweep runner: config and flags, the dry run, and a tiny sweep under both executors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks import replicate, sweep
from subrational_gym.learners.sweeps import SweepError, comparable

GRID = ["--games", "ultimatum", "--learners", "bc", "distribution_matching", "--seeds", "0",
        "1", "--budget", "tiny", "--one-order"]


def test_config_file_and_flags(tmp_path, capsys):
    config = tmp_path / "sweep.toml"
    config.write_text('budget = "tiny"\ngames = ["ultimatum"]\nseeds = [0, 1]\n'
                      'learners = ["bc", "distribution_matching", "ppo"]\n'
                      '[[models]]\nname = "a"\n[[models]]\nname = "b"\n'
                      'base_url = "http://127.0.0.1:9/v1"\n')
    est = sweep.main([str(config), "--dry-run"])
    # 2 models x 2 personas x 2 learners x 2 seeds, and PPO once for all models.
    assert est["jobs"] == 2 * 2 * 2 * 2 + 1
    assert est["decision_states"] == 2 * 2 * 11
    out = capsys.readouterr().out
    assert "17 training jobs" in out and "estimated duration" in out
    # Flags win over the file.
    est = sweep.main([str(config), "--learners", "bc", "--model", "c", "--dry-run"])
    assert est["jobs"] == 2 * 2
    cfg, _ = sweep.parse_args([str(config), "--model", "m@http://h:1/v1"])
    assert cfg.models == (sweep.ModelSpec("m", "http://h:1/v1"),)


@pytest.mark.parametrize(("text", "match"), [
    ("budgett = 'tiny'", "unknown sweep options \\['budgett'\\]"),
    ("budget = ", "not valid TOML"),
    ("games = ['ultimatum']\npersonas = ['child-4']", "child-4.*not personas of"),
    ("learners = ['gial']", "learners \\['gial'\\] unknown"),
    ("models = []", "at least one model"),
])
def test_bad_configs_name_the_value_and_the_fix(tmp_path, text, match):
    config = tmp_path / "sweep.toml"
    config.write_text(text)
    with pytest.raises(SweepError, match=match):
        sweep.main([str(config), "--dry-run"])


def _kill_first_ray_task(name: str, killed: list[int], deadline: float) -> None:
    """SIGKILL the first Ray worker whose process title says it runs a task ``name...``
    (the runner names each Ray task after its job)."""
    import os
    import signal
    import time
    from pathlib import Path

    while time.time() < deadline and not killed:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
            except OSError:
                continue
            if title.startswith(f"ray::{name}"):
                time.sleep(0.5)  # inside the job, past its start-up
                os.kill(int(proc.name), signal.SIGKILL)
                killed.append(int(proc.name))
                return
        time.sleep(0.05)


@pytest.fixture(scope="class")
def ray_here():
    """Ray started in this process (2 CPUs) once for the tests of the class below, which
    drive it from here; a user's own start and a joined cluster are tested apart, with
    their own Ray."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.usefixtures("ray_here")
class TestOnARayStartedHere:
    """Sweeps on one Ray started in this process (a start costs ~9 s CPU and a pair of
    workers importing torch)."""

    def test_tiny_sweep_gives_the_same_records_locally_and_on_ray(self, tmp_path):
        """The executor equivalence, against the planted endpoint (a real HTTP server that
        answers at once; the embedded model's path is the replication test's)."""
        from llm_experts.planted import PlantedLLMServer

        cache = str(tmp_path / "answers.sqlite")
        with PlantedLLMServer() as server:
            grid = [*GRID, "--model", f"planted@{server.base_url}", "--cache", cache]
            local = sweep.main([*grid, "--out", str(tmp_path / "local")])
            remote = sweep.main([*grid, "--out", str(tmp_path / "ray"), "--executor", "ray"])

        def records(folder):
            return {p.stem: comparable(json.loads(p.read_text()))
                    for p in sorted((tmp_path / folder / "jobs" / "jobs").glob("*.json"))}

        def verdicts(result):
            return [(f["reproduced"], f["numbers"].get("value"), f["numbers"].get("interval"))
                    for f in result["models"]["planted"]["findings"]]

        assert len(records("local")) == 8 and records("local") == records("ray")
        assert verdicts(local) == verdicts(remote)
        assert (tmp_path / "ray" / "comparison.md").read_text().count("ultimatum") >= 2

    def test_a_killed_ray_worker_is_retried_and_every_record_written_once(self, tmp_path):
        """A Ray worker killed (SIGKILL) mid-job: Ray runs the task again, the sweep finishes
        with each record once, equal to the in-process records."""
        import threading
        import time

        from subrational_gym import policies
        from subrational_gym.learners.sweeps import Job, RunStore, execute, table_digest

        game = "Subrational/Ultimatum-v0"
        experts = [policies.income_maximiser(game, temperature=0.5),
                   policies.inequity_averse_responder(game, temperature=0.5)]
        jobs = [Job.imitate("distribution_matching", e, n_episodes=40, seed=0, budget=3000)
                for e in experts]
        tables = {table_digest(e.probs): e.probs for e in experts}
        here = execute(jobs, tables, RunStore(tmp_path / "here"), progress=False)
        store = RunStore(tmp_path / "ray")
        killed: list[int] = []
        killer = threading.Thread(target=_kill_first_ray_task,
                                  args=(jobs[0].describe(), killed, time.time() + 300))
        killer.start()
        remote = execute(jobs, tables, store, executor="ray", progress=False)
        killer.join()
        assert killed, "no Ray worker was killed: the test did not exercise the retry"
        assert sorted(r["key"] for r in remote) == store.keys() and len(store.keys()) == 2
        assert [comparable(r) for r in here] == [comparable(r) for r in remote]
        assert here[0]["policy"] != here[1]["policy"]  # the comparison can fail


def test_the_estimate_scales_the_demo_timings_to_the_budget(tmp_path):
    """Budgets left to the tuned defaults are resolved per game (a full-budget GAIL run is
    about five demo runs); a run at the demo's own budget keeps the demo's time."""
    assert sweep._run_scale("gail", "ultimatum", None, 200) == pytest.approx(100_000 / 20_480)
    assert sweep._run_scale("airl", "marshmallow", None, 500) == pytest.approx(
        100_000 / 12_288)
    assert sweep._run_scale("gail", "ultimatum", 20_480, 200) == 1.0
    assert sweep._run_scale("bc", "ultimatum", None, 500) == pytest.approx(2.5)
    assert sweep._run_scale("distribution_matching", "marshmallow", None, 500) == 1.0
    assert sweep._run_scale("dqn", "marshmallow", None, 500) == pytest.approx(10.0)
    perf = tmp_path / "perf.json"
    perf.write_text(json.dumps({"learner_train_seconds": {"value": {
        alg: {"mean_seconds": 1.0} for alg in ("bc", "distribution_matching", "gail")}}}))
    grid = ["--games", "ultimatum", "--learners", "gail", "--seeds", "0"]
    demo = sweep.estimate(sweep.parse_args([*grid, "--budget", "demo"])[0],
                          sweep.plan(sweep.parse_args([*grid, "--budget", "demo"])[0]), perf)
    full_cfg = sweep.parse_args([*grid, "--budget", "full"])[0]
    full = sweep.estimate(full_cfg, sweep.plan(full_cfg), perf)
    assert demo["jobs"] == full["jobs"] == 2  # two personas, one seed
    assert full["train_seconds"] == pytest.approx(demo["train_seconds"] * 100_000 / 20_480)


def test_named_seeds_train_every_learner(monkeypatch, tmp_path):
    """``--seeds 3 4`` trains BC, GAIL and AIRL on both seeds, in the plan and in the run
    (they trained on seed 3 alone: the demo budget's few-seed rule kept the first named
    seed); the RL baselines train on the first seed; without --seeds the budget's own
    seeds and rule apply."""
    grid = ["--games", "ultimatum", "--budget", "demo", "--out", str(tmp_path)]
    jobs = sweep.plan(sweep.parse_args([*grid, "--seeds", "3", "4"])[0])
    seeds = {alg: sorted({j["seed"] for j in jobs if j["learner"] == alg})
             for alg in (*replicate.IMITATION, *replicate.RL)}
    assert seeds == {**{alg: [3, 4] for alg in replicate.IMITATION},
                     **{alg: [3] for alg in replicate.RL}}
    default = sweep.plan(sweep.parse_args(grid)[0])
    assert {j["seed"] for j in default if j["learner"] == "bc"} == {0}
    assert {j["seed"] for j in default if j["learner"] == "distribution_matching"} == {0, 1, 2}

    class Stop(Exception):
        pass

    trained = {}

    def run(self):  # what the replication would train, without training it
        trained.update({alg: list(self.budget.seeds_of(alg)) for alg in seeds})
        raise Stop

    monkeypatch.setattr(replicate.Replication, "run", run)
    with pytest.raises(Stop):
        sweep.main([*grid, "--seeds", "3", "4"])
    assert trained == seeds


def test_ctrl_c_names_the_sweeps_own_jobs_folder(monkeypatch, tmp_path, capsys):
    """The Ctrl-C message names OUT/jobs of this sweep (it said "<out>/jobs" whatever
    --out was); errors are one line; the exit statuses are 130 and 1."""
    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run", interrupted)
    out = tmp_path / "my-sweep"
    assert sweep.cli(["--games", "ultimatum", "--out", str(out)]) == 130
    assert f"recorded under {out / 'jobs'};" in capsys.readouterr().err
    assert sweep.cli(["--games", "ultimatum", "--learners", "bc", "--personas", "child-4",
                      "--out", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: sweep personas ['child-4']")


ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"


def _user_env() -> dict[str, str]:
    """A user's shell: no Ray address, this checkout's packages, one thread per process."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return {**env, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}


def _run_sweep(args: list[str], timeout: float, **env: str
               ) -> tuple[subprocess.CompletedProcess, int]:
    """``python -m benchmarks.sweep ARGS`` as a user runs it; the result and its pid."""
    with subprocess.Popen([sys.executable, "-m", "benchmarks.sweep", *args], cwd=ROOT,
                          env={**_user_env(), **env}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.pid


def _job_records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "jobs" / "jobs").glob("*.json"))]


@pytest.mark.slow
def test_the_ray_executor_starts_ray_itself_as_a_user_runs_it(tmp_path):
    """The issue's command, in a fresh process with no Ray running and RAY_ADDRESS unset,
    on the embedded model: it used to stop at once with "Ray has not been started yet"
    (the first submit asked Ray for its CPUs before any task had started it)."""
    pytest.importorskip("ray")
    out = tmp_path / "x"
    run, pid = _run_sweep(["--budget", "tiny", "--games", "ultimatum", "--learners", "bc",
                           "--seeds", "0", "--executor", "ray", "--out", str(out),
                           "--cache", str(out / "a.sqlite")], timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    records = _job_records(out)
    assert len(records) == 2  # BC, seed 0, on each of the two personas
    assert all(r["job"]["learner"] == "bc" and r["job"]["seed"] == 0 for r in records)
    # Trained on Ray's workers, not in the driver.
    assert all(int(r["worker"].rsplit(":", 1)[1]) != pid for r in records)
    assert (out / "comparison.md").exists()


#: Ray's token authentication off for the cluster and the sweep that joins it alike (with
#: the mode unset, ``ray start`` turns it on when ~/.ray/auth_token exists, which a local
#: ``ray.init()`` writes, and a driver joining by address does not).
NO_AUTH = {"RAY_AUTH_MODE": "disabled"}


@pytest.fixture
def ray_cluster():
    """A one-CPU local Ray cluster started by ``ray start``; its address."""
    pytest.importorskip("ray")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths
    env = {**_user_env(), **NO_AUTH}
    try:
        started = subprocess.run(
            [str(RAY), "start", "--head", f"--port={port}", "--num-cpus=1",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
             f"--object-store-memory={200 * 2**20}"],
            env=env, capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
        from ray._private.services import get_node_ip_address

        yield f"{get_node_ip_address()}:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True,
                       timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_the_sweep_joins_a_ray_cluster_at_ray_address(tmp_path, ray_cluster):
    """``--ray-address`` joins a cluster started beforehand (one CPU); the jobs run on its
    workers, and the sweep leaves the cluster running (it shuts down only a Ray it
    started)."""
    from llm_experts.planted import PlantedLLMServer

    out = tmp_path / "joined"
    with PlantedLLMServer() as server:
        run, pid = _run_sweep(
            ["--games", "ultimatum", "--learners", "bc", "--seeds", "0", "1",
             "--budget", "tiny", "--one-order", "--model", f"planted@{server.base_url}",
             "--cache", str(tmp_path / "answers.sqlite"), "--out", str(out),
             "--executor", "ray", "--ray-address", ray_cluster], timeout=600, **NO_AUTH)
    assert run.returncode == 0, run.stderr[-3000:]
    records = _job_records(out)
    assert len(records) == 4  # two personas x two seeds
    assert all(int(r["worker"].rsplit(":", 1)[1]) != pid for r in records)
    status = subprocess.run([str(RAY), "status", f"--address={ray_cluster}"],
                            env={**_user_env(), **NO_AUTH},
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and "1.0 CPU" in status.stdout.replace("/", " "), (
        status.stdout[-2000:] + status.stderr[-2000:])
