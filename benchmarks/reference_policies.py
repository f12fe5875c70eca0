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


def reference_policies() -> list[tuple[str, dict[str, Any], policies.TabularPolicy]]:
    """The reference policies of each game, with the env kwargs they are shown on."""
    ult = subrational_gym.make_env("ultimatum")
    mar = subrational_gym.make_env("marshmallow")
    don = subrational_gym.make_env("double_or_nothing")
    pro = subrational_gym.make_env("procrastination", self_imposed_deadline=True)
    rows = [
        ("ultimatum", {}, policies.income_maximiser(ult)),
        ("ultimatum", {}, policies.inequity_averse_responder(ult)),
        ("ultimatum", {}, policies.fehr_schmidt_population(ult)),
        ("marshmallow", {}, policies.exponential_discounter(mar, gamma=0.95)),
        ("marshmallow", {}, policies.beta_delta(mar, beta=0.4)),
        ("marshmallow", {}, policies.beta_delta(mar, beta=0.6, temperature=0.3)),
        ("marshmallow", {}, policies.beta_delta(mar, beta=0.8, temperature=0.3)),
        # Exponential agents at the same temperature: noise alone gives in half-way.
        ("marshmallow", {}, policies.exponential_discounter(mar, gamma=0.9, temperature=0.3)),
        ("marshmallow", {}, policies.exponential_discounter(mar, gamma=0.95, temperature=0.3)),
        ("double_or_nothing", {}, policies.income_maximiser(don)),
        ("double_or_nothing", {}, policies.prospect_theory_gambler(don)),
        ("double_or_nothing", {}, policies.prospect_theory_gambler(don, planning="naive",
                                                                   reference="zero")),
    ]
    for pol in (policies.exponential_discounter(pro, gamma=1.0),
                policies.exponential_discounter(pro, gamma=0.5),
                policies.beta_delta(pro), policies.beta_delta(pro, sophisticated=True),
                # The same comparison with choice noise (temperature 0.5) on both sides.
                policies.exponential_discounter(pro, gamma=1.0, temperature=0.5),
                policies.beta_delta(pro, sophisticated=True, temperature=0.5)):
        rows.append(("procrastination", {"self_imposed_deadline": True}, pol))
    return rows


def headline(game: str, summary: dict[str, Any]) -> str:
    """One line of the behaviour that matters in ``game``."""
    if game == "ultimatum":
        acc = summary["acceptance"]
        return "P(accept) by offer $0..$10: " + " ".join(f"{a:.2f}" for a in acc)
    if game == "marshmallow":
        return (f"ate at once {summary['ate_at_once']:.2f}, gave in midway "
                f"{summary['gave_in_midway']:.2f}, waited full {summary['waited_full']:.2f}")
    if game == "double_or_nothing":
        g = " ".join(f"{p:.2f}" for p in summary["gamble_probability"])
        return f"P(gamble) by round: {g}; E[winnings] ${summary['expected_winnings']:.2f}"
    start, finish = summary["expected_start_day"], summary["expected_finish_day"]
    return (f"start day {start:.1f}, finish day {finish:.1f} (never = day "
            f"{len(summary['day']) + 1}), commits {summary['commit_probability']:.2f}")


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
