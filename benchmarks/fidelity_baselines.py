"""Human-fidelity baselines: what trivial and theory policies score, game by game.

For each game, :func:`subrational_gym.human_data.game_score` of the best constant policy
(with its probability of the first action), uniform random play, the exponential optimum
(value iteration, gamma 0.99), the income maximiser and the study's reference policies
(Fehr-Schmidt population, prospect theory, beta-delta), each given for ``None`` (the
population, so for every persona). Games whose figures a constant matches are reported as
not informative. Also the human figures of each game with the best constant's and uniform
play's values.

    python -m benchmarks.fidelity_baselines     # writes docs/benchmarks/fidelity_baselines.md
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subrational_gym import human_data, policies
from subrational_gym.studies import STUDIES


def _num(x: float | None, fmt: str = ".4f") -> str:
    return "-" if x is None else format(x, fmt)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def policies_of(game: str) -> dict[str, dict[str | None, Any]]:
    """The policy sets scored for ``game``, by label (``{persona or None: policy}``)."""
    study = STUDIES[game]
    env = study.make_env("plain")
    out: dict[str, dict[str | None, Any]] = {
        "uniform random": {None: human_data.constant_table(game, 0.5)},
        "exponential optimum (value iteration, gamma 0.99)": {
            None: policies.exponential_discounter(env, gamma=0.99)},
    }
    for policy in [policies.income_maximiser(env), *study.reference_policies(env)]:
        out.setdefault(f"theory: {policy.name}", {None: policy})
    if game == "marshmallow":
        # Not a reference: one persona-aware set, to show the age figures can be beaten.
        out["example, by age (not a reference): beta-delta T 0.3, child-3 beta 0.5, "
            "child-4 beta 0.9"] = {
            "child-3": policies.beta_delta(env, beta=0.5, temperature=0.3),
            "child-4": policies.beta_delta(env, beta=0.9, temperature=0.3)}
    return out


def baselines(games: Sequence[str]) -> dict[str, Any]:
    """Score rows and figure rows per game."""
    rows, figure_rows, informative = [], [], {}
    for game in games:
        best = human_data.best_constant(game)
        first = best.first_action
        scores = {label: human_data.game_score(game, pols)
                  for label, pols in policies_of(game).items()}
        informative[game] = next(iter(scores.values())).informative
        skill_best = "0 (by definition)" if informative[game] else "not informative"
        rows.append([game, f"best constant: P({first}) = {best.p:.3f}",
                     _num(best.distance), skill_best])
        for label, score in scores.items():
            skill = _num(score.skill, "+.3f") if score.informative else "not informative"
            rows.append([game, label, _num(score.distance), skill])
        for fit in next(iter(scores.values())).figures:
            f = fit.figure
            human = f"{f.low:g}" if f.low == f.high else f"{f.low:g} to {f.high:g}"
            figure_rows.append([game, f.quantity, human, f.persona or (
                "across " + ", ".join(f.across) if f.across else "population: None, else pooled"),
                _num(fit.best_constant_value, ".3f"), _num(fit.uniform_value, ".3f"),
                f.source])
    return {"rows": rows, "figures": figure_rows, "informative": informative}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", nargs="+", default=list(STUDIES), choices=list(STUDIES))
    parser.add_argument("--out", type=Path,
                        default=Path("docs/benchmarks/fidelity_baselines.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = baselines(args.games)
    scores = _table(["game", "policy (given for None: every persona)", "D", "skill"],
                    result["rows"])
    figures = _table(["game", "figure", "human", "scored on", "best constant",
                      "uniform", "source"], result["figures"])
    dull = [g for g, ok in result["informative"].items() if not ok]
    verdict = ("Not informative (a constant matches every figure): "
               + (", ".join(dull) if dull else "none") + ".")
    print(f"{scores}\n\n{verdict}\n\n{figures}")
    command = "python -m benchmarks.fidelity_baselines " + " ".join(
        sys.argv[1:] if argv is None else argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        f"# Human-fidelity baselines\n\nPrinted by `{command.strip()}` "
        f"({time.perf_counter() - started:.0f} s).\n\n{human_data.SKILL_DEFINITION}\n\n"
        f"D is in squared units of the figures (probabilities, shares, a correlation); "
        f"the best constant is searched on 1001 probabilities and refined by bounded "
        f"Brent. Every policy here is given for `None` (the population) unless its "
        f"label names personas.\n\n{scores}\n\n{verdict}\n\n## Figures scored\n\n"
        f"Value of each scored figure's quantity under the best constant and uniform "
        f"random play. \"(verify)\" in a source: the exact number still has to be "
        f"checked against the original.\n\n{figures}\n")
    return result


if __name__ == "__main__":
    main()
