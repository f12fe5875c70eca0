"""What score mode costs and how it behaves on the embedded models, per game.

For one persona of each game (the study's default persona), on fresh answer caches:

* calls per decision state, seconds, the labels' coverage and the order effect, with both
  label orders asked (the default) and with one order;
* on SmolLM2-135M-Instruct (which serves completions and chat), the lettered forced-choice
  chat prompt (``choice`` style, read from the first answer token's top 20 alternatives)
  against the completion-style scores of the same states.

Run::

    python -m benchmarks.llm_scoring            # writes results/llm_scoring.json

Writes ``results/llm_scoring.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from llm_experts import EndpointConfig, ExpertConfig, LLMExpert
from subrational_gym.studies import STUDIES


def _tabulate(game: str, cache: Path, **options: Any) -> tuple[LLMExpert, dict[str, Any]]:
    study = STUDIES[game]
    endpoint = EndpointConfig(model=options.pop("model", None))
    expert = LLMExpert(study.env_id, study.default_persona, endpoint=endpoint,
                       config=ExpertConfig(cache_path=cache, progress=False, **options))
    started = time.perf_counter()
    report = expert.tabulate()
    record = {**report.to_dict(), "seconds": time.perf_counter() - started,
              "persona": study.default_persona}
    return expert, record


def measure(games: tuple[str, ...] = tuple(STUDIES), out_path: Path | None = None
            ) -> dict[str, Any]:
    """Run the measurements; returns the JSON record (also written after each step)."""
    out: dict[str, Any] = {"games": {}, "totals": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for label, options in (("gemma_two_orders", {}),
                               ("gemma_one_order", {"counterbalance": False})):
            total_calls = total_states = 0
            total_seconds = 0.0
            for game in games:
                _, rec = _tabulate(game, Path(tmp) / f"{label}.sqlite", **options)
                out["games"].setdefault(game, {})[label] = rec
                _progress(out, out_path, game, label, rec)
                total_calls += rec["usage"]["model_calls"]
                total_states += rec["decision_states"]
                total_seconds += rec["seconds"]
            out["totals"][label] = {"seconds": total_seconds, "model_calls": total_calls,
                                    "decision_states": total_states,
                                    "calls_per_state": total_calls / total_states}
        smol = "smollm2-135m-instruct"
        for game in games:
            completion, rec_c = _tabulate(game, Path(tmp) / "smol_completion.sqlite",
                                          model=smol, prompt_style="completion")
            choice, rec_k = _tabulate(game, Path(tmp) / "smol_choice.sqlite", model=smol,
                                      prompt_style="choice", top_logprobs=20)
            mask = completion.model.decision_mask
            a, b = completion.table[mask, 1], choice.table[mask, 1]
            both = ~np.isnan(a) & ~np.isnan(b)
            out["games"][game]["smollm2_completion"] = rec_c
            out["games"][game]["smollm2_choice_top20"] = rec_k
            _progress(out, out_path, game, "smollm2_completion", rec_c)
            _progress(out, out_path, game, "smollm2_choice_top20", rec_k)
            out["games"][game]["smollm2_choice_vs_completion"] = {
                "states_valid_in_both": int(both.sum()),
                "mean_abs_difference_p_second_action": (
                    float(np.mean(np.abs(a[both] - b[both]))) if both.any() else None),
                "p_second_action_completion_mean": float(np.nanmean(a)) if both.any() else None,
                "p_second_action_choice_mean": float(np.nanmean(b)) if both.any() else None,
            }
    return out


def _progress(out: dict[str, Any], path: Path | None, game: str, label: str,
              rec: dict[str, Any]) -> None:
    print(f"{game} {label}: {rec['calls_per_state']:.2f} calls/state, {rec['seconds']:.1f} s, "
          f"{rec['invalid']} invalid, coverage {rec['coverage']}, order effect "
          f"{rec['order_effect']}", flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure and write ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.llm_scoring",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("results/llm_scoring.json"))
    parser.add_argument("--games", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    args = parser.parse_args(argv)
    record = measure(tuple(args.games), args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))
    print(f"{'game':<18} {'run':<22} {'calls/state':>11} {'seconds':>8} {'invalid':>7} "
          f"{'coverage min/med':>17} {'order effect':>12}")
    for game, runs in record["games"].items():
        for name, rec in runs.items():
            if "calls_per_state" not in rec:
                continue
            cov, eff = rec["coverage"], rec["order_effect"]
            print(f"{game:<18} {name:<22} {rec['calls_per_state']:>11.2f} "
                  f"{rec['seconds']:>8.1f} {rec['invalid']:>7} "
                  f"{cov.get('min', float('nan')):>8.3f}/{cov.get('median', float('nan')):.3f} "
                  f"{eff.get('mean', float('nan')):>12.3f}")
        cmp_ = runs.get("smollm2_choice_vs_completion")
        if cmp_:
            print(f"{game:<18} smollm2 choice vs completion: {cmp_}")
    print("totals:", json.dumps(record["totals"]))
    return record


if __name__ == "__main__":
    main()
