"""The replication against planted endpoints whose verdicts are known, scenario by scenario.

For each scenario of :data:`llm_experts.planted.SCENARIOS` (effects of human size, of
other sizes and outside the fitted families must be ``reproduced``; one theory for every
persona and reversed effects ``not reproduced``) this starts the planted server, runs
the whole replication against it with the paper's learner only (distribution matching)
and reports, per game, the verdict on the LLM expert's own demonstrations and on the
learner (per seed), beside the verdict due::

    python -m benchmarks.planted_scenarios                     # demo budget, all scenarios
    python -m benchmarks.planted_scenarios --scenarios reversed --budget tiny
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import replication
from benchmarks.replication import BUDGETS, GAMES, PAPER_LEARNER, Args
from llm_experts.planted import SCENARIOS, PlantedLLMServer


def run_scenario(scenario: str, *, budget: str, workers: int, out: Path,
                 games: Sequence[str]) -> list[dict[str, Any]]:
    """One replication against the planted ``scenario``; a row per game."""
    with PlantedLLMServer(scenario=scenario) as server:
        args = Args(budget=budget, games=tuple(games), model="planted",
                    base_url=server.base_url, cache=out / "answers.sqlite", out=out,
                    perf=False, progress=False, workers=workers, learners=(PAPER_LEARNER,))
        summary = replication.Replication(args).run()
    rows = []
    for f in summary["findings"]:
        learner = f["by_source"][PAPER_LEARNER]
        expert = f["by_source"]["llm_expert"]
        seeds = learner["numbers"].get("seeds", {})
        rows.append({"scenario": scenario, "game": f["game"], "due": SCENARIOS[scenario],
                     "expert": expert["reproduced"], "learner": learner["reproduced"],
                     "learner_seeds": {s: v["verdict"] for s, v in seeds.items()},
                     "expert_effect": [expert["numbers"].get("value"),
                                       expert["numbers"].get("interval")],
                     "bottom_line": f["bottom_line"]})
    return rows


def to_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = ["| scenario | game | due | LLM expert's demonstrations | distribution matching "
             "(per seed) | as due |", "|---|---|---|---|---|---|"]
    for r in rows:
        seeds = ", ".join(r["learner_seeds"].values())
        ok = r["expert"] == r["due"] and all(v == r["due"] for v in r["learner_seeds"].values())
        lines.append(f"| {r['scenario']} | {r['game']} | {r['due']} | {r['expert']} | "
                     f"{r['learner']} ({seeds}) | {'yes' if ok else '**NO**'} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.planted_scenarios",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS),
                        default=list(SCENARIOS))
    parser.add_argument("--games", nargs="+", choices=GAMES,
                        default=list(GAMES))
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/planted_scenarios.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for scenario in args.scenarios:
            t0 = time.perf_counter()
            rows += run_scenario(scenario, budget=args.budget, workers=args.workers,
                                 out=Path(scratch) / scenario, games=args.games)
            print(f"[planted] {scenario}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = to_markdown(rows)
    print(table)
    held = sum(r["expert"] == r["due"] and all(v == r["due"] for v in r["learner_seeds"].values())
               for r in rows)
    print(f"\n{held} of {len(rows)} (scenario, game) rows as due for the expert and every "
          f"learner seed ({time.perf_counter() - started:.0f} s, budget {args.budget})")
    command = "python -m benchmarks.planted_scenarios " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"budget": args.budget, "rows": rows,
                                    "command": command}, indent=1))
    args.out.with_suffix(".md").write_text(
        f"# The replication against planted scenarios (budget {args.budget})\n\n"
        f"Printed by `{command}`.\n\n{table}\n\n{held} of {len(rows)} rows as due "
        f"({time.perf_counter() - started:.0f} s)\n")
    return rows


if __name__ == "__main__":
    main()
