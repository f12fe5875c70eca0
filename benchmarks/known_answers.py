"""The known-answer table of the four hypotheses (``subrational_gym.hypotheses``).

Each hypothesis is judged on the controls of ``subrational_gym.controls``, drawn with
``--episodes`` episodes per persona (200: the demo budget), or the number a study's power
analysis plans when that is more (``--unplanned``: exactly ``--episodes``, to show what the
planned number buys): theory personas with a
human-size effect, inside and outside the fitted families (reproduced); persona-blind
agents with human-like noise, reversed effects, effects below the smallest effect of
interest, constants and uniform choice (not reproduced; inconclusive where a structural
effect is not identified by such data).

    python -m benchmarks.known_answers          # writes results/known_answers.json
    python -m benchmarks.known_answers --seeds 0-19 --workers 2 \
        --out docs/benchmarks/known_answers_seeds.json
        # per-control rate of the expected verdict over seeds, with 95% intervals, and the
        # boundary check: students at beta 0.8/0.9/1.0 (a slope of exactly the SESOI, the
        # top student time-consistent) must not come out "not reproduced" above 5%
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from scipy import stats

from subrational_gym import controls, hypotheses, policies
from subrational_gym.inference import ActionCounts

#: Students of the boundary check: beta rises 0.1 per GPA point (the SESOI) up to 1.
BOUNDARY_BETAS = (0.8, 0.9, 1.0)


def _seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-", 1)
        return list(range(int(first), int(last) + 1))
    return [int(text)]


def _one_seed(episodes: int, seed: int, games: Sequence[str], planned: bool = True
              ) -> dict[str, Any]:
    rows = controls.known_answers(episodes, seed, games, planned=planned)
    boundary = None
    if "procrastination" in games:
        env = "Subrational/Procrastination-v0"
        data = {gpa: ActionCounts.sample(policies.beta_delta(
            env, beta=beta, sophisticated=True, temperature=0.5, env_kwargs=controls.COMMIT),
            episodes, seed=10_000 + 10 * seed + i)
            for i, (gpa, beta) in enumerate(zip((2.0, 3.0, 4.0), BOUNDARY_BETAS, strict=True))}
        boundary = hypotheses.procrastination(data, seed=seed).verdict
    return {"seed": seed, "rows": rows, "boundary": boundary}


def _planned(episodes: int, games: Sequence[str]) -> dict[str, int]:
    """Games whose study plans more than ``episodes`` episodes per persona, with the number."""
    from subrational_gym.studies import STUDIES

    return {g: STUDIES[g].judged_episodes(episodes) for g in games
            if STUDIES[g].judged_episodes(episodes) > episodes}


def _episodes_text(episodes: int, planned: dict[str, int]) -> str:
    more = ", ".join(f"{g} {n}" for g, n in planned.items())
    return f"{episodes} episodes per persona" + (
        f"; the study's planned number where more: {more}" if more else "")


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
    return {"k": k, "n": n, "rate": k / n, "interval": [lo, hi]}


def many_seeds(episodes: int, seeds: Sequence[int], games: Sequence[str],
               workers: int = 1, *, planned: bool = True) -> dict[str, Any]:
    """Every control on every seed: the rate of the expected verdict per setting.

    Returns:
        ``{"settings": [...], "boundary": {...}, "per_seed": [...]}``: per (game,
        control) the share of seeds with the expected verdict (exact 95% interval) and
        the count of each verdict; the boundary check's share of "not reproduced".
    """
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            runs = list(pool.map(_one_seed, [episodes] * len(seeds), seeds,
                                 [list(games)] * len(seeds), [planned] * len(seeds)))
    else:
        runs = [_one_seed(episodes, s, games, planned) for s in seeds]
    settings: dict[tuple[str, str], dict[str, Any]] = {}
    for run in runs:
        for r in run["rows"]:
            row = settings.setdefault((r["game"], r["control"]), {
                "game": r["game"], "control": r["control"], "expected": r["expected"],
                "verdicts": Counter(), "missed_seeds": []})
            row["verdicts"][r["verdict"]] += 1
            if not r["as_expected"]:
                row["missed_seeds"].append(run["seed"])
    out = []
    for row in settings.values():
        n = sum(row["verdicts"].values())
        out.append({**row, "verdicts": dict(row["verdicts"]),
                    "as_expected": _rate(n - len(row["missed_seeds"]), n)})
    boundary = [r["boundary"] for r in runs if r["boundary"] is not None]
    return {"episodes": episodes, "planned": _planned(episodes, games) if planned else {},
            "seeds": list(seeds), "settings": out,
            "boundary": {"betas": list(BOUNDARY_BETAS),
                         "verdicts": dict(Counter(boundary)),
                         "false_no": _rate(boundary.count(hypotheses.NOT_REPRODUCED),
                                           len(boundary)) if boundary else None},
            "per_seed": runs}


def many_seeds_markdown(result: dict[str, Any]) -> str:
    """The per-setting table of :func:`many_seeds`."""
    lines = ["| game | control | expected | as expected [95% interval] | verdicts | missed on "
             "seeds |", "|---|---|---|---|---|---|"]
    for r in result["settings"]:
        a = r["as_expected"]
        lines.append(
            f"| {r['game']} | {r['control']} | {r['expected']} | {a['k']}/{a['n']} "
            f"[{a['interval'][0]:.2f}, {a['interval'][1]:.2f}] | "
            + ", ".join(f"{v} {k}" for v, k in sorted(r["verdicts"].items()))
            + f" | {', '.join(map(str, r['missed_seeds'])) or '-'} |")
    b = result["boundary"]
    if b["false_no"]:
        f = b["false_no"]
        lines.append(
            f"\nBoundary check (procrastination, beta {b['betas']} by GPA 2/3/4: a slope of "
            f"exactly the SESOI, the top student time-consistent): \"not reproduced\" in "
            f"{f['k']}/{f['n']} seeds [{f['interval'][0]:.2f}, {f['interval'][1]:.2f}] "
            f"(due: at most 5%); verdicts {b['verdicts']}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200, help="episodes per persona")
    parser.add_argument("--unplanned", action="store_true",
                        help="exactly --episodes per persona, even where a study plans more")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", nargs="+", default=list(hypotheses.HYPOTHESES),
                        choices=list(hypotheses.HYPOTHESES))
    parser.add_argument("--seeds", type=_seeds, nargs="+",
                        help="many seeds (e.g. 0-19): per-control rates instead of one table")
    parser.add_argument("--workers", type=int, default=1, help="processes for --seeds")
    parser.add_argument("--out", type=Path, default=Path("results/known_answers.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    command = "python -m benchmarks.known_answers " + " ".join(
        sys.argv[1:] if argv is None else argv)
    if args.seeds:
        seeds = sorted({s for chunk in args.seeds for s in chunk})
        result = many_seeds(args.episodes, seeds, args.games, args.workers,
                            planned=not args.unplanned)
        table = many_seeds_markdown(result)
        print(table)
        took = f"{time.perf_counter() - started:.0f} s with {args.workers} worker(s)"
        print(f"\n{len(seeds)} seeds, {took}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(
            f"# Known answers over {len(seeds)} seeds "
            f"({_episodes_text(args.episodes, result['planned'])})"
            f"\n\nPrinted by `{command}` ({took}).\n\n{table}\n")
        args.out.write_text(json.dumps({**result, "command": command}, indent=1,
                                       default=str))
        return result["settings"]
    planned = {} if args.unplanned else _planned(args.episodes, args.games)
    rows = controls.known_answers(args.episodes, args.seed, args.games,
                                  planned=not args.unplanned)
    table = controls.known_answers_markdown(rows)
    tally = (f"{sum(r['as_expected'] for r in rows)} of {len(rows)} as expected "
             f"({time.perf_counter() - started:.0f} s)")
    print(table)
    print(f"\n{tally}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(
        f"# Known answers ({_episodes_text(args.episodes, planned)}, seed {args.seed})\n\n"
        f"Printed by `{command}`.\n\n{table}\n\n{tally}\n")
    args.out.write_text(json.dumps({"episodes": args.episodes, "planned": planned,
                                    "seed": args.seed, "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
