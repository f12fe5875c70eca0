"""The README/issue snippet runs as written, offline, with no API key configured."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SNIPPET = textwrap.dedent(
    """
    import gymnasium as gym, numpy as np
    from imitation.data import rollout
    from imitation.data.wrappers import RolloutInfoWrapper
    from stable_baselines3.common.vec_env import DummyVecEnv
    from llm_experts import LLMExpert

    venv = DummyVecEnv([lambda: RolloutInfoWrapper(gym.make("Subrational/Ultimatum-v0"))])
    expert = LLMExpert("Subrational/Ultimatum-v0", persona="fairness")   # no model given: the embedded local model
    trajectories = rollout.rollout(expert, venv, rollout.make_sample_until(min_episodes=50), rng=np.random.default_rng(0))
    probs = expert.action_distribution(venv.reset()[0])   # one row of action probabilities per observation
    print(expert.usage)   # model calls, cache hits, prompt and completion tokens
    print("EPISODES", len(trajectories), "ROWSUM", float(probs.sum()))
    """  # noqa: E501
)


@pytest.mark.llm
@pytest.mark.slow
def test_snippet_runs_as_written(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL")}
    env["HOME"] = str(tmp_path)  # a fresh user: empty caches, no configuration
    env["SUBRATIONAL_GYM_CACHE"] = str(tmp_path / "cache")
    env["OMP_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("EPISODES ") and int(lines[-1].split()[1]) >= 50
    assert float(lines[-1].split()[3]) == pytest.approx(1.0)
    assert "model_calls" in lines[-2]
