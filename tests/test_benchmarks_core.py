"""Smoke tests of the core benchmark scripts with a tiny budget."""

from __future__ import annotations

import json

import pytest

from benchmarks import env_speed, reference_policies


def test_env_speed_smoke(tmp_path):
    pytest.importorskip("stable_baselines3")
    out = tmp_path / "speed.json"
    result = env_speed.main(["--steps", "200", "--vec-steps", "64", "--sizes", "1", "4",
                             "--repeats", "1", "--out", str(out)])
    assert set(result["envs"]) == set(env_speed.ENVS)
    assert all(row["steps_per_second"] > 0 for row in result["envs"].values())
    saved = json.loads(out.read_text())
    assert saved["steps"] == 200 and set(saved["vectorised"]) == set(env_speed.GAMES)
    for record in saved["vectorised"].values():
        assert set(record["by_num_envs"]) == {"1", "4"}
        for row in record["by_num_envs"].values():
            assert row["ratio"] == row["subrational_vec_env"] / row["dummy_vec_env"] > 0
    assert saved["goal"]["ratios"] == {}  # N = 64 was not measured
    assert "| Ultimatum-v0 | 4 |" in out.with_suffix(".md").read_text()


def test_env_speed_measure_keeps_its_shape():
    # benchmarks/replicate.py reads measure()'s steps_per_second and ratio_to_frozenlake.
    result = env_speed.measure(100)
    assert set(result) == set(env_speed.ENVS)
    assert result["FrozenLake-v1"]["ratio_to_frozenlake"] == 1.0
    assert all(row["steps_per_second"] > 0 for row in result.values())


def test_reference_policies_smoke(tmp_path):
    out = tmp_path / "ref.json"
    records = reference_policies.main(["--out", str(out)])
    assert len(records) == len(json.loads(out.read_text())) >= 10
    soph = [r for r in records if r["policy"].startswith("beta-delta sophisticated")]
    assert soph[0]["behaviour"]["commit_probability"] == 1.0


def test_model_recovery_smoke(tmp_path):
    from benchmarks import model_recovery

    out = tmp_path / "recovery.json"
    result = model_recovery.main(["--tiny", "--workers", "1", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["seeds"] == [0, 1] and saved["n_episodes"] == 200
    rows = {row["setting"]: row for row in saved["summary"]}
    # One recovery setting per game, and the same exponential child in the confound grid.
    assert len(rows) == 5
    for row in rows.values():
        for p in row.get("params", {}).values():
            assert 0.0 <= p["coverage"] <= 1.0 and p["median_abs_error"] >= 0.0
    commit = next(r for name, r in rows.items() if "commitment" in name)
    assert commit["win_rate"] == 1.0 and commit["coverage_met"]
    assert result["human_aggregates"]["within_0_05"]
    assert result["human_aggregates"]["income_maximiser_rejected"]
    assert saved["confound"]["n"] == 2 * 2
    by_setting = saved["confound"]["by_setting"]
    assert len(by_setting) == 2 and all(r["n"] == 2 for r in by_setting)
    for row in by_setting:  # the calibrated call, the old one, Clopper-Pearson intervals
        lo, hi = row["called"]["ci"]
        assert 0.0 <= lo <= row["called"]["rate"] <= hi <= 1.0
        assert "asymptotic_any" in row and row["test"] == "exponential inside beta_delta_naive"
    assert set(saved["speed"]) == {"ultimatum", "marshmallow",
                                   "procrastination (commitment)", "double_or_nothing"}


def test_model_recovery_summary_says_no_when_recovery_fails():
    """The targets can fail: poor coverage and a rival that wins are reported as not met."""
    from benchmarks import model_recovery

    setting = next(s for s in model_recovery.SETTINGS if s["recovery"]
                   and s["family"] == "exponential")
    truth = setting["truth"]
    rival = "beta_delta_naive"

    def record(seed, covered, winner):
        return {"setting": setting["name"], "seed": seed,
                "params": {k: v * 1.1 for k, v in truth.items()},
                "covered": {k: covered for k in truth}, "identified": {k: True for k in truth},
                "ci": {k: (v * 0.9, v * 1.2) for k, v in truth.items()},
                "winner": winner, "delta_bic": {rival: 3.0 if winner != rival else -3.0},
                "fit_seconds": 0.1, "compare_seconds": 0.2, "called_present_biased": False}

    expected = {setting["name"]: {"rivals": {rival: {"identifiable": True}}}}
    good = model_recovery.summarise([setting], [record(s, True, setting["family"])
                                                for s in range(10)], expected)[0]
    assert good["coverage_met"] and good["model_recovery_met"]
    bad = model_recovery.summarise([setting], [record(s, s < 5, rival if s < 5 else
                                                      setting["family"]) for s in range(10)],
                                   expected)[0]
    assert not bad["coverage_met"] and not bad["model_recovery_met"]
    assert bad["win_rate"] == 0.5 and bad["called_present_biased"] == 0.0


def test_report_flags_learners_that_contradict_the_expert():
    from benchmarks.reporting import contradictions

    def verdict(reproduced, interval):
        return {"reproduced": reproduced, "numbers": {"interval": interval}}

    lines = contradictions({"llm_expert": verdict("reproduced", [0.4, 0.9]),
                            "bc": verdict("reproduced", [0.5, 0.8]),
                            "gail": verdict("inconclusive", [-0.1, 0.5]),
                            "airl": verdict("not reproduced", [-0.9, -0.2])})
    assert len(lines) == 2
    assert "gail contradicts" in lines[0] and "within noise" in lines[0]
    assert "airl contradicts" in lines[1] and "distorts the expert" in lines[1]
    assert contradictions({"bc": verdict("inconclusive", [0, 1])}) == []
