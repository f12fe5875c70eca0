"""The LLM expert snippet of docs/llm-experts.md (it was the README's and the issue's) runs
as written, offline, with no API key configured. tests/test_docs.py leaves the page's block
to this test (its marker: ``run by tests/llm_experts/test_llm_snippet.py``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "llm-experts.md"


def _snippet() -> str:
    """The page's Python block, verbatim, then a line printing what the test checks."""
    [block] = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    return block + 'print("EPISODES", len(trajectories), "ROWSUM", float(probs.sum()))\n'


@pytest.mark.llm
@pytest.mark.slow
def test_snippet_runs_as_written(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL")}
    env["HOME"] = str(tmp_path)  # a fresh user: empty caches, no configuration
    env["SUBRATIONAL_GYM_CACHE"] = str(tmp_path / "cache")
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", _snippet()], env=env, capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("EPISODES ") and int(lines[-1].split()[1]) >= 50
    assert float(lines[-1].split()[3]) == pytest.approx(1.0)
    assert "model_calls" in lines[-2]
