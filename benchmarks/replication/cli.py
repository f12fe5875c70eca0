"""The replication's command line: ``python -m benchmarks.replicate`` (``make demo``).

:func:`parse_args` turns the flags into :class:`~benchmarks.replication.config.Args`,
:func:`main` runs the replication and returns its summary, and :func:`cli` is the
shell's entry: an unreachable endpoint, a spent call budget and Ctrl-C each end in one
message and an exit status instead of a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.replication.config import BUDGETS, GAMES, Args
from llm_experts import CallBudgetError, EndpointUnreachableError
from llm_experts.providers import PROVIDERS
from subrational_gym.runner.executors import EXECUTORS

DESCRIPTION = "The paper replication and the project's main job (``make demo``)."


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the command line into :class:`Args`."""
    budgets = "; ".join(
        f"{name}: {b.n_episodes} demonstration episodes, seeds {list(b.seeds)} "
        f"({'/'.join(b.few_seed_learners)}: {list(b.few_seeds)}), learner steps "
        + ", ".join(f"{k} {'default' if v is None else v}" for k, v in b.steps.items())
        for name, b in BUDGETS.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replicate",
        description=DESCRIPTION + " Tabulates the LLM expert per persona, "
        "trains the learners and baselines, checks the findings and scores human fidelity.",
        epilog=f"Budgets -- {budgets}. Model answers are cached as they arrive: an "
        f"interrupted run (Ctrl-C) resumes where it stopped when run again with the same "
        f"options.")
    parser.add_argument("--budget", choices=sorted(BUDGETS),
                        default=os.environ.get("SUBRATIONAL_BUDGET", "demo"),
                        help="how much work (see Budgets below; default demo, or "
                             "$SUBRATIONAL_BUDGET)")
    parser.add_argument("--games", nargs="+", choices=GAMES, default=list(GAMES),
                        help="games to run (default: all four)")
    parser.add_argument("--model", default=None,
                        help="model name at the endpoint (default: the embedded Gemma 3 270M, "
                             "or $SUBRATIONAL_LLM_MODEL)")
    parser.add_argument("--base-url", default=None,
                        help="OpenAI-compatible endpoint, e.g. http://host:8000/v1 (default: "
                             "$OPENAI_BASE_URL, else the embedded llama.cpp server); the key "
                             "is read from $OPENAI_API_KEY")
    parser.add_argument("--mode", choices=("score", "sample"), default="score",
                        help="score: read the labels' log-probabilities (default); sample: "
                             "10 answers per state")
    parser.add_argument("--cache", type=Path, default=None,
                        help="SQLite answer cache (default: the user cache directory)")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="output folder (default results/)")
    parser.add_argument("--no-perf", action="store_true", help="skip the performance benchmark")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="where training jobs run: local (default) or ray")
    parser.add_argument("--workers", type=int, default=1,
                        help="local worker processes for training jobs (default 1: in this "
                             "process; each trains on one thread)")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster to join with --executor ray (default $RAY_ADDRESS, "
                             "else a local cluster)")
    parser.add_argument("--jobs-dir", type=Path, default=None,
                        help="where finished training jobs are kept (default <out>/jobs); a "
                             "rerun skips the jobs recorded there")
    parser.add_argument("--provider", choices=PROVIDERS, default=None,
                        help="what the endpoint supports (log-probability limits, constraints, "
                             "prompt lists): default $SUBRATIONAL_LLM_PROVIDER, else detected "
                             "(llamacpp for the embedded server), else generic")
    parser.add_argument("--max-calls", type=int, default=None,
                        help="stop cleanly after this many model calls (everything asked so "
                             "far stays cached; run again with a higher limit to resume)")
    parser.add_argument("--min-coverage", type=float, default=0.5,
                        help="least share of the probability mass the labels must get for a "
                             "state to be valid in score mode (default 0.5)")
    parser.add_argument("--one-order", action="store_true",
                        help="ask each state with the labels in one order only (half the "
                             "prompts; by default both orders are asked and averaged)")
    parser.add_argument("--price-per-million-input", type=float, default=None,
                        help="price of a million prompt tokens, for a cost estimate")
    parser.add_argument("--price-per-million-output", type=float, default=None,
                        help="price of a million completion tokens, for a cost estimate")
    ns = parser.parse_args(argv)
    if ns.max_calls is not None and ns.max_calls < 0:
        parser.error(f"--max-calls must be >= 0, got {ns.max_calls}")
    if not 0.0 <= ns.min_coverage <= 1.0:
        parser.error(f"--min-coverage must be in [0, 1], got {ns.min_coverage}")
    return Args(budget=ns.budget, games=tuple(ns.games), model=ns.model, base_url=ns.base_url,
                mode=ns.mode, cache=ns.cache, out=ns.out, perf=not ns.no_perf,
                progress=not ns.no_progress, executor=ns.executor, workers=ns.workers,
                ray_address=ns.ray_address, jobs_dir=ns.jobs_dir, provider=ns.provider,
                max_calls=ns.max_calls,
                min_coverage=ns.min_coverage, one_order=ns.one_order,
                price_per_million_input=ns.price_per_million_input,
                price_per_million_output=ns.price_per_million_output)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the replication from the command line; returns the summary (summary.json)."""
    args = parse_args(argv)
    from benchmarks.replication.run import Replication

    return Replication(args).run()


def cli(argv: Sequence[str] | None = None) -> int:
    """:func:`main` for the shell; returns the exit status.

    An endpoint that cannot serve the run (the pre-flight, before any work) is one line
    and status 2; a spent ``--max-calls`` budget status 3; Ctrl-C names where this run's
    answers and finished jobs are kept (its own ``--jobs-dir`` or ``<out>/jobs``), 130.
    """
    args = parse_args(argv)  # --help and bad flags answer before the heavy imports
    try:
        _preflight(args)
        from benchmarks.replication.run import Replication

        Replication(args).run()
    except CallBudgetError as exc:
        print(f"\nstopped: {exc}", file=sys.stderr)
        return 3
    except EndpointUnreachableError as exc:  # one line, before any work: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: every model answer received so far is saved in the answer "
              f"cache; run the same command again (make demo) to resume without asking the "
              f"model again; finished training jobs are kept in "
              f"{args.jobs_dir or args.out / 'jobs'} and are not run again.", file=sys.stderr)
        return 130
    return 0


def _preflight(args: Args) -> None:
    """Check a remote endpoint before the heavy imports (torch, the learners).

    A closed port or a model the endpoint does not serve is then named in a few seconds;
    the run checks again as it makes its first expert (the embedded server is started
    by the run itself).

    Raises:
        EndpointUnreachableError: The endpoint cannot serve the run.
    """
    if not (args.base_url or os.environ.get("OPENAI_BASE_URL")):
        return
    from llm_experts.endpoint import EndpointConfig, resolve_endpoint

    resolve_endpoint(EndpointConfig(base_url=args.base_url, model=args.model,
                                    provider=args.provider))
