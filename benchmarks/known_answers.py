"""The known-answer table of the four hypotheses (``subrational_gym.hypotheses``).

Each hypothesis is judged on the controls of ``subrational_gym.controls``, drawn with
``--episodes`` episodes per persona (200: the demo budget): theory personas with a
human-size effect, inside and outside the fitted families (reproduced); persona-blind
agents with human-like noise, reversed effects, effects below the smallest effect of
interest, constants and uniform choice (not reproduced; inconclusive where a structural
effect is not identified by such data).

    python -m benchmarks.known_answers          # writes results/known_answers.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subrational_gym import controls, hypotheses


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200, help="episodes per persona")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--games", nargs="+", default=list(hypotheses.HYPOTHESES),
                        choices=list(hypotheses.HYPOTHESES))
    parser.add_argument("--out", type=Path, default=Path("results/known_answers.json"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = controls.known_answers(args.episodes, args.seed, args.games)
    table = controls.known_answers_markdown(rows)
    tally = (f"{sum(r['as_expected'] for r in rows)} of {len(rows)} as expected "
             f"({time.perf_counter() - started:.0f} s)")
    print(table)
    print(f"\n{tally}")
    command = "python -m benchmarks.known_answers " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(
        f"# Known answers ({args.episodes} episodes per persona, seed {args.seed})\n\n"
        f"Printed by `{command}`.\n\n{table}\n\n{tally}\n")
    args.out.write_text(json.dumps({"episodes": args.episodes, "seed": args.seed, "rows": rows},
                                   indent=1))
    return rows


if __name__ == "__main__":
    main()
