"""GAIL and AIRL wall time per run: generator on DummyVecEnv (before) or the batched env (after).

For each expert of ``benchmarks/learner_fidelity.py`` (the stochastic ones by default)
and each seed, the expert's demonstrations (``--episodes``) are generated once; GAIL
and AIRL then train on them at their default budget (100k generator steps, 8 copies)
twice, with ``venv="dummy"`` (SB3's ``DummyVecEnv`` of single envs, what the learners
used before the batched env) and ``venv="batched"``
(:class:`~subrational_gym.learners.SubrationalVecEnv`), one after the other, in the
same process, which of the two goes first alternating from run to run (so a drift in
the machine's load favours neither). Reported per run: ``train_seconds`` (the
learner's own wall-clock timing of the adversarial training loop, generator and
discriminator), the process's CPU seconds over ``train`` (less sensitive than wall time
to other jobs on a shared machine), the seconds spent inside the vector env itself
(its ``reset`` and ``step_wait``, timed by wrapping them: the part the batched env can
change; imitation's buffering and reward wrappers around it are the same for both),
the speed-ups, and the exact visit-weighted total
variation to the expert (the two venvs draw different episodes, so the policies differ;
the distance shows whether they learn equally well).

    python -m benchmarks.adversarial_speed                     # 5 experts, seed 0
    python -m benchmarks.adversarial_speed --tiny --out /tmp/a.json   # smoke test

Writes ``results/adversarial_speed.json`` (and ``.md`` beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks.learner_fidelity import EXPERTS  # noqa: E402
from subrational_gym import make_env  # noqa: E402
from subrational_gym.evaluation import total_variation  # noqa: E402
from subrational_gym.learners import (  # noqa: E402
    SMOKE_BUDGETS,
    generate_demonstrations,
    train,
)

STOCHASTIC = [e.game for e in EXPERTS if not e.game.endswith("_t0")]
ALGORITHMS = ("gail", "airl")


class _EnvClock:
    """Times the vector env's own ``reset`` and ``step_wait`` while it is active.

    Instrumentation only: it wraps those methods of ``DummyVecEnv`` and
    ``SubrationalVecEnv`` (the base of imitation's wrappers, which are the same for
    both) for the duration of a ``with`` block, so a run reports how much of its wall
    time the env itself took.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._saved: list[tuple[type, str, Any]] = []

    def __enter__(self) -> _EnvClock:
        from stable_baselines3.common.vec_env import DummyVecEnv

        from subrational_gym.learners import SubrationalVecEnv

        for cls in (DummyVecEnv, SubrationalVecEnv):
            for name in ("reset", "step_wait"):
                original = cls.__dict__[name]
                self._saved.append((cls, name, original))
                setattr(cls, name, self._timed(original, count=name == "step_wait"))
        return self

    def __exit__(self, *exc: object) -> None:
        for cls, name, original in self._saved:
            setattr(cls, name, original)
        self._saved.clear()

    def _timed(self, method: Any, *, count: bool) -> Any:
        def timed(venv: Any, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(venv, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += int(count)

        return timed


def run_one(game: str, seed: int, algorithms: Sequence[str], episodes: int,
            tiny: bool, flip: bool = False) -> list[dict[str, Any]]:
    """Both venvs for every algorithm on one expert's demonstrations with one seed.

    DummyVecEnv trains first for the first algorithm, the batched env for the second,
    and so on; ``flip`` starts with the batched env instead.
    """
    cfg = next(e for e in EXPERTS if e.game == game)
    env = make_env(cfg.env_id, **cfg.env_kwargs)
    model = env.tabular_model()
    expert = cfg.make(env)
    demos = generate_demonstrations(expert, cfg.env_id, episodes, seed=seed,
                                    env_kwargs=cfg.env_kwargs)
    records = []
    for algorithm in algorithms:
        extra = dict(SMOKE_BUDGETS[algorithm]) if tiny else {}
        row: dict[str, Any] = {"game": game, "env_id": cfg.env_id, "expert": cfg.name,
                               "algorithm": algorithm, "seed": seed, "n_episodes": episodes,
                               "tiny": bool(tiny)}
        # Alternate which venv runs first, so that a drift in the machine's load does not
        # favour one of them throughout, and train each once at a tiny budget before
        # timing, so that one-time costs (imports, torch's first use of a network shape)
        # are charged to neither. (Without these, the venv that trained first was the
        # slower one in 5 of 6 pairs, its order fixed per algorithm.)
        order = (("dummy", "batched") if (len(records) + flip) % 2 == 0
                 else ("batched", "dummy"))
        for venv in order:
            train(algorithm, demos, cfg.env_id, env_kwargs=cfg.env_kwargs, seed=seed, venv=venv,
                  **SMOKE_BUDGETS[algorithm])
        for venv in order:
            start, cpu_start = time.perf_counter(), time.process_time()
            with _EnvClock() as clock:
                result = train(algorithm, demos, cfg.env_id, env_kwargs=cfg.env_kwargs,
                               seed=seed, venv=venv, **extra)
            row[venv] = {"train_seconds": result.record.train_seconds,
                         "wall_seconds": time.perf_counter() - start,
                         "cpu_seconds": time.process_time() - cpu_start,
                         "env_seconds": clock.seconds, "env_steps": clock.calls,
                         "tv_mean": total_variation(model, expert, result.policy).mean}
            row["budget"] = result.record.budget
            row["n_envs"] = result.record.hyperparameters["n_envs"]
        row["order"] = list(order)
        row["speedup"] = row["dummy"]["train_seconds"] / row["batched"]["train_seconds"]
        row["cpu_speedup"] = row["dummy"]["cpu_seconds"] / row["batched"]["cpu_seconds"]
        records.append(row)
        print(f"  {game:28s} seed {seed} {algorithm}: dummy {row['dummy']['train_seconds']:.1f} s"
              f" (cpu {row['dummy']['cpu_seconds']:.1f} s, tv {row['dummy']['tv_mean']:.3f}), "
              f"batched {row['batched']['train_seconds']:.1f} s (cpu "
              f"{row['batched']['cpu_seconds']:.1f} s, tv {row['batched']['tv_mean']:.3f}), "
              f"x{row['speedup']:.2f} (cpu x{row['cpu_speedup']:.2f})", file=sys.stderr,
              flush=True)
    return records


def markdown(records: Sequence[dict[str, Any]]) -> str:
    """The records as a Markdown table."""
    lines = ["| expert | algorithm | seed | DummyVecEnv s (CPU s) | batched s (CPU s) | "
             "speed-up (CPU) | env s: DummyVecEnv | env s: batched | TV DummyVecEnv | "
             "TV batched |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        d, b = r["dummy"], r["batched"]
        lines.append(
            f"| {r['game']} | {r['algorithm']} | {r['seed']} | {d['train_seconds']:.1f} "
            f"({d['cpu_seconds']:.1f}) | {b['train_seconds']:.1f} ({b['cpu_seconds']:.1f}) | "
            f"{r['speedup']:.2f} ({r['cpu_speedup']:.2f}) | {d['env_seconds']:.1f} | "
            f"{b['env_seconds']:.1f} | {d['tv_mean']:.3f} | {b['tv_mean']:.3f} |")
    for algorithm in dict.fromkeys(r["algorithm"] for r in records):
        rows = [r for r in records if r["algorithm"] == algorithm]
        before, after = (sum(r[v]["train_seconds"] for r in rows) for v in ("dummy", "batched"))
        cpu_before, cpu_after = (sum(r[v]["cpu_seconds"] for r in rows)
                                 for v in ("dummy", "batched"))
        env_before, env_after = (sum(r[v]["env_seconds"] for r in rows)
                                 for v in ("dummy", "batched"))
        lines.append(f"| all ({len(rows)} runs) | {algorithm} | | {before:.1f} ({cpu_before:.1f})"
                     f" | {after:.1f} ({cpu_after:.1f}) | {before / after:.2f} "
                     f"({cpu_before / cpu_after:.2f}) | {env_before:.1f} | {env_after:.1f} | | |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=STOCHASTIC,
                        choices=[e.game for e in EXPERTS], help="experts to imitate")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS),
                        choices=list(ALGORITHMS))
    parser.add_argument("--episodes", type=int, default=500, help="demonstration episodes")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--start-with", choices=["dummy", "batched"], default="dummy",
                        help="the venv that trains first in the first pair (then alternating)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny budgets (a smoke test; the numbers mean nothing)")
    parser.add_argument("--out", type=Path, default=Path("results/adversarial_speed.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    config = {"games": list(args.games), "algorithms": list(args.algorithms),
              "episodes": args.episodes, "seeds": list(args.seeds), "tiny": args.tiny,
              "start_with": args.start_with,
              "cpu_count": os.cpu_count(), "load_average_before": _load_average()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    for i, game in enumerate(args.games):
        for j, seed in enumerate(args.seeds):
            # The order flips from one expert (and seed) to the next, and with --start-with.
            flip = (i + j + (args.start_with == "batched")) % 2 == 1
            records += run_one(game, seed, args.algorithms, args.episodes, args.tiny, flip)
            # Written after every expert: a long run that is stopped keeps what it measured.
            result = {"config": {**config, "load_average_after": _load_average()},
                      "records": records, "complete": False,
                      "wall_seconds": time.perf_counter() - started}
            args.out.write_text(json.dumps(result, indent=2))
    result["complete"] = True
    text = markdown(records)
    print(text, end="")
    args.out.write_text(json.dumps(result, indent=2))
    args.out.with_suffix(".md").write_text(text)
    return result


def _load_average() -> list[float] | None:
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


if __name__ == "__main__":
    main()
