"""Do the tuned learners generalise? Fidelity on held-out experts and seeds.

The learners' defaults were tuned on the experts of ``benchmarks/learner_fidelity.py``
and seeds 0-2 (``docs/benchmarks/tuning_history.md``). This benchmark uses expert
parameters and seeds that were never used for tuning, fixed here before any run
(:data:`HELDOUT_EXPERTS`, seeds 10-19): nothing in the learners may be tuned on them.

For each expert and seed the expert is rolled out for ``--episodes`` episodes; the
**sampling floor** is the visit-weighted total variation (TV) between the expert and the
raw empirical frequencies of those episodes, what any per-state estimator from these
episodes is stuck near. Each learner's TV to the expert (exact, on the tabular model) is
reported with its ratio to that floor. Targets (:data:`TARGETS`), each in at least 90%
of the seeds run: BC and distribution matching within 1.25x the floor, GAIL and AIRL
within TV 0.05. Every expert and learner that misses is named.

**Stock versus modified** (``--ablation-seeds``): GAIL and AIRL also run as stock
imitation 1.0.1 would (its own generator reward, constant learning rate) and with the
logit reward alone. The final generator and the iterate average of every run are both
read (averaging only reads the generator, it does not change training), which gives six
numbers per expert and seed: stock, library reward + average, logit reward, logit +
average, logit + annealing, and the project's (logit + annealing + average). The
project's runs also report the TV of the distilled network to the averaged table.

Writes ``--out`` (JSON: config, every record, aggregates) after each expert and seed, so
an interrupted run keeps what it finished (``--resume`` skips it), and prints Markdown
tables.

    python -m benchmarks.heldout                                   # everything
    python -m benchmarks.heldout --algorithms bc distribution_matching
    python -m benchmarks.heldout --tiny --seeds 10 --out /tmp/h.json  # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.learner_fidelity import Expert  # noqa: E402
from subrational_gym import make_env, policies  # noqa: E402
from subrational_gym.aggregate import aggregate  # noqa: E402
from subrational_gym.evaluation import total_variation  # noqa: E402
from subrational_gym.learners import (  # noqa: E402
    SMOKE_BUDGETS,
    STOCK,
    as_tabular_policy,
    empirical_policy,
    generate_demonstrations,
    train,
)
from subrational_gym.policies import TabularPolicy  # noqa: E402

#: A population of inequity-averse responders unlike Fehr and Schmidt's (the tuning
#: expert): (alpha, beta, share), each answering with choice noise 0.3.
ULTIMATUM_POPULATION = ((0.2, 0.1, 0.4), (0.6, 0.3, 0.35), (1.5, 0.5, 0.25))


def inequity_population(env: Any) -> TabularPolicy:
    """The held-out ultimatum expert: the share-weighted mixture of the responders."""
    probs = sum(share * policies.inequity_averse_responder(
        env, alpha=alpha, beta=beta, temperature=0.3).probs
        for alpha, beta, share in ULTIMATUM_POPULATION)
    return TabularPolicy(env.tabular_model(), probs, name="held-out inequity population")


#: Held-out experts: parameters never used for tuning (fixed before the first run).
HELDOUT_EXPERTS: tuple[Expert, ...] = (
    Expert("ultimatum", "Subrational/Ultimatum-v0", {},
           "inequity-averse population (alpha 0.2/0.6/1.5, beta 0.1/0.3/0.5, T 0.3)",
           inequity_population),
    Expert("marshmallow", "Subrational/Marshmallow-v0", {},
           "beta-delta naive (beta=0.8, temperature=0.5)",
           lambda env: policies.beta_delta(env, beta=0.8, temperature=0.5)),
    Expert("double_or_nothing", "Subrational/DoubleOrNothing-v0", {},
           "prospect theory (alpha=0.7, loss aversion 1.5), naive planning, temperature=1",
           lambda env: policies.prospect_theory_gambler(
               env, alpha=0.7, beta=0.7, loss_aversion=1.5, planning="naive",
               temperature=1.0)),
    Expert("procrastination", "Subrational/Procrastination-v0", {},
           "beta-delta naive (beta=0.5, temperature=0.3)",
           lambda env: policies.beta_delta(env, beta=0.5, temperature=0.3)),
    Expert("procrastination_commitment", "Subrational/Procrastination-v0",
           {"self_imposed_deadline": True},
           "beta-delta sophisticated (beta=0.8, temperature=0.8)",
           lambda env: policies.beta_delta(env, beta=0.8, sophisticated=True,
                                           temperature=0.8)),
)
HELDOUT_SEEDS = tuple(range(10, 20))
#: (kind, value): "floor_ratio" (TV at most value x the sampling floor) or "tv".
TARGETS = {"bc": ("floor_ratio", 1.25), "distribution_matching": ("floor_ratio", 1.25),
           "gail": ("tv", 0.05), "airl": ("tv", 0.05)}
#: Share of seeds that must meet the target.
REQUIRED_SHARE = 0.9
ALGORITHMS = tuple(TARGETS)
ADVERSARIAL = ("gail", "airl")
#: Stock-versus-modified runs: name -> overrides (averaging is read from every run).
VARIANTS = {
    "library": {**STOCK, "average_last": 0.5},
    "logit": {**STOCK, "generator_reward": "logit", "average_last": 0.5},
    "project": {},
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    games = [e.game for e in HELDOUT_EXPERTS]
    parser.add_argument("--games", nargs="+", default=games, choices=games)
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS),
                        choices=list(ALGORITHMS))
    parser.add_argument("--episodes", type=int, default=500, help="demonstration episodes")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(HELDOUT_SEEDS),
                        help="seeds of BC and distribution matching")
    parser.add_argument("--adversarial-seeds", nargs="+", type=int,
                        default=list(HELDOUT_SEEDS), help="seeds of GAIL and AIRL")
    parser.add_argument("--ablation-seeds", nargs="*", type=int, default=[],
                        help="seeds on which GAIL and AIRL also run stock and logit-only")
    parser.add_argument("--ablation-games", nargs="+", default=games, choices=games,
                        help="experts on which the stock-vs-modified runs are made")
    parser.add_argument("--out", default="results/heldout.json", help="JSON output")
    parser.add_argument("--resume", action="store_true",
                        help="keep the records already in --out and skip their runs")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny budgets (a smoke test; the numbers mean nothing)")
    return parser.parse_args(argv)


def _runs(game: str, algorithm: str, seed: int, args: argparse.Namespace) -> list[str]:
    """The variants of ``algorithm`` to train on ``seed``."""
    if algorithm not in ADVERSARIAL:
        return ["project"] if seed in args.seeds else []
    runs = ["project"] if seed in args.adversarial_seeds else []
    if seed in args.ablation_seeds and game in args.ablation_games:
        runs = [v for v in VARIANTS if v != "project"] + ["project"]
    return runs


def _record(expert_cfg: Expert, model: Any, expert: Any, result: Any, variant: str,
            floor: float, seed: int) -> dict[str, Any]:
    algorithm = result.record.algorithm
    tv = total_variation(model, expert, result.policy).mean
    record = {
        "game": expert_cfg.game, "expert": expert_cfg.name, "algorithm": algorithm,
        "variant": variant, "seed": seed, "tv_mean": tv, "noise_floor_tv_mean": floor,
        "floor_ratio": tv / floor, "train_seconds": result.record.train_seconds,
        "budget": result.record.budget, "hyperparameters": result.record.hyperparameters,
    }
    if algorithm in ADVERSARIAL:
        final = as_tabular_policy(model, result.trained, features=result.features)
        record["tv_mean_final_generator"] = total_variation(model, expert, final).mean
        record["distilled_tv"] = result.record.distilled_tv
    return record


def run_one(expert_cfg: Expert, seed: int, args: argparse.Namespace,
            done: set[tuple[str, int, str, str]], records: list[dict[str, Any]]) -> None:
    """Every requested learner and variant on one expert's demonstrations with one seed.

    Appends each record to ``records`` and saves them all to ``args.out`` at once.
    """
    pending = [(algorithm, variant) for algorithm in args.algorithms
               for variant in _runs(expert_cfg.game, algorithm, seed, args)
               if (expert_cfg.game, seed, algorithm, variant) not in done]
    if not pending:
        return
    env = make_env(expert_cfg.env_id, **expert_cfg.env_kwargs)
    model, expert = env.tabular_model(), expert_cfg.make(env)
    demos = generate_demonstrations(expert, expert_cfg.env_id, args.episodes, seed=seed,
                                    env_kwargs=expert_cfg.env_kwargs)
    floor = total_variation(model, expert, empirical_policy(model, demos, smoothing=0.0)).mean
    for algorithm, variant in pending:
        extra = {**VARIANTS[variant], **(SMOKE_BUDGETS[algorithm] if args.tiny else {})}
        result = train(algorithm, demos, expert_cfg.env_id,
                       env_kwargs=expert_cfg.env_kwargs, seed=seed, **extra)
        records.append(_record(expert_cfg, model, expert, result, variant, floor, seed))
        print(f"  {expert_cfg.game:28s} seed {seed} {algorithm:22s} {variant:8s} "
              f"tv={records[-1]['tv_mean']:.4f} floor={floor:.4f} "
              f"({result.record.train_seconds:.1f} s)", file=sys.stderr, flush=True)
        _save(args.out, args, records)


def _meets(record: dict[str, Any]) -> bool:
    kind, value = TARGETS[record["algorithm"]]
    return bool(record[kind if kind == "floor_ratio" else "tv_mean"] <= value)


def aggregates(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per expert and learner (the project's variant): IQM, floor ratio, share met, worst."""
    out = []
    rows_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r["variant"] == "project":
            rows_of.setdefault((r["game"], r["algorithm"]), []).append(r)
    for (game, algorithm), rows in rows_of.items():
        rows = sorted(rows, key=lambda r: r["seed"])
        worst = max(rows, key=lambda r: r["tv_mean"])
        share = float(np.mean([_meets(r) for r in rows]))
        out.append({
            "game": game, "expert": rows[0]["expert"], "algorithm": algorithm,
            "seeds": [r["seed"] for r in rows],
            "tv_mean_iqm": aggregate([r["tv_mean"] for r in rows]).iqm,
            "noise_floor_iqm": aggregate([r["noise_floor_tv_mean"] for r in rows]).iqm,
            "floor_ratio_iqm": aggregate([r["floor_ratio"] for r in rows]).iqm,
            "worst_tv": worst["tv_mean"], "worst_seed": worst["seed"],
            "worst_floor_ratio": max(r["floor_ratio"] for r in rows),
            "target": list(TARGETS[algorithm]), "share_met": share,
            "met": share >= REQUIRED_SHARE,
            "missed_seeds": [r["seed"] for r in rows if not _meets(r)],
            "distilled_tv_max": max((r["distilled_tv"] for r in rows
                                     if r.get("distilled_tv") is not None), default=None),
        })
    return sorted(out, key=lambda a: (ALGORITHMS.index(a["algorithm"]), a["game"]))


#: The six readings of a stock-versus-modified expert and seed: (key, variant, field).
READINGS = (("stock", "library", "tv_mean_final_generator"),
            ("library_average", "library", "tv_mean"),
            ("logit", "logit", "tv_mean_final_generator"),
            ("logit_average", "logit", "tv_mean"),
            ("logit_anneal", "project", "tv_mean_final_generator"),
            ("project", "project", "tv_mean"))
#: Each change of the project's GAIL / AIRL: (name, reading without it, reading with it).
CHANGES = (("logit reward (final generator)", "stock", "logit"),
           ("iterate average (on the logit reward)", "logit", "logit_average"),
           ("annealing (on logit + average)", "logit_average", "project"),
           ("all three (stock -> project)", "stock", "project"))


def _readings(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str, int], dict]:
    """The readings of every (game, algorithm, seed) that has a stock-versus-modified run."""
    by: dict[tuple[str, str, int], dict[str, dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["game"], r["algorithm"], r["seed"]), {})[r["variant"]] = r
    out = {}
    for key, variants in by.items():
        if set(variants) <= {"project"}:
            continue
        out[key] = {name: variants[v][field] for name, v, field in READINGS
                    if v in variants and variants[v].get(field) is not None}
        if "project" in variants and variants["project"].get("distilled_tv") is not None:
            out[key]["distilled_tv"] = variants["project"]["distilled_tv"]
    return out


def ablation(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stock versus modified GAIL and AIRL, per expert.

    The mean TV of each reading over the expert's stock-versus-modified seeds, and the
    worst seed of the stock and of the project's readings.
    """
    readings = _readings(records)
    out = []
    for game, algorithm in dict.fromkeys((g, a) for g, a, _ in readings):
        per_seed = {s: v for (g, a, s), v in readings.items() if (g, a) == (game, algorithm)}
        row: dict[str, Any] = {"game": game, "algorithm": algorithm, "seeds": sorted(per_seed)}
        for name in [n for n, _, _ in READINGS] + ["distilled_tv"]:
            values = [v[name] for v in per_seed.values() if name in v]
            row[name] = float(np.mean(values)) if values else float("nan")  # not run (yet)
        for name in ("stock", "project"):
            worst = max((s for s in per_seed if name in per_seed[s]),
                        key=lambda s, name=name: per_seed[s][name], default=None)
            row[f"worst_{name}"] = (None if worst is None
                                    else [worst, per_seed[worst][name]])
        out.append(row)
    return out


def ablation_effects(records: Sequence[dict[str, Any]], *, confidence: float = 0.95,
                     seed: int = 0) -> list[dict[str, Any]]:
    """Each change's effect on TV, paired over every (expert, seed) run both ways.

    The mean change (with minus without; negative: closer to the expert) gets a
    percentile bootstrap interval over the pairs (``scipy.stats.bootstrap``, seeded); the
    verdict is ``helps`` when the interval lies below 0, ``hurts`` when above, and ``not
    resolved`` when it covers 0 or there are fewer than three pairs.
    """
    readings = _readings(records)
    out = []
    for algorithm in dict.fromkeys(a for _, a, _ in readings):
        target = TARGETS[algorithm][1]  # GAIL's and AIRL's TV target
        for name, without, with_ in CHANGES:
            pairs = sorted((g, s, v[without], v[with_]) for (g, a, s), v in readings.items()
                           if a == algorithm and without in v and with_ in v)
            if not pairs:
                continue
            diffs = np.array([w - wo for _, _, wo, w in pairs])
            low = high = float("nan")
            if len(diffs) >= 3 and np.ptp(diffs) > 0:
                ci = stats.bootstrap((diffs,), np.mean, confidence_level=confidence,
                                     n_resamples=9999, method="percentile",
                                     random_state=np.random.default_rng(seed)).confidence_interval
                low, high = float(ci.low), float(ci.high)
            elif len(diffs) >= 3:
                low = high = float(diffs[0])
            verdict = ("helps" if high < 0 else "hurts" if low > 0 else "not resolved")
            out.append({"algorithm": algorithm, "change": name, "pairs": len(pairs),
                        "experts": sorted({g for g, *_ in pairs}),
                        "mean_without": float(np.mean([p[2] for p in pairs])),
                        "mean_with": float(np.mean([p[3] for p in pairs])),
                        "mean_change": float(diffs.mean()), "ci": [low, high],
                        "confidence": confidence, "improved": int((diffs < 0).sum()),
                        "met_without": int(sum(p[2] <= target for p in pairs)),
                        "met_with": int(sum(p[3] <= target for p in pairs)),
                        "verdict": verdict})
    return out


def heldout_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| learner | expert | seeds | IQM TV | IQM floor | IQM TV / floor | worst seed "
             "(TV, TV / floor) | target | seeds meeting it | met |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for a in rows:
        kind, value = a["target"]
        target = f"<= {value}x floor" if kind == "floor_ratio" else f"TV <= {value}"
        lines.append(
            f"| {a['algorithm']} | {a['game']} | {len(a['seeds'])} | {a['tv_mean_iqm']:.4f} | "
            f"{a['noise_floor_iqm']:.4f} | {a['floor_ratio_iqm']:.2f} | {a['worst_seed']} "
            f"({a['worst_tv']:.4f}, {a['worst_floor_ratio']:.2f}) | {target} | "
            f"{a['share_met']:.0%} | {'yes' if a['met'] else '**NO**'} |")
    return "\n".join(lines)


def ablation_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| learner | expert | seeds | stock (library reward, final) | library + average "
             "| logit, final | logit + average | logit + annealing, final | project "
             "(logit + annealing + average) | worst seed: stock, project | distilled "
             "network to project table |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def worst(w: list | None) -> str:
        return "-" if w is None else f"{w[0]} ({w[1]:.4f})"

    for a in rows:
        lines.append(
            f"| {a['algorithm']} | {a['game']} | {' '.join(map(str, a['seeds']))} | "
            f"{a['stock']:.4f} | {a['library_average']:.4f} | {a['logit']:.4f} | "
            f"{a['logit_average']:.4f} | {a['logit_anneal']:.4f} | {a['project']:.4f} | "
            f"{worst(a.get('worst_stock'))}, {worst(a.get('worst_project'))} | "
            f"{a['distilled_tv']:.1e} |")
    return "\n".join(lines)


def effects_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| learner | change | pairs (expert x seed) | mean TV without | mean TV with | "
             "mean change [95% CI] | pairs improved | pairs within TV 0.05: without, with "
             "| verdict |", "|---|---|---|---|---|---|---|---|---|"]
    for e in rows:
        lines.append(
            f"| {e['algorithm']} | {e['change']} | {e['pairs']} | {e['mean_without']:.4f} | "
            f"{e['mean_with']:.4f} | {e['mean_change']:+.4f} [{e['ci'][0]:+.4f}, "
            f"{e['ci'][1]:+.4f}] | {e['improved']} of {e['pairs']} | {e['met_without']}, "
            f"{e['met_with']} | {e['verdict']} |")
    return "\n".join(lines)


def misses(rows: Sequence[dict[str, Any]]) -> list[str]:
    """One line per expert and learner that misses its target."""
    return [f"{a['algorithm']} on {a['game']} ({a['expert']}): target met in "
            f"{a['share_met']:.0%} of seeds {a['seeds']}, missed on {a['missed_seeds']}"
            for a in rows if not a["met"]]


def _save(path: str, args: argparse.Namespace, records: list[dict[str, Any]]) -> dict:
    result = {
        "config": {"episodes": args.episodes, "seeds": args.seeds,
                   "adversarial_seeds": args.adversarial_seeds,
                   "ablation_seeds": args.ablation_seeds,
                   "ablation_games": args.ablation_games, "games": args.games,
                   "algorithms": args.algorithms, "tiny": bool(args.tiny),
                   "targets": TARGETS, "required_share": REQUIRED_SHARE,
                   "experts": {e.game: e.name for e in HELDOUT_EXPERTS}},
        "records": records, "aggregates": aggregates(records), "ablation": ablation(records),
        "ablation_effects": ablation_effects(records),
    }
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    return result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    records: list[dict[str, Any]] = []
    if args.resume and os.path.exists(args.out):
        with open(args.out) as f:
            records = json.load(f)["records"]
    done = {(r["game"], r["seed"], r["algorithm"], r["variant"]) for r in records}
    seeds = sorted(set(args.seeds) | set(args.adversarial_seeds) | set(args.ablation_seeds))
    start = time.perf_counter()
    # Seed-major (an interrupted run covers every expert): the stock-vs-modified seeds,
    # then the quick BC/DM-only seeds, then the other GAIL/AIRL seeds.
    seeds = sorted(seeds, key=lambda s: (0 if s in args.ablation_seeds else
                                         2 if s in args.adversarial_seeds else 1, s))
    for seed in seeds:
        for expert_cfg in (e for e in HELDOUT_EXPERTS if e.game in args.games):
            run_one(expert_cfg, seed, args, done, records)
    result = _save(args.out, args, records)
    print(f"held-out fidelity: {args.episodes} episodes; BC/DM seeds {args.seeds}, GAIL/AIRL "
          f"seeds {args.adversarial_seeds}, stock-vs-modified seeds {args.ablation_seeds}"
          f"{' (tiny budgets)' if args.tiny else ''}; {time.perf_counter() - start:.0f} s")
    print(heldout_table(result["aggregates"]))
    print()
    print(ablation_table(result["ablation"]))
    print()
    if result["ablation_effects"]:
        print("Each change, paired over the (expert, seed) runs made both ways (negative: "
              "closer to the expert; percentile bootstrap over the pairs):")
        print(effects_table(result["ablation_effects"]))
        print()
    distilled = [r["distilled_tv"] for r in records
                 if r["variant"] == "project" and r.get("distilled_tv") is not None]
    if distilled:
        print(f"Distilled network (TrainResult.network) to the averaged table over all "
              f"{len(distilled)} GAIL/AIRL runs: visit-weighted TV at most "
              f"{max(distilled):.1e}, median {np.median(distilled):.1e}")
        print()
    print("\n".join(["Misses:"] + misses(result["aggregates"]) if misses(result["aggregates"])
                    else ["Every target met."]))
    return result


if __name__ == "__main__":
    main()
