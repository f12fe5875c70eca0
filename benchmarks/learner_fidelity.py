"""How closely does each learner recover the expert it is shown?

For each game, a behavioural reference policy (the expert) is rolled out for
``--episodes`` episodes; each learner trains on those demonstrations with one fixed
seed, and its action distribution is compared with the expert's in every state by the
visit-weighted total-variation distance (exact, on the tabular model). The smoothed
empirical frequencies of the same demonstrations give the sampling-noise floor: no
learner that estimates each state's distribution from these episodes alone is expected
to get much closer than that.

Writes ``results/learner_fidelity.json`` (one record per game and algorithm) and
prints a Markdown table.

    python benchmarks/learner_fidelity.py                    # full budget (minutes)
    python benchmarks/learner_fidelity.py --tiny --out /tmp/f.json   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from subrational_gym import make_env, policies  # noqa: E402
from subrational_gym.evaluation import total_variation  # noqa: E402
from subrational_gym.learners import (  # noqa: E402
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
)
#: Issue 4's targets: visit-weighted TV to the expert after 500 episodes.
TARGETS = {"bc": 0.02, "distribution_matching": 0.02, "gail": 0.05, "airl": 0.05}
ALGORITHMS = tuple(TARGETS)
#: Budgets small enough for a smoke test (seconds in all).
TINY_BUDGETS = {
    "bc": {"budget": 1},
    "distribution_matching": {"budget": 5},
    "gail": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
    "airl": {"budget": 256, "n_envs": 2, "n_steps": 64, "batch_size": 64, "n_epochs": 1},
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=[e.game for e in EXPERTS],
                        choices=[e.game for e in EXPERTS], help="experts to imitate")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS),
                        choices=list(ALGORITHMS), help="learners to train")
    parser.add_argument("--episodes", type=int, default=500, help="demonstration episodes")
    parser.add_argument("--seed", type=int, default=0, help="seed of demos and training")
    parser.add_argument("--out", default="results/learner_fidelity.json", help="JSON output")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny budgets (a smoke test; the numbers mean nothing)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    records = []
    for expert_cfg in EXPERTS:
        if expert_cfg.game not in args.games:
            continue
        env = make_env(expert_cfg.env_id, **expert_cfg.env_kwargs)
        model = env.tabular_model()
        expert = expert_cfg.make(env)
        demos = generate_demonstrations(expert, expert_cfg.env_id, args.episodes,
                                        seed=args.seed, env_kwargs=expert_cfg.env_kwargs)
        floor = total_variation(model, expert, empirical_policy(model, demos, smoothing=0.0))
        for algorithm in args.algorithms:
            extra = TINY_BUDGETS[algorithm] if args.tiny else {}
            result = train(algorithm, demos, expert_cfg.env_id,
                           env_kwargs=expert_cfg.env_kwargs, seed=args.seed, **extra)
            distance = total_variation(model, expert, result.policy)
            target = TARGETS[algorithm]
            records.append({
                "game": expert_cfg.game,
                "env_id": expert_cfg.env_id,
                "env_kwargs": expert_cfg.env_kwargs,
                "expert": expert_cfg.name,
                "algorithm": algorithm,
                "seed": args.seed,
                "n_episodes": args.episodes,
                "budget": result.record.budget,
                "tv_mean": distance.mean,
                "tv_max": distance.max,
                "noise_floor_tv_mean": floor.mean,
                "train_seconds": result.record.train_seconds,
                "target": target,
                "met": bool(distance.mean <= target and result.record.train_seconds <= 60.0),
                "tiny": bool(args.tiny),
                "hyperparameters": result.record.hyperparameters,
                "final_losses": result.record.final_losses,
            })
            print(f"  {expert_cfg.game:27s} {algorithm:22s} tv={distance.mean:.4f} "
                  f"({result.record.train_seconds:.1f} s)", file=sys.stderr, flush=True)
    return records


def table(records: Sequence[dict[str, Any]]) -> str:
    lines = ["| game | algorithm | tv_mean | tv_max | noise floor | train s | target | met |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['game']} | {r['algorithm']} | {r['tv_mean']:.4f} | {r['tv_max']:.3f} | "
            f"{r['noise_floor_tv_mean']:.4f} | {r['train_seconds']:.1f} | {r['target']:.2f} | "
            f"{'yes' if r['met'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    records = run(args)
    folder = os.path.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(records, f, indent=2)
    print(f"learner fidelity: {args.episodes} episodes, seed {args.seed}"
          f"{' (tiny budgets)' if args.tiny else ''}")
    print(table(records))
    return records


if __name__ == "__main__":
    main()
