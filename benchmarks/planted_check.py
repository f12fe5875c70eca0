"""Does a replication against the planted endpoint recover the planted parameters?

Run after ``make demo BASE_URL=http://127.0.0.1:8765/v1 MODEL=planted`` (with
``python -m llm_experts.planted`` serving)::

    python -m benchmarks.planted_check results/model_card.json

Prints, per persona and parameter, the planted value, the model card's best family and
its 95% interval, and whether the value lies inside; exits 1 if any does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.reporting import text_table
from llm_experts.planted import check_card


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("card", type=Path, help="model_card.json of the replication")
    args = parser.parse_args(argv)
    rows = check_card(json.loads(args.card.read_text()))
    print(text_table(
        ["game", "variant", "persona", "parameter", "planted", "best family", "95% interval",
         "inside"],
        [[r["game"], r["variant"], r["persona"], r["parameter"], r["planted"],
          r["best_family"], "-" if r["interval"] is None
          else f"[{r['interval'][0]:.3g}, {r['interval'][1]:.3g}]",
          "yes" if r["inside"] else "NO"] for r in rows]))
    inside = sum(r["inside"] for r in rows)
    print(f"{inside} of {len(rows)} planted parameters inside the card's intervals")
    return rows


if __name__ == "__main__":
    sys.exit(0 if all(r["inside"] for r in main()) else 1)
