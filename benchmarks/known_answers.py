"""The known-answer table of the four hypotheses (``subrational_gym.hypotheses``).

Each hypothesis is judged on four controls, drawn from reference policies with
``--episodes`` episodes per persona: a uniform random policy, a persona-blind policy
(the same probabilities in every state), an exponential agent with choice noise (all
three must fail), and theory personas built to show the effect (must pass).

    python -m benchmarks.known_answers          # writes results/known_answers.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subrational_gym import hypotheses


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=500, help="episodes per persona")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", nargs="+", default=list(hypotheses.HYPOTHESES),
                        choices=list(hypotheses.HYPOTHESES))
    parser.add_argument("--out", type=Path, default=Path("results/known_answers.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = hypotheses.known_answers(args.episodes, args.seed, args.games)
    print("| game | control | must reproduce | verdict | as expected | why |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['game']} | {r['control']} | {'yes' if r['expected_reproduced'] else 'no'} "
              f"| {r['verdict']} | {'yes' if r['as_expected'] else '**NO**'} | "
              f"{'; '.join(r['reasons'])} |")
    print(f"\n{sum(r['as_expected'] for r in rows)} of {len(rows)} as expected "
          f"({time.perf_counter() - started:.0f} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"episodes": args.episodes, "seed": args.seed, "rows": rows},
                                   indent=1))
    return rows


if __name__ == "__main__":
    main()
