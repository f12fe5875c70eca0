"""Smoke test of the replication (the main job) with a tiny budget, on the embedded model."""

from __future__ import annotations

import json

import pytest

# The replication needs the imitation and llm extras (``subrational_gym.learners`` itself
# imports its modules on first use, so importing it tells nothing).
pytest.importorskip("imitation")
pytest.importorskip("openai")


@pytest.mark.slow
def test_replication_tiny_budget_writes_stable_results(tmp_path, monkeypatch):
    """The whole pipeline over all four games, against the planted endpoint (a real HTTP
    server behind the openai client, answering instantly; the embedded model is the next
    test's)."""
    from benchmarks import replicate
    from llm_experts.planted import PlantedLLMServer
    from llm_experts.testing import FAKE_API_KEY

    for name in ("OPENAI_BASE_URL", "SUBRATIONAL_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_API_KEY)  # must never reach any result file
    out = tmp_path / "results"
    with PlantedLLMServer() as server:
        # Two workers, as make demo: jobs and structural fits go to worker processes.
        summary = replicate.main(["--budget", "tiny", "--out", str(out), "--no-progress",
                                  "--no-perf", "--workers", "2", "--base-url", server.base_url,
                                  "--model", "planted",
                                  "--cache", str(tmp_path / "answers.sqlite")])
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["model"] == summary["model"] == "planted"
    assert on_disk["endpoint"].startswith("http://127.0.0.1:")
    for key in ("finished_at", "wall_seconds", "findings", "fidelity"):
        assert key in on_disk
    assert [f["game"] for f in on_disk["findings"]] == list(replicate.GAMES)
    for f in on_disk["findings"]:
        assert f["reproduced"] in ("reproduced", "not reproduced", "inconclusive"), f
        assert f["finding"] and f["criterion"] and f["numbers"]["reasons"]
        lo, hi = f["numbers"]["interval"]
        assert lo <= hi and "statistic" in f["numbers"] and "threshold" in f["numbers"]
        assert set(f["by_source"]) == {"llm_expert", "distribution_matching"}
        assert f["bottom_line"].startswith(f["reproduced"])
        # The learner is judged per seed on episodes sampled from that seed's policy.
        learner = f["by_source"]["distribution_matching"]["numbers"]
        assert set(learner["seeds"]) == {"0"} and learner["share"][f["reproduced"]] == 1.0
        assert "sesoi" in f["numbers"]
    known = on_disk["known_answers"]
    assert {r["game"] for r in known} == set(replicate.GAMES)
    assert all(r["verdict"] in ("reproduced", "not reproduced", "inconclusive") for r in known)
    card = json.loads((out / "model_card.json").read_text())
    assert card["model"] == "planted"
    # Two ultimatum, five marshmallow, 2 x 2 double-or-nothing (plain and odds variants),
    # 2 x 3 procrastination personas.
    assert len(card["personas"]) == 2 + 5 + 2 * 2 + 6
    for entry in card["personas"]:
        assert entry["best_family"] and set(entry["ci"]) <= set(entry["params"])
    # The tiny budget's present-bias bootstrap draws 19 data sets (the demo's 99).
    methods = [e["present_bias"]["method"] for e in card["personas"] if e["present_bias"]]
    assert len(methods) == 5 + 6
    assert any("/ (1 + 19)" in m for m in methods)
    assert not any("(1 + 99)" in m for m in methods)
    assert "# Behavioural model card" in (out / "model_card.md").read_text()
    assert set(on_disk["fidelity"]["per_game"]) == set(replicate.GAMES)
    # Human fidelity is a skill against the best constant policy: the constant itself
    # scores 0, chance and every other constant <= 0, a perfect policy 1; double or
    # nothing's figure a constant matches exactly, so it is not informative there.
    overall = on_disk["fidelity"]["overall"]
    assert overall["llm_expert"] <= 1.0 and overall["trivial: best constant"] == 0.0
    assert overall["chance: uniform random"] <= 0.0
    per_game = on_disk["fidelity"]["per_game"]
    assert per_game["double_or_nothing"]["llm_expert"] is None
    assert "trivial: best constant" not in per_game["double_or_nothing"]
    # One seed at the tiny budget: the interval collapses to the seed's own score.
    over = on_disk["fidelity"]["overall_over_seeds"]
    assert over["bc"]["n"] == 1 and over["bc"]["ci_low"] == over["bc"]["worst"]
    assert over["chance: uniform random"]["iqm"] <= 0.0
    assert not (out / "perf.json").exists()
    for game in replicate.GAMES:
        assert (out / "plots" / f"{game}.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "## Findings" in report and "plots/ultimatum.png" in report
    # The report opens with the bottom line, and shows the known answers beside the model.
    assert report.index("## Bottom line") < report.index("## Findings")
    assert "## Known answers beside the model" in report
    assert "| ultimatum | persona-blind, human-like noise |" in report
    assert "*Criterion:*" in report and "model_card.md" in report
    assert "overall over seeds" in report
    for path in [*out.rglob("*"), *tmp_path.glob("answers*")]:
        if path.is_file():
            assert FAKE_API_KEY.encode() not in path.read_bytes(), path
    runs = list((out / "runs").glob("replication_*.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text())["versions"]["gymnasium"]


def test_help_documents_every_option_and_the_budgets():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "benchmarks.replicate", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    documented = {"--budget": "how much work", "--games": "games to run",
                  "--model": "model name at the endpoint", "--base-url": "OpenAI-compatible",
                  "--mode": "log-probabilities", "--cache": "SQLite answer cache",
                  "--out": "output folder", "--no-perf": "performance benchmark",
                  "--no-progress": "no progress bars", "--executor": "training jobs run",
                  "--workers": "worker processes", "--ray-address": "Ray cluster",
                  "--jobs-dir": "finished training jobs are kept",
                  "--provider": "what the endpoint supports", "--max-calls": "stop cleanly",
                  "--min-coverage": "share of the probability mass",
                  "--one-order": "one order only",
                  "--price-per-million-input": "cost estimate",
                  "--price-per-million-output": "completion tokens"}
    for option, words in documented.items():
        assert option in text and words in text, option
    assert "Budgets -- tiny: 20 demonstration episodes" in text
    assert "demo: 200 demonstration episodes" in text and "full: 500" in text
    assert "OPENAI_API_KEY" in text and "resumes" in text


@pytest.mark.slow
def test_replication_stopped_by_max_calls_resumes_without_repeating(tmp_path, capsys):
    """Against a vLLM-like endpoint: the plan is printed first, --max-calls stops the run
    with everything asked so far cached, and the rerun asks only what is missing."""
    from benchmarks import replicate
    from llm_experts import CallBudgetError
    from llm_experts.testing import FakeLLMServer

    with FakeLLMServer(profile="vllm") as server:
        argv = ["--budget", "tiny", "--games", "ultimatum", "--no-perf", "--no-progress",
                "--base-url", server.base_url, "--model", "fake", "--provider", "vllm",
                "--cache", str(tmp_path / "answers.sqlite"), "--out", str(tmp_path / "out"),
                "--price-per-million-input", "0.5", "--price-per-million-output", "1.5"]
        with pytest.raises(CallBudgetError, match="max_calls=5"):
            replicate.main([*argv, "--max-calls", "5"])
        printed = capsys.readouterr().out
        # Two personas x 11 states; vLLM takes both label orders in one request, and the
        # plan counts a follow-up for labels split over tokens (this server needs none).
        assert "[plan] before any call" in printed and "22 states to ask" in printed
        assert "up to ~44 model calls" in printed and "estimated cost" in printed
        assert server.request_count == 5
        first = [tuple(b["prompt"]) for b in server.bodies]
        summary = replicate.main(argv)
        asked = [tuple(b["prompt"]) for b in server.bodies]
    assert len(asked) == 22 and len(set(asked)) == 22 and set(first) <= set(asked)
    usage = summary["llm_usage"]
    assert usage["model_calls"] == 17 and usage["cache_hits"] == 5
    assert usage["provider"] == "vllm" and usage["orders"] == 2 and usage["cost"] > 0
    game = usage["by_game"]["ultimatum"]
    assert game["calls_per_state"] == pytest.approx(17 / 22)
    assert game["coverage"]["min"] == pytest.approx(0.8)
    assert game["order_effect"]["mean"] == pytest.approx(0.25)
    assert usage["estimate"]["calls"] == 34 and usage["estimate"]["cached_calls"] == 5
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Model use" in report and "| ultimatum | 22 | 0.77 | 0 | 0.800 / 0.800" in report


@pytest.mark.slow
def test_planted_scenarios_command_as_a_user_runs_it(tmp_path):
    """The scenario benchmark end to end in a subprocess (tiny budget, one game): it
    starts its own planted server, runs the replication and writes its table."""
    import subprocess
    import sys

    out = tmp_path / "planted.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.planted_scenarios", "--budget", "tiny", "--games",
         "ultimatum", "--scenarios", "reversed", "--workers", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [(r["scenario"], r["game"], r["due"]) for r in rows] == [
        ("reversed", "ultimatum", "not reproduced")]
    assert rows[0]["expert"] in ("reproduced", "not reproduced", "inconclusive")
    assert "| reversed | ultimatum | not reproduced |" in out.with_suffix(".md").read_text()
