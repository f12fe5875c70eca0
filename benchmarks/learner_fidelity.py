"""How closely does each learner recover the expert it is shown?

For each expert (the behavioural reference policies of issue 4, stochastic as in the
issue and, as extra rows, their deterministic temperature-0 versions) and each seed, the
expert is rolled out for ``--episodes`` episodes; each learner trains on those
demonstrations with that seed, and its action distribution is compared with the
expert's in every state by the visit-weighted total-variation distance (exact, on the
tabular model). The raw empirical frequencies of the same demonstrations give the
sampling-noise floor: no learner that estimates each state's distribution from these
episodes alone is expected to get much closer than that. A deterministic expert has no
floor (it is 0), so its rows test the learners without sampling noise.

Writes ``results/learner_fidelity.json``: ``records`` (one per expert, algorithm and
seed) and ``aggregates`` (per expert and algorithm over seeds: interquartile mean of
``tv_mean`` with a bootstrap interval, the worst seed, the slowest training), and prints
both as Markdown tables. A record meets its target when ``tv_mean <= target`` and it
trained within 60 s; an aggregate when its IQM does and every seed trained within 60 s.

    python benchmarks/learner_fidelity.py                 # full budget, seeds 0 1 2
    python benchmarks/learner_fidelity.py --jobs 2        # two worker processes
    python benchmarks/learner_fidelity.py --tiny --out /tmp/f.json   # smoke test
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from subrational_gym import make_env, policies  # noqa: E402
from subrational_gym.aggregate import aggregate  # noqa: E402
from subrational_gym.evaluation import total_variation  # noqa: E402
from subrational_gym.learners import (  # noqa: E402
    SMOKE_BUDGETS,
    empirical_policy,
    generate_demonstrations,
    train,
)


@dataclass(frozen=True)
class Expert:
    """One expert to imitate.

    Attributes:
        game: Short name used on the command line.
        env_id: Registered id.
        env_kwargs: Constructor arguments of the env.
        name: Description of the expert for the table.
        make: Builds the expert from the unwrapped env.
    """

    game: str
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    make: Callable[[Any], Any] = lambda env: None


EXPERTS: tuple[Expert, ...] = (
    Expert("ultimatum", "Subrational/Ultimatum-v0", {}, "Fehr-Schmidt population",
           lambda env: policies.fehr_schmidt_population(env)),
    Expert("marshmallow", "Subrational/Marshmallow-v0", {},
           "beta-delta naive (beta=0.6, temperature=0.3)",
           lambda env: policies.beta_delta(env, beta=0.6, temperature=0.3)),
    Expert("double_or_nothing", "Subrational/DoubleOrNothing-v0", {},
           "prospect theory, naive planning (temperature=2)",
           lambda env: policies.prospect_theory_gambler(env, planning="naive",
                                                        temperature=2.0)),
    Expert("procrastination", "Subrational/Procrastination-v0", {},
           "beta-delta naive (beta=0.6, temperature=0.5)",
           lambda env: policies.beta_delta(env, beta=0.6, temperature=0.5)),
    Expert("procrastination_commitment", "Subrational/Procrastination-v0",
           {"self_imposed_deadline": True},
           "beta-delta sophisticated (beta=0.6, temperature=0.5)",
           lambda env: policies.beta_delta(env, beta=0.6, sophisticated=True,
                                           temperature=0.5)),
    # Deterministic (temperature 0) versions: no sampling floor.
    Expert("ultimatum_t0", "Subrational/Ultimatum-v0", {},
           "inequity-averse responder (alpha=0.85, beta=0.315, temperature=0)",
           lambda env: policies.inequity_averse_responder(env)),
    Expert("marshmallow_t0", "Subrational/Marshmallow-v0", {},
           "beta-delta naive (beta=0.6, temperature=0)",
           lambda env: policies.beta_delta(env, beta=0.6)),
    Expert("double_or_nothing_t0", "Subrational/DoubleOrNothing-v0", {},
           "prospect theory, naive planning (temperature=0)",
           lambda env: policies.prospect_theory_gambler(env, planning="naive")),
    Expert("procrastination_t0", "Subrational/Procrastination-v0", {},
           "beta-delta naive (beta=0.6, temperature=0)",
           lambda env: policies.beta_delta(env, beta=0.6)),
    Expert("procrastination_commitment_t0", "Subrational/Procrastination-v0",
           {"self_imposed_deadline": True},
           "beta-delta sophisticated (beta=0.6, temperature=0)",
           lambda env: policies.beta_delta(env, beta=0.6, sophisticated=True)),
)
#: Issue 4's targets: visit-weighted TV to the expert after 500 episodes, within 60 s.
TARGETS = {"bc": 0.02, "distribution_matching": 0.02, "gail": 0.05, "airl": 0.05}
ALGORITHMS = tuple(TARGETS)
TIME_LIMIT_S = 60.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=[e.game for e in EXPERTS],
                        choices=[e.game for e in EXPERTS], help="experts to imitate")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS),
                        choices=list(ALGORITHMS), help="learners to train")
    parser.add_argument("--episodes", type=int, default=500, help="demonstration episodes")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds of demonstrations and training (one run each)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="worker processes (each trains on one thread; more jobs than "
                             "free cores inflate train_seconds)")
    parser.add_argument("--out", default="results/learner_fidelity.json", help="JSON output")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny budgets (a smoke test; the numbers mean nothing)")
    return parser.parse_args(argv)


def run_one(game: str, seed: int, algorithms: Sequence[str], episodes: int,
            tiny: bool) -> list[dict[str, Any]]:
    """Every learner on one expert's demonstrations with one seed."""
    expert_cfg = next(e for e in EXPERTS if e.game == game)
    env = make_env(expert_cfg.env_id, **expert_cfg.env_kwargs)
    model = env.tabular_model()
    expert = expert_cfg.make(env)
    demos = generate_demonstrations(expert, expert_cfg.env_id, episodes, seed=seed,
                                    env_kwargs=expert_cfg.env_kwargs)
    floor = total_variation(model, expert, empirical_policy(model, demos, smoothing=0.0))
    records = []
    for algorithm in algorithms:
        extra = SMOKE_BUDGETS[algorithm] if tiny else {}
        result = train(algorithm, demos, expert_cfg.env_id,
                       env_kwargs=expert_cfg.env_kwargs, seed=seed, **extra)
        distance = total_variation(model, expert, result.policy)
        target = TARGETS[algorithm]
        seconds = result.record.train_seconds
        records.append({
            "game": expert_cfg.game,
            "env_id": expert_cfg.env_id,
            "env_kwargs": expert_cfg.env_kwargs,
            "expert": expert_cfg.name,
            "deterministic_expert": bool(((expert.probs == 0) | (expert.probs == 1))[
                model.decision_mask].all()),
            "algorithm": algorithm,
            "seed": seed,
            "n_episodes": episodes,
            "budget": result.record.budget,
            "tv_mean": distance.mean,
            "tv_max": distance.max,
            "noise_floor_tv_mean": floor.mean,
            "train_seconds": seconds,
            "target": target,
            "met": bool(distance.mean <= target and seconds <= TIME_LIMIT_S),
            "tiny": bool(tiny),
            "hyperparameters": result.record.hyperparameters,
            "final_losses": result.record.final_losses,
        })
        print(f"  {game:30s} seed {seed} {algorithm:22s} tv={distance.mean:.4f} "
              f"({seconds:.1f} s)", file=sys.stderr, flush=True)
    return records


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    tasks = [(e.game, seed) for e in EXPERTS if e.game in args.games for seed in args.seeds]
    call = [(game, seed, list(args.algorithms), args.episodes, bool(args.tiny))
            for game, seed in tasks]
    if args.jobs <= 1:
        chunks = [run_one(*c) for c in call]
    else:
        with ProcessPoolExecutor(args.jobs,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(pool.map(run_one, *zip(*call, strict=True)))
    return [r for chunk in chunks for r in chunk]


def aggregates(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per expert and algorithm: IQM of ``tv_mean`` over seeds, worst seed, slowest run."""
    out = []
    keys = list(dict.fromkeys((r["game"], r["algorithm"]) for r in records))
    for game, algorithm in keys:
        rows = [r for r in records if r["game"] == game and r["algorithm"] == algorithm]
        agg = aggregate([r["tv_mean"] for r in rows])
        worst = max(rows, key=lambda r: r["tv_mean"])
        seconds = max(r["train_seconds"] for r in rows)
        target = rows[0]["target"]
        out.append({
            "game": game, "env_id": rows[0]["env_id"], "expert": rows[0]["expert"],
            "deterministic_expert": rows[0]["deterministic_expert"],
            "algorithm": algorithm, "seeds": [r["seed"] for r in rows],
            "n_episodes": rows[0]["n_episodes"],
            "tv_mean_iqm": agg.iqm, "tv_mean_ci": [agg.ci_low, agg.ci_high],
            "tv_mean_worst": worst["tv_mean"], "worst_seed": worst["seed"],
            "tv_max_worst": max(r["tv_max"] for r in rows),
            "noise_floor_tv_mean_iqm": aggregate(
                [r["noise_floor_tv_mean"] for r in rows]).iqm,
            "train_seconds_max": seconds, "target": target,
            "met": bool(agg.iqm <= target and seconds <= TIME_LIMIT_S),
            "met_every_seed": all(r["met"] for r in rows),
            "miss_by": max(0.0, agg.iqm - target),
        })
    return out


def table(records: Sequence[dict[str, Any]]) -> str:
    lines = ["| game | algorithm | seed | tv_mean | tv_max | noise floor | train s | target "
             "| met |", "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['game']} | {r['algorithm']} | {r['seed']} | {r['tv_mean']:.4f} | "
            f"{r['tv_max']:.3f} | {r['noise_floor_tv_mean']:.4f} | {r['train_seconds']:.1f} | "
            f"{r['target']:.2f} | {'yes' if r['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def aggregate_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| game | algorithm | IQM tv_mean | worst seed | noise floor (IQM) | max train s "
             "| target | met (IQM) | every seed |", "|---|---|---|---|---|---|---|---|---|"]
    for a in rows:
        lines.append(
            f"| {a['game']} | {a['algorithm']} | {a['tv_mean_iqm']:.4f} | "
            f"{a['tv_mean_worst']:.4f} (seed {a['worst_seed']}) | "
            f"{a['noise_floor_tv_mean_iqm']:.4f} | {a['train_seconds_max']:.1f} | "
            f"{a['target']:.2f} | {'yes' if a['met'] else 'NO'} | "
            f"{'yes' if a['met_every_seed'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    records = run(args)
    result = {
        "config": {"episodes": args.episodes, "seeds": list(args.seeds),
                   "algorithms": list(args.algorithms), "games": list(args.games),
                   "jobs": args.jobs, "tiny": bool(args.tiny), "targets": TARGETS,
                   "time_limit_s": TIME_LIMIT_S},
        "records": records,
        "aggregates": aggregates(records),
    }
    folder = os.path.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"learner fidelity: {args.episodes} episodes, seeds {list(args.seeds)}"
          f"{' (tiny budgets)' if args.tiny else ''}")
    print(table(records))
    print()
    print(aggregate_table(result["aggregates"]))
    return result


if __name__ == "__main__":
    main()
