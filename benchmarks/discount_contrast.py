"""Exponential discounting versus present bias, and whether learners keep the difference.

Three contrasts, all exact (value iteration and evaluation on the tabular model) except
the learners, which train on ``--episodes`` demonstrations with one seed:

1. Procrastination: the start day of the exponential optimum for each ``gamma``. A low
   ``gamma`` also writes at the last minute, so the start day alone cannot tell an
   impatient (low-gamma) student from a present-biased one.
2. Procrastination with a self-imposed deadline: no exponential discounter commits,
   whatever its ``gamma`` (commitment only costs a time-consistent agent); the
   sophisticated beta-delta student does, and so does behaviour cloning trained on its
   demonstrations.
3. Marshmallow with a reliable experimenter: the deterministic exponential agent eats at
   once or waits to the end, never half-way, for every ``gamma``; the beta-delta child
   with choice noise (temperature 0.3) gives in half-way, and we measure whether each
   learner trained on its demonstrations does too.

Every contrast also lists the exponential agents at the beta-delta agents' temperature:
with the same choice noise they give in half-way and commit too, so neither behaviour
alone shows present bias. That takes a structural fit with the noise fitted
(``subrational_gym.inference``, ``benchmarks/model_recovery.py``).

Writes ``results/discount_contrast.json`` and prints Markdown tables.

    python benchmarks/discount_contrast.py
    python benchmarks/discount_contrast.py --tiny --out /tmp/d.json   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from subrational_gym import make_env, policies  # noqa: E402
from subrational_gym.evaluation import behaviour_summary  # noqa: E402
from subrational_gym.learners import (  # noqa: E402
    SMOKE_BUDGETS,
    generate_demonstrations,
    train,
)

PROCRASTINATION = "Subrational/Procrastination-v0"
MARSHMALLOW = "Subrational/Marshmallow-v0"
GAMMAS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0)
LEARNERS = ("bc", "distribution_matching", "gail", "airl")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gammas", nargs="+", type=float, default=list(GAMMAS))
    parser.add_argument("--beta", type=float, default=0.6, help="present bias of beta-delta")
    parser.add_argument("--episodes", type=int, default=500, help="demonstration episodes")
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/discount_contrast.json")
    parser.add_argument("--tiny", action="store_true", help="tiny budgets (smoke test)")
    return parser.parse_args(argv)


def _vi(env_id: str, gamma: float, **env_kwargs: Any) -> Any:
    return train("value_iteration", None, env_id, env_kwargs=env_kwargs, gamma=gamma).policy


def procrastination_start(args: argparse.Namespace) -> list[dict[str, Any]]:
    game = make_env(PROCRASTINATION)
    rows = []
    for gamma in args.gammas:
        s = behaviour_summary(game, _vi(PROCRASTINATION, gamma))
        rows.append({"agent": f"exponential gamma={gamma:g}", "gamma": gamma,
                     "mean_start_day": s["mean_start_day"],
                     "mean_finish_day": s["mean_finish_day"], "never_finish": s["never_finish"]})
    for sophisticated in (False, True):
        policy = policies.beta_delta(game, beta=args.beta, sophisticated=sophisticated)
        s = behaviour_summary(game, policy)
        rows.append({"agent": policy.name, "gamma": None, "mean_start_day": s["mean_start_day"],
                     "mean_finish_day": s["mean_finish_day"], "never_finish": s["never_finish"]})
    return rows


def _learner_kwargs(args: argparse.Namespace, algorithm: str) -> dict[str, Any]:
    return SMOKE_BUDGETS[algorithm] if args.tiny else {}


def commitment(args: argparse.Namespace) -> list[dict[str, Any]]:
    kwargs = {"self_imposed_deadline": True}
    game = make_env(PROCRASTINATION, **kwargs)
    rows = []
    for gamma in args.gammas:
        s = behaviour_summary(game, _vi(PROCRASTINATION, gamma, **kwargs))
        rows.append({"agent": f"exponential gamma={gamma:g}", "source": "exact",
                     "commit_probability": s["commit_probability"],
                     "mean_start_day": s["mean_start_day"]})
    # At the beta-delta experts' temperature, for a like-with-like comparison: a noisy
    # exponential agent commits by mistake, nearly half the time when committing is
    # almost free.
    for gamma in args.gammas:
        policy = policies.exponential_discounter(game, gamma=gamma, temperature=0.5)
        s = behaviour_summary(game, policy)
        rows.append({"agent": f"exponential gamma={gamma:g} T=0.5", "source": "exact",
                     "commit_probability": s["commit_probability"],
                     "mean_start_day": s["mean_start_day"]})
    for temperature in (0.0, 0.5):
        for sophisticated in (False, True):
            expert = policies.beta_delta(game, beta=args.beta, sophisticated=sophisticated,
                                         temperature=temperature)
            label = f"{expert.name} T={temperature:g}"
            s = behaviour_summary(game, expert)
            rows.append({"agent": label, "source": "exact",
                         "commit_probability": s["commit_probability"],
                         "mean_start_day": s["mean_start_day"]})
            if not sophisticated:
                continue
            demos = generate_demonstrations(expert, PROCRASTINATION, args.episodes,
                                            seed=args.seed, env_kwargs=kwargs)
            result = train("bc", demos, PROCRASTINATION, env_kwargs=kwargs, seed=args.seed,
                           **_learner_kwargs(args, "bc"))
            s = behaviour_summary(game, result.policy)
            rows.append({"agent": f"bc on {label}", "source": "learned",
                         "commit_probability": s["commit_probability"],
                         "mean_start_day": s["mean_start_day"]})
    return rows


def marshmallow(args: argparse.Namespace) -> list[dict[str, Any]]:
    game = make_env(MARSHMALLOW)
    keys = ("ate_at_once", "gave_in_midway", "waited_full")
    rows = []
    for gamma in args.gammas:
        s = behaviour_summary(game, _vi(MARSHMALLOW, gamma))
        rows.append({"agent": f"exponential gamma={gamma:g}", "source": "exact",
                     **{k: s[k] for k in keys}})
    # The same agents at the beta-delta child's temperature: noise alone gives in half-way.
    for gamma in args.gammas:
        s = behaviour_summary(game, policies.exponential_discounter(game, gamma=gamma,
                                                                    temperature=0.3))
        rows.append({"agent": f"exponential gamma={gamma:g} T=0.3", "source": "exact",
                     **{k: s[k] for k in keys}})
    expert = policies.beta_delta(game, beta=args.beta, temperature=0.3)
    s = behaviour_summary(game, expert)
    rows.append({"agent": f"{expert.name} T=0.3", "source": "exact", **{k: s[k] for k in keys}})
    demos = generate_demonstrations(expert, MARSHMALLOW, args.episodes, seed=args.seed)
    for algorithm in args.learners:
        result = train(algorithm, demos, MARSHMALLOW, seed=args.seed,
                       **_learner_kwargs(args, algorithm))
        s = behaviour_summary(game, result.policy)
        rows.append({"agent": f"{algorithm} on the beta-delta child", "source": "learned",
                     "train_seconds": result.record.train_seconds, **{k: s[k] for k in keys}})
    return rows


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    results = {
        "seed": args.seed, "n_episodes": args.episodes, "beta": args.beta,
        "tiny": bool(args.tiny),
        "procrastination_start": procrastination_start(args),
        "commitment": commitment(args),
        "marshmallow": marshmallow(args),
    }
    folder = os.path.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print("## Procrastination: start day of the exponential optimum by gamma")
    print(_table(results["procrastination_start"],
                 ["agent", "mean_start_day", "mean_finish_day", "never_finish"]))
    print("\n## Self-imposed deadline: who commits")
    print(_table(results["commitment"],
                 ["agent", "source", "commit_probability", "mean_start_day"]))
    print("\n## Marshmallow (reliable experimenter): half-way giving in")
    print(_table(results["marshmallow"],
                 ["agent", "source", "ate_at_once", "gave_in_midway", "waited_full"]))
    return results


if __name__ == "__main__":
    main()
