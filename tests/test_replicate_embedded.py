"""make demo's path on the embedded model: a tiny ultimatum replication, both label orders,
the performance record (a file of its own so that pytest-xdist runs it beside the
planted-endpoint replication in tests/test_replicate.py)."""

from __future__ import annotations

import json

import pytest

# The replication needs the imitation and llm extras (``subrational_gym.learners`` itself
# imports its modules on first use, so importing it tells nothing).
pytest.importorskip("imitation")
pytest.importorskip("openai")


@pytest.mark.llm
@pytest.mark.slow
def test_replication_on_the_embedded_model(tmp_path, monkeypatch):
    """make demo's path: the embedded model, both label orders, the performance record."""
    from benchmarks import replicate

    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SUBRATIONAL_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "results"
    summary = replicate.main(["--budget", "tiny", "--games", "ultimatum", "--out", str(out),
                              "--no-progress",
                              "--cache", str(tmp_path / "answers.sqlite")])
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["model"] == summary["model"] == "gemma-3-270m"
    assert on_disk["llm_usage"]["orders"] == 2
    card = json.loads((out / "model_card.json").read_text())
    assert card["model"] == "gemma-3-270m" and "embedded" in card["endpoint"]
    assert len(card["personas"]) == 2
    report = (out / "report.md").read_text()
    # The endpoint named by what it is, not by a temporary port.
    assert "embedded llama.cpp server" in report.split("## Findings")[0]
    assert on_disk["endpoint"] not in report.split("## Findings")[0]
    perf = json.loads((out / "perf.json").read_text())
    # This run's own (fresh) tabulation gives the score-mode figures: no second pass.
    calls = perf["llm_calls_per_state"]
    assert perf["tabulate_all_games_one_persona"]["personas"] == {"ultimatum": "fairness"}
    assert perf["tabulate_all_games_one_persona"]["value"] > 0
    assert 1.0 <= calls["score_mode"]["value"] <= 3.0
    assert calls["sample_mode_10_samples"]["value"] > 0
    assert perf["second_identical_run_calls"]["value"] == 0
    assert perf["env_steps_per_second"]["FrozenLake-v1"]["ratio_to_frozenlake"] == 1.0
    # A rerun takes every answer from the cache: no timing of the model is claimed.
    replicate.main(["--budget", "tiny", "--games", "ultimatum", "--out", str(out),
                    "--no-progress",
                    "--cache", str(tmp_path / "answers.sqlite")])
    perf = json.loads((out / "perf.json").read_text())
    assert perf["llm_calls_per_state"]["score_mode"]["value"] is None
    assert perf["llm_calls_per_state"]["sample_mode_10_samples"]["value"] is None
    assert "answer cache" in perf["tabulate_all_games_one_persona"]["note"]
    assert "answer cache" in (out / "report.md").read_text()
    assert perf["second_identical_run_calls"]["value"] == 0
