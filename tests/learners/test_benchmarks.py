from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_learner_fidelity_smoke(tmp_path):
    out = tmp_path / "fidelity.json"
    result = _load("learner_fidelity").main(
        ["--tiny", "--episodes", "10", "--seeds", "0", "1",
         "--games", "ultimatum", "marshmallow_t0", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    records, aggregates = saved["records"], saved["aggregates"]
    assert len(records) == 2 * 2 * 4
    required = {"game", "env_id", "expert", "algorithm", "seed", "n_episodes", "tv_mean",
                "tv_max", "train_seconds", "target", "met", "noise_floor_tv_mean"}
    for record in records:
        assert required <= set(record)
        assert 0.0 <= record["tv_mean"] <= record["tv_max"] <= 1.0
    assert {r["seed"] for r in records} == {0, 1}
    # The deterministic expert has no sampling floor.
    assert all(r["noise_floor_tv_mean"] == 0.0 and r["deterministic_expert"]
               for r in records if r["game"] == "marshmallow_t0")
    assert len(aggregates) == 2 * 4
    for agg in aggregates:
        runs = [r["tv_mean"] for r in records
                if (r["game"], r["algorithm"]) == (agg["game"], agg["algorithm"])]
        assert min(runs) <= agg["tv_mean_iqm"] <= agg["tv_mean_worst"] == max(runs)
        assert agg["met"] == (agg["tv_mean_iqm"] <= agg["target"]
                              and agg["train_seconds_max"] <= 60.0)


@pytest.mark.slow
def test_discount_contrast_smoke(tmp_path):
    out = tmp_path / "contrast.json"
    results = _load("discount_contrast").main(
        ["--tiny", "--episodes", "10", "--gammas", "0.5", "1.0", "--learners", "bc",
         "--out", str(out)])
    assert json.loads(out.read_text())["tiny"] is True
    # Exact claims hold even at tiny budgets.
    exponential = [r for r in results["commitment"] if r["agent"].startswith("exponential")]
    exact = [r for r in exponential if " T=" not in r["agent"]]
    noisy = [r for r in exponential if " T=" in r["agent"]]
    assert len(exact) == len(noisy) == 2
    assert all(r["commit_probability"] == 0.0 for r in exact)
    # At the beta-delta experts' temperature an exponential agent commits by mistake.
    assert all(r["commit_probability"] > 0.3 for r in noisy)
    commit = {r["agent"]: r["commit_probability"] for r in results["commitment"]}
    assert commit["beta-delta sophisticated(beta=0.6) T=0"] == 1.0
    assert commit["beta-delta naive(beta=0.6) T=0"] == 0.0
    marsh = [r for r in results["marshmallow"] if r["agent"].startswith("exponential")]
    assert all(r["gave_in_midway"] == 0.0 for r in marsh if " T=" not in r["agent"])
    assert all(r["gave_in_midway"] > 0.05 for r in marsh if " T=" in r["agent"])
    starts = {r["agent"]: r["mean_start_day"] for r in results["procrastination_start"]}
    assert starts["exponential gamma=0.5"] > starts["exponential gamma=1"]


@pytest.mark.slow
def test_adversarial_speed_smoke(tmp_path):
    out = tmp_path / "speed.json"
    result = _load("adversarial_speed").main(
        ["--tiny", "--episodes", "10", "--games", "ultimatum", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    assert [r["algorithm"] for r in saved["records"]] == ["gail", "airl"]
    for r in saved["records"]:
        assert r["speedup"] == r["dummy"]["train_seconds"] / r["batched"]["train_seconds"]
        assert r["cpu_speedup"] == r["dummy"]["cpu_seconds"] / r["batched"]["cpu_seconds"]
        assert 0.0 <= r["batched"]["tv_mean"] <= 1.0 and r["n_envs"] == 2
        for venv in ("dummy", "batched"):  # 256 generator steps with 2 copies
            assert r[venv]["env_steps"] == 128
            assert 0.0 < r[venv]["env_seconds"] < r[venv]["train_seconds"]
    assert [r["order"] for r in saved["records"]] == [["dummy", "batched"], ["batched", "dummy"]]
    flipped = _load("adversarial_speed").main(
        ["--tiny", "--episodes", "10", "--games", "ultimatum", "--algorithms", "gail",
         "--start-with", "batched", "--out", str(tmp_path / "flipped.json")])
    assert flipped["records"][0]["order"] == ["batched", "dummy"]
    assert saved["complete"]
    assert "| ultimatum | gail | 0 |" in out.with_suffix(".md").read_text()


def test_heldout_experts_and_seeds_are_not_the_tuning_ones():
    heldout, fidelity = _load("heldout"), _load("learner_fidelity")
    from subrational_gym import make_env

    assert not set(heldout.HELDOUT_SEEDS) & {0, 1, 2}
    for expert in heldout.HELDOUT_EXPERTS:
        env = make_env(expert.env_id, **expert.env_kwargs)
        table = expert.make(env).probs
        for tuned in fidelity.EXPERTS:
            if (tuned.env_id, tuned.env_kwargs) == (expert.env_id, expert.env_kwargs):
                assert not np.allclose(table, tuned.make(env).probs, atol=1e-3), tuned.name


@pytest.mark.slow
def test_heldout_smoke(tmp_path):
    out = tmp_path / "heldout.json"
    heldout = _load("heldout")
    argv = ["--tiny", "--episodes", "20", "--games", "ultimatum", "--seeds", "10",
            "--adversarial-seeds", "10", "--ablation-seeds", "10", "--out", str(out)]
    result = heldout.main(argv)
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(result))
    records = saved["records"]
    # BC and DM; GAIL and AIRL each as the project's, stock (library) and logit-only.
    assert len(records) == 2 + 2 * 3
    for r in records:
        assert r["floor_ratio"] == pytest.approx(r["tv_mean"] / r["noise_floor_tv_mean"])
    assert {(a["algorithm"], tuple(a["seeds"])) for a in saved["aggregates"]} == {
        ("bc", (10,)), ("distribution_matching", (10,)), ("gail", (10,)), ("airl", (10,))}
    for a in saved["aggregates"]:
        assert a["met"] == (a["share_met"] >= 0.9)
        assert a["worst_tv"] == max(r["tv_mean"] for r in records if r["variant"] == "project"
                                    and r["algorithm"] == a["algorithm"])
    [gail] = [a for a in saved["ablation"] if a["algorithm"] == "gail"]
    stock = next(r for r in records if (r["algorithm"], r["variant"]) == ("gail", "library"))
    assert gail["seeds"] == [10] and gail["stock"] == stock["tv_mean_final_generator"]
    # --resume runs nothing that is already in the file.
    again = heldout.main([*argv, "--resume"])
    assert again["records"] == records


def test_heldout_targets_come_out_met_and_missed():
    """The 90%-of-seeds criterion says yes for a learner inside its target on every seed
    and no (naming the learner and the seeds) for one that misses on two seeds of ten."""
    heldout = _load("heldout")

    def record(algorithm, seed, tv, floor):
        return {"variant": "project", "game": "ultimatum", "expert": "e",
                "algorithm": algorithm, "seed": seed, "tv_mean": tv,
                "noise_floor_tv_mean": floor, "floor_ratio": tv / floor}

    records = [record("bc", s, 0.02, 0.02) for s in range(10, 20)]
    records += [record("gail", s, 0.08 if s < 12 else 0.01, 0.02) for s in range(10, 20)]
    rows = {a["algorithm"]: a for a in heldout.aggregates(records)}
    assert rows["bc"]["met"] and rows["bc"]["share_met"] == 1.0
    assert not rows["gail"]["met"] and rows["gail"]["missed_seeds"] == [10, 11]
    [line] = heldout.misses(list(rows.values()))
    assert line.startswith("gail on ultimatum") and "[10, 11]" in line


def test_stock_versus_modified_effects_come_out_helps_hurts_and_unresolved():
    """Paired effects: a change that lowers TV on every (expert, seed) pair helps, one that
    raises it hurts, one that moves it both ways by noise is not resolved, and two pairs
    are too few for any verdict."""
    heldout = _load("heldout")
    rng = np.random.default_rng(0)

    def runs(game, seed, stock, logit, logit_average, anneal_final, project):
        base = {"game": game, "expert": "e", "algorithm": "gail", "seed": seed,
                "noise_floor_tv_mean": 0.01}
        return [{**base, "variant": "library", "tv_mean_final_generator": stock,
                 "tv_mean": stock},
                {**base, "variant": "logit", "tv_mean_final_generator": logit,
                 "tv_mean": logit_average},
                {**base, "variant": "project", "tv_mean_final_generator": anneal_final,
                 "tv_mean": project, "distilled_tv": 1e-6}]

    records = []
    for game in ("ultimatum", "marshmallow", "double_or_nothing"):
        for seed in (10, 11, 12):
            stock = 0.08 + 0.01 * rng.random()
            logit = stock / 2                        # helps on every pair
            average = logit + 0.01                   # hurts on every pair
            project = average + rng.normal(0, 0.01)  # noise around no change
            records += runs(game, seed, stock, logit, average, project, project)
    effects = {e["change"].split(" ")[0]: e for e in heldout.ablation_effects(records)}
    assert effects["logit"]["verdict"] == "helps" and effects["logit"]["improved"] == 9
    assert effects["logit"]["ci"][1] < 0 and effects["logit"]["pairs"] == 9
    assert effects["iterate"]["verdict"] == "hurts" and effects["iterate"]["ci"][0] > 0
    assert effects["annealing"]["verdict"] == "not resolved"
    assert effects["annealing"]["ci"][0] < 0 < effects["annealing"]["ci"][1]
    # The same seed of the bootstrap gives the same interval.
    assert heldout.ablation_effects(records) == heldout.ablation_effects(records)
    few = [r for r in records if r["seed"] == 10 and r["game"] != "double_or_nothing"]
    assert {e["verdict"] for e in heldout.ablation_effects(few)} == {"not resolved"}
    rows = heldout.ablation(records)
    assert len(rows) == 3 and rows[0]["seeds"] == [10, 11, 12]
    assert rows[0]["worst_stock"][1] == max(
        r["tv_mean_final_generator"] for r in records
        if r["game"] == "ultimatum" and r["variant"] == "library")
    assert "helps" in heldout.effects_table(heldout.ablation_effects(records))
