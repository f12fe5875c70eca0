from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.llm
@pytest.mark.slow
def test_llm_load_smoke(tmp_path):
    out = tmp_path / "llm_load.json"
    env = {**os.environ, "PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1"}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL"):
        env.pop(name, None)
    subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "benchmarks", "llm_load.py"),
            "--n-states",
            "40",
            "--out",
            str(out),
        ],
        env=env,
        check=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    assert report["cold"]["valid"] + report["cold"]["invalid"] == 40
    assert report["cold"]["errors"] == 0
    assert report["verification"]["nothing_lost"] is True
    assert report["verification"]["integrity_check"] == "ok"
