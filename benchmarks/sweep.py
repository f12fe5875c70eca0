"""Sweeps: the replication over a grid of models x personas x games x learners x seeds.

Each model is tabulated once per persona and game state (answers are cached as they
arrive), then every training job of the grid runs through one executor (``local``: a
process pool on this machine; ``ray``: a Ray cluster) and is recorded under
``OUT/jobs/`` keyed by a hash of its config, so a rerun skips finished jobs and the RL
baselines, which do not depend on the model, are trained once for all models. Seeds
named in the config or with ``--seeds`` train every imitation learner (the budget's own
seeds keep its rule: BC, GAIL and AIRL on fewer); the RL baselines train on the first. The
findings, model card and human fidelity of each model come from those records, written
per model under ``OUT/<model>/``, and side by side in ``OUT/comparison.md`` (a table per
game and a plot per game with one curve per model and persona).

Run::

    python -m benchmarks.sweep sweep.toml               # a config file
    python -m benchmarks.sweep --games ultimatum --seeds 0 1 --dry-run   # flags alone
    python -m benchmarks.sweep sweep.toml --executor ray --ray-address auto

A config file (TOML) holds the same options as the flags (flags win)::

    budget = "demo"
    games = ["ultimatum"]
    personas = ["fairness", "income"]
    learners = ["bc", "distribution_matching"]
    seeds = [0, 1]
    executor = "local"
    workers = 2
    out = "results/sweep"

    [[models]]                    # default: the embedded model
    name = "gemma-3-270m"

    [[models]]
    name = "Qwen/Qwen2.5-7B-Instruct"
    base_url = "http://gpu-host:8000/v1"
    provider = "vllm"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import replication, reporting
from benchmarks.replication import (
    BUDGETS,
    IMITATION,
    RL,
    Args,
    Budget,
    RunRecords,
)
from llm_experts import EndpointUnreachableError
from subrational_gym.learners.errors import SweepError
from subrational_gym.runner.executors import EXECUTORS
from subrational_gym.studies import STUDIES

#: Where the dry run reads measured seconds per training run and per model call.
ESTIMATES = Path(__file__).resolve().parent.parent / "docs" / "latest-demo" / "perf.json"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model of the grid.

    Attributes:
        name: Model name at the endpoint (None: the embedded model, or
            ``$SUBRATIONAL_LLM_MODEL``).
        base_url: OpenAI-compatible endpoint (None: ``$OPENAI_BASE_URL`` or the embedded
            server).
        provider: What the endpoint supports (``vllm``, ``openai``, ...; None: detected).
    """

    name: str | None = None
    base_url: str | None = None
    provider: str | None = None

    @property
    def slug(self) -> str:
        """A folder name for the model."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name or "embedded").strip("_")


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """The grid and how to run it (see the module docstring for the file format)."""

    models: tuple[ModelSpec, ...] = (ModelSpec(),)
    budget: str = "demo"
    games: tuple[str, ...] = tuple(STUDIES)
    personas: tuple[str, ...] | None = None
    learners: tuple[str, ...] = (*IMITATION, *RL)
    seeds: tuple[int, ...] | None = None
    mode: str = "score"
    one_order: bool = False
    executor: str = "local"
    workers: int = 1
    ray_address: str | None = None
    cache: Path | None = None
    out: Path = Path("results/sweep")

    def __post_init__(self) -> None:
        checks = (("budget", [self.budget], BUDGETS),
                  ("games", self.games, STUDIES),
                  ("learners", self.learners, (*IMITATION, *RL)),
                  ("executor", [self.executor], EXECUTORS),
                  ("mode", [self.mode], ("score", "sample")))
        for name, values, valid in checks:
            bad = [v for v in values if v not in valid]
            if bad:
                raise SweepError(f"sweep {name} {bad} unknown; expected some of {list(valid)}")
        if self.personas:
            known = {p for g in self.games for p in STUDIES[g].persona_names}
            bad = [p for p in self.personas if p not in known]
            if bad:
                raise SweepError(f"sweep personas {bad} are not personas of {list(self.games)}; "
                                 f"expected some of {sorted(known)}")
        if not self.models:
            raise SweepError("a sweep needs at least one model; add a [[models]] table or "
                             "--model")

    def job_budget(self) -> Budget:
        """The budget preset over this grid's learners and seeds.

        Named seeds train every imitation learner: the preset's rule that its few-seed
        learners (BC, GAIL and AIRL in the demo) train on its own few seeds only, kept by
        :meth:`Budget.restrict` as "the first named seed" when none of them is
        named, made ``--seeds 3 4`` train BC, GAIL and AIRL on seed 3 alone, silently.
        """
        budget = BUDGETS[self.budget].restrict(learners=self.learners,
                                                        seeds=self.seeds)
        if self.seeds:
            budget = dataclasses.replace(budget, few_seeds=budget.seeds)
        return budget

    def args_for(self, model: ModelSpec) -> Args:
        """The replication arguments of one model of the grid."""
        return Args(
            budget=self.budget, games=self.games, model=model.name, base_url=model.base_url,
            provider=model.provider, one_order=self.one_order,
            mode=self.mode, cache=self.cache, out=self.out / model.slug, perf=False,
            progress=True, personas=self.personas, learners=self.learners, seeds=self.seeds,
            executor=self.executor, workers=self.workers, ray_address=self.ray_address,
            jobs_dir=self.out / "jobs")


_FIELDS = {f.name for f in dataclasses.fields(SweepConfig)}


def load_config(path: str | Path | None, overrides: Mapping[str, Any]) -> SweepConfig:
    """A config from a TOML file (optional) with flag values on top."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError as err:
            raise SweepError(f"sweep config {str(path)!r} does not exist; pass a TOML file "
                             f"or use the flags alone") from err
        except tomllib.TOMLDecodeError as err:
            raise SweepError(f"sweep config {str(path)!r} is not valid TOML: {err}") from err
    raw.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise SweepError(f"unknown sweep options {unknown}; expected some of {sorted(_FIELDS)}")
    models = raw.pop("models", None)
    if models is not None:
        keys = {"name", "base_url", "provider"}
        bad = [m for m in models if not isinstance(m, Mapping) or set(m) - keys]
        if bad:
            raise SweepError(f"each model is a table with 'name' and optional 'base_url' and "
                             f"'provider', got {bad}")
        raw["models"] = tuple(ModelSpec(m.get("name"), m.get("base_url"), m.get("provider"))
                              for m in models)
    for key in ("games", "personas", "learners", "seeds"):
        if key in raw:
            raw[key] = tuple(raw[key])
    for key in ("out", "cache"):
        if key in raw:
            raw[key] = Path(raw[key])
    return SweepConfig(**raw)


# ------------------------------------------------------------------------ planning
def plan(config: SweepConfig) -> list[dict[str, Any]]:
    """Every training job of the grid (RL baselines once for all models)."""
    budget = config.job_budget()
    rows = []
    for game in config.games:
        study = STUDIES[game]
        personas = [p for p in study.persona_names
                    if not config.personas or p in config.personas]
        for variant in study.variants:
            for model in config.models:
                rows += [{"model": model.slug, "game": game, "variant": variant.name,
                          "persona": p, "learner": alg, "seed": seed}
                         for p in personas for alg in IMITATION
                         for seed in budget.seeds_of(alg)]
            rows += [{"model": "-", "game": game, "variant": variant.name, "persona": "-",
                      "learner": alg, "seed": seed}
                     for alg in RL for seed in budget.seeds_of(alg)]
    return rows


def decision_states(config: SweepConfig) -> int:
    """Decision states to tabulate: every (model, persona, variant)."""
    total = 0
    for game in config.games:
        study = STUDIES[game]
        n_personas = sum(1 for p in study.persona_names
                         if not config.personas or p in config.personas)
        for variant in study.variants:
            states = int(study.make_env(variant.name).tabular_model().decision_mask.sum())
            total += states * n_personas * len(config.models)
    return total


def _run_scale(alg: str, game: str, steps: int | None, n_episodes: int) -> float:
    """How much longer one run of ``alg`` at ``steps`` takes than the demo's run.

    Budgets left to the defaults (``None``) are resolved per game, as training resolves
    them; BC's epochs pass over every demonstration, so its time also grows with the
    episodes. The demo's mean is taken over its games, so this is a ratio of means.
    """
    from subrational_gym.learners.defaults import resolve  # torch: only when estimating

    demo = BUDGETS["demo"]
    mine = resolve(alg, game, budget=steps).budget
    theirs = resolve(alg, game, budget=demo.steps.get(alg)).budget
    scale = mine / theirs if mine and theirs else 1.0  # value iteration has no budget
    if alg == "bc":
        scale *= n_episodes / demo.n_episodes
    return scale


def estimate(config: SweepConfig, jobs: Sequence[Mapping[str, Any]],
             measured: Path = ESTIMATES) -> dict[str, Any]:
    """Model calls and duration, from the seconds measured by the latest demo.

    Training seconds per run are the demo's means, scaled by :func:`_run_scale` to this
    budget; the local executor divides them by its workers.
    """
    perf = json.loads(measured.read_text()) if measured.exists() else {}
    per_run = {k: v["mean_seconds"] for k, v in
               perf.get("learner_train_seconds", {}).get("value", {}).items()}
    budget = BUDGETS[config.budget]
    games = {(j["game"], j["variant"]) for j in jobs}
    game_of = {(g, v): STUDIES[g].make_env(v).unwrapped.game for g, v in games}
    train = 0.0
    unknown = set()
    for job in jobs:
        alg = job["learner"]
        if alg not in per_run:
            unknown.add(alg)
            continue
        train += per_run[alg] * _run_scale(alg, game_of[job["game"], job["variant"]],
                                           budget.steps.get(alg), budget.n_episodes)
    states = decision_states(config)
    calls_per_state = ((perf.get("llm_calls_per_state", {}).get("score_mode", {})
                        .get("value") or 2.6) if config.mode == "score" else 10.0)
    cold = perf.get("tabulate_all_games_one_persona", {})
    per_call = (cold["value"] / cold["model_calls"]
                if cold.get("model_calls") and cold.get("value") else 0.1)
    calls = states * calls_per_state
    workers = config.workers if config.executor == "local" else 1
    return {"jobs": len(jobs), "decision_states": states, "model_calls": round(calls),
            "train_seconds": train / workers, "tabulate_seconds": calls * per_call,
            "measured_from": str(measured) if perf else None,
            "learners_without_timing": sorted(unknown)}


def dry_run(config: SweepConfig) -> dict[str, Any]:
    """Print the job list, model calls, training jobs and the estimated duration."""
    jobs = plan(config)
    est = estimate(config, jobs)
    print(reporting.text_table(["model", "game", "variant", "persona", "learner", "seed"],
                               [list(j.values()) for j in jobs]))
    print(f"\n{est['jobs']} training jobs; {est['decision_states']} decision states to "
          f"tabulate over {len(config.models)} model(s), about {est['model_calls']} model "
          f"calls on a cold cache ({config.mode} mode; cached answers cost nothing)")
    print(f"estimated duration: tabulation {est['tabulate_seconds']:.0f} s + training "
          f"{est['train_seconds']:.0f} s with {config.executor}"
          + (f" x{config.workers}" if config.executor == "local" else "")
          + (f" (seconds per run measured in {est['measured_from']})"
             if est["measured_from"] else " (no measured timings found)")
          + "; jobs already recorded in the jobs folder are skipped")
    return est


# --------------------------------------------------------------------- comparison
def comparison(summaries: Mapping[str, Mapping[str, Any]],
               records: Mapping[str, RunRecords], out: Path) -> str:
    """Side-by-side Markdown of several models, with one plot per game."""
    models = list(summaries)
    lines = ["# Sweep: models side by side", "",
             "Findings (verdict of the headline source, then the LLM expert's own) and "
             "human fidelity (0 = chance, 1 = the human figures) of each model.", ""]
    games = [g for g in STUDIES if any(g in r.games for r in records.values())]
    rows = []
    for game in games:
        for m in models:
            f = next((f for f in summaries[m]["findings"] if f["game"] == game), None)
            fid = summaries[m]["fidelity"]["per_game"].get(game, {})
            if f is None:
                continue
            rows.append([game, m, f"{f['reproduced']} ({f['learner']})",
                         f["by_source"].get("llm_expert", {}).get("reproduced", "-"),
                         fid.get("llm_expert"), fid.get(f["learner"])])
    lines += [reporting.markdown_table(["game", "model", "verdict", "verdict (LLM)",
                                        "fidelity: LLM", "fidelity: learned"], rows), ""]
    rows = [[m, *(summaries[m]["fidelity"]["overall"].get(k)
                  for k in ("llm_expert", "distribution_matching", "bc"))] for m in models]
    lines += ["Overall human fidelity:", "",
              reporting.markdown_table(["model", "LLM", "distribution matching", "BC"], rows),
              ""]
    styles = ("-", "--", ":", "-.")
    for game in games:
        curves: dict[str, Mapping[str, Any]] = {}
        look: dict[str, dict[str, Any]] = {}
        for i, m in enumerate(models):
            variants = records[m].games.get(game, {})
            personas = variants["plain"].personas if "plain" in variants else {}
            for j, (persona, rec) in enumerate(personas.items()):
                if rec.expert is not None:
                    label = f"{m}: {persona}"
                    curves[label] = rec.expert
                    look[label] = {"color": f"C{i}", "ls": styles[j % len(styles)]}
        path = reporting.plot_behaviour(game, curves, out / "plots" / f"{game}.png",
                                        styles=look,
                                        title=f"{STUDIES[game].title}: LLM personas by model")
        lines += [f"![{game}](plots/{path.name})", ""]
    return "\n".join(lines)


def run(config: SweepConfig) -> dict[str, Any]:
    """Run the grid model by model (training through the shared jobs folder), then compare."""
    started = time.time()
    summaries, records = {}, {}
    for model in config.models:
        print(f"[sweep] model {model.slug}", flush=True)
        # Every named seed trains every learner (the job budget, not the preset's rule).
        rep = replication.Replication(config.args_for(model), budget=config.job_budget())
        summaries[model.slug] = rep.run()
        records[model.slug] = rep.records
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "comparison.md").write_text(comparison(summaries, records, config.out))
    result = {"config": dataclasses.asdict(config), "wall_seconds": time.time() - started,
              "models": {m: {"findings": s["findings"], "fidelity": s["fidelity"]}
                         for m, s in summaries.items()}}
    reporting.write_json(config.out / "comparison.json", result)
    print(f"[sweep] {len(summaries)} model(s) in {result['wall_seconds']:.0f} s; comparison: "
          f"{config.out / 'comparison.md'}", flush=True)
    return result


def parse_args(argv: Sequence[str] | None) -> tuple[SweepConfig, bool]:
    """The command line: a config file and flags (flags win)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", help="TOML config file (optional)")
    parser.add_argument("--model", action="append", default=None, metavar="NAME[@URL]",
                        help="a model of the grid, repeatable; NAME@URL names its endpoint "
                             "(default: the embedded model)")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default=None,
                        help="budget preset of the replication (default demo)")
    parser.add_argument("--games", nargs="+", choices=list(STUDIES), default=None)
    parser.add_argument("--personas", nargs="+", default=None,
                        help="personas (default: every persona of each game)")
    parser.add_argument("--learners", nargs="+", default=None,
                        choices=[*IMITATION, *RL],
                        help="learners and RL baselines (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="seeds, each for every imitation learner; RL baselines train on "
                             "the first (default: the budget's)")
    parser.add_argument("--mode", choices=("score", "sample"), default=None)
    parser.add_argument("--one-order", action="store_true", default=None,
                        help="ask each state in one label order only (half the prompts)")
    parser.add_argument("--executor", choices=EXECUTORS, default=None,
                        help="local (default: a process pool) or ray")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default 1)")
    parser.add_argument("--ray-address", default=None,
                        help="Ray cluster to join (default $RAY_ADDRESS, else a local one)")
    parser.add_argument("--cache", default=None, help="SQLite answer cache")
    parser.add_argument("--out", default=None, help="output folder (default results/sweep)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the jobs, model calls and estimated duration; run nothing")
    ns = parser.parse_args(argv)
    models = None
    if ns.model:
        models = [dict(zip(("name", "base_url"), m.split("@", 1), strict=False))
                  for m in ns.model]
    overrides = {"models": models, "budget": ns.budget, "games": ns.games,
                 "personas": ns.personas, "learners": ns.learners, "seeds": ns.seeds,
                 "mode": ns.mode, "one_order": ns.one_order, "executor": ns.executor,
                 "workers": ns.workers,
                 "ray_address": ns.ray_address, "cache": ns.cache, "out": ns.out}
    return load_config(ns.config, overrides), ns.dry_run


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run (or with ``--dry-run`` plan) a sweep from the command line."""
    config, dry = parse_args(argv)
    return dry_run(config) if dry else run(config)


def cli(argv: Sequence[str] | None = None) -> int:
    """:func:`main` for the shell: errors and Ctrl-C as one message; returns the exit status.

    The Ctrl-C message names this sweep's own jobs folder (``OUT/jobs``).
    """
    config: SweepConfig | None = None
    try:
        config, dry = parse_args(argv)
        if dry:
            dry_run(config)
        else:
            run(config)
    except SweepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except EndpointUnreachableError as err:  # the pre-flight, before any work: one line
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        jobs = "OUT/jobs" if config is None else config.out / "jobs"
        print(f"\ninterrupted: model answers are cached and finished training jobs are "
              f"recorded under {jobs}; run the same command again to resume.",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(cli())
