"""``python -m subrational_gym.inference`` on demonstrations saved as the LLM experts save them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from llm_experts import save_demonstrations
from subrational_gym import policies
from subrational_gym.learners import generate_demonstrations

PROC = "Subrational/Procrastination-v0"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "subrational_gym.inference", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    student = policies.beta_delta(PROC, beta=0.6, sophisticated=True, temperature=0.5,
                                  env_kwargs={"self_imposed_deadline": True})
    trajectories = generate_demonstrations(student, PROC, 300, seed=0,
                                           env_kwargs={"self_imposed_deadline": True})
    path = tmp_path_factory.mktemp("demos") / "student"
    save_demonstrations(path, trajectories)
    return path


def test_cli_prints_the_comparison(demos):
    out = _run(str(demos), "--env-id", PROC, "--env-kwargs", '{"self_imposed_deadline": true}')
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("family"))
    assert lines[header + 1].startswith("beta_delta_sophisticated")
    assert "LR test exponential in beta_delta_sophisticated" in out.stdout


def test_cli_json(demos):
    out = _run(str(demos), "--env-id", PROC, "--env-kwargs", '{"self_imposed_deadline": true}',
               "--no-ci", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["fits"][0]["family"] == "beta_delta_sophisticated"
    assert {t["general"] for t in data["lr_tests"]} == {"beta_delta_naive",
                                                        "beta_delta_sophisticated"}


def _run_here(capsys, *args):
    """The command's ``main`` in this process (``python -m`` runs ``sys.exit(main())``; the
    tests above run it as a process): its exit status and what it wrote to stderr."""
    from subrational_gym.inference.__main__ import main

    try:
        status = main(list(args))
    except SystemExit as stop:  # argparse's errors
        status = stop.code
    return status, capsys.readouterr().err


def test_cli_errors_name_the_fix(demos, tmp_path, capsys):
    # Demonstrations of the commitment variant read as the plain game.
    status, err = _run_here(capsys, str(demos), "--env-id", PROC, "--no-ci")
    assert status == 2 and "self_imposed_deadline=True" in err
    status, err = _run_here(capsys, str(demos), "--env-id", PROC, "--env-kwargs", "{deadline: 3}")
    assert status == 2 and "not valid JSON" in err
    status, err = _run_here(capsys, str(tmp_path / "missing"), "--env-id", PROC)
    assert status == 2 and "save_demonstrations" in err
