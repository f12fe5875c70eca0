"""What a replication writes, and what it prints at the end.

Under ``out``: ``summary.json`` (stable shape: model, endpoint, finished_at,
wall_seconds, budget, mode, findings, llm_usage, known_answers, fidelity), ``perf.json``,
``model_card.md`` and ``model_card.json``, ``runs/replication_<time>.json`` (the full
record: ``games`` is :meth:`RunRecords.to_dict`), ``plots/<game>.png`` and ``report.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import reporting
from benchmarks.replication.config import RL_GAMMA, Args, Budget
from benchmarks.replication.records import Finding, RunRecords
from benchmarks.replication.tabulation import Tabulator, log
from llm_experts.prompts import PROMPT_VERSIONS
from subrational_gym import model_card
from subrational_gym.learners.sweeps import package_versions


def versions() -> dict[str, str]:
    """Versions of the packages the results depend on."""
    return package_versions(["subrational-gym", "gymnasium", "numpy", "torch", "imitation",
                             "stable-baselines3", "openai", "xllamacpp"])


def summary_record(findings: Sequence[Finding], fidelity: Mapping[str, Any], *, args: Args,
                   tabulator: Tabulator, known: Sequence[Mapping[str, Any]], finished: str,
                   wall: float) -> dict[str, Any]:
    """The content of summary.json."""
    return {
        "model": tabulator.model, "endpoint": tabulator.endpoint, "finished_at": finished,
        "wall_seconds": wall, "budget": args.budget, "mode": args.mode,
        "findings": [f.to_dict() for f in findings],
        "llm_usage": tabulator.usage_record(),
        "known_answers": list(known),
        "fidelity": {k: fidelity[k] for k in ("per_game", "overall", "overall_over_seeds",
                                              "scale", "populations")},
    }


def _with_wall_times(perf: dict[str, Any], wall: float) -> dict[str, Any]:
    """The performance record with the replication's (and make demo's) wall time."""
    perf["replication_wall_seconds"] = {"value": wall, "unit": "s"}
    demo_start = os.environ.get("SUBRATIONAL_DEMO_STARTED")
    if demo_start:
        perf["make_demo_wall_seconds"] = {
            "value": time.time() - float(demo_start), "unit": "s",
            "note": "from the start of make demo, installation included"}
    return perf


def write(findings: Sequence[Finding], fidelity: Mapping[str, Any],
          perf: dict[str, Any] | None, card: Sequence[model_card.CardEntry], *, args: Args,
          budget: Budget, records: RunRecords, tabulator: Tabulator,
          known: Sequence[Mapping[str, Any]], main_source: str,
          started: float) -> dict[str, Any]:
    """Write every output of the run under ``args.out``; returns the summary.

    Args:
        findings: The findings, one per study.
        fidelity: :func:`benchmarks.replication.fidelity.fidelity`'s result.
        perf: The performance record (None: not measured).
        card: The model card's entries.
        args: The run's arguments.
        budget: The run's budget.
        records: The run's records.
        tabulator: The run's experts (model, endpoint, model use).
        known: The known-answer rows.
        main_source: The headline source of the findings.
        started: When the run started (``time.time()``).
    """
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    wall = time.time() - started
    finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    endpoint = tabulator.endpoint_name()
    summary = summary_record(findings, fidelity, args=args, tabulator=tabulator, known=known,
                             finished=finished, wall=wall)
    reporting.write_json(out / "summary.json", summary)
    card_md = model_card.to_markdown(card, model=str(tabulator.model), endpoint=endpoint)
    (out / "model_card.md").write_text(card_md)
    reporting.write_json(out / "model_card.json", {
        "model": tabulator.model, "endpoint": endpoint, "finished_at": finished,
        "personas": [e.to_dict() for e in card]})
    if perf is not None:
        reporting.write_json(out / "perf.json", _with_wall_times(perf, wall))
    games = records.to_dict()
    run = {"summary": summary, "perf": perf, "fidelity_details": fidelity["details"],
           "fidelity_by_seed": fidelity["per_game_by_seed"],
           "games": games, "budget": dataclasses.asdict(budget),
           "args": {k: str(v) for k, v in dataclasses.asdict(args).items()},
           "prompt_versions": dict(PROMPT_VERSIONS), "versions": versions(),
           "command": " ".join(sys.argv)}
    stamp = finished.replace(":", "").replace("+0000", "Z")
    reporting.write_json(out / "runs" / f"replication_{stamp}.json", run)
    plots = reporting.replication_plots(games, out / "plots", paper_learner=main_source,
                                        rl_gamma=RL_GAMMA, findings=summary["findings"])
    (out / "report.md").write_text(reporting.replication_report(
        summary, games, perf, plots, endpoint=endpoint,
        sources=budget.hypothesis_sources, paper_learner=main_source))
    log("")
    log(card_md)
    log(f"Model card: {out / 'model_card.md'}")
    # The terminal output ends with the findings' bottom lines.
    log(reporting.terminal_summary(summary, perf, endpoint=endpoint,
                                   paper_learner=main_source, report=out / "report.md"))
    return summary
