"""Behaviour of every closed-form reference policy in every game, as a table.

Run: ``python -m benchmarks.reference_policies`` (writes ``results/reference_policies.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import subrational_gym
from subrational_gym import policies
from subrational_gym.evaluation import behaviour_summary, expected_return
from subrational_gym.studies import STUDIES


def reference_policies() -> list[tuple[str, dict[str, Any], policies.TabularPolicy]]:
    """Each study's like-with-like reference policies, with the env kwargs they are shown on."""
    return [(game, kwargs, pol) for game, study in STUDIES.items()
            for kwargs, pol in study.contrast_policies()]


def headline(game: str, summary: dict[str, Any]) -> str:
    """One line of the behaviour that matters in ``game`` (from its study record)."""
    return STUDIES[game].headline(summary)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("results/reference_policies.json"))
    args = parser.parse_args(argv)
    records = []
    print(f"{'game':<18} {'policy':<46} {'return':>7}  behaviour")
    for game_name, kwargs, pol in reference_policies():
        game = subrational_gym.make_env(game_name, **kwargs)
        summary = behaviour_summary(game, pol)
        ret = expected_return(game.tabular_model(), pol)
        temp = pol.params.get("temperature", 0.0)
        label = pol.name + (f" T={temp:g}" if temp else "")
        print(f"{game_name:<18} {label:<46} {ret:7.2f}  {headline(game_name, summary)}")
        records.append({"game": game_name, "env_kwargs": kwargs, "policy": pol.name,
                        "params": pol.params, "expected_return": ret, "behaviour": summary})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=2))
    return records


if __name__ == "__main__":
    main()
