"""Asking the model: the LLM expert of each persona, its tabulation and the run's model use.

A :class:`Tabulator` holds what the run's experts share (the endpoint, the cache, the
call budget) and keeps the account of every model call: totals, per game (states,
calls, label coverage, order effect) and the estimate made before the first call.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.replication.config import Args, Budget
from benchmarks.replication.records import Evidence, PersonaRecord, Tabulation
from llm_experts import CallPlan, EndpointConfig, ExpertConfig, LLMExpert, Usage
from subrational_gym.evaluation import behaviour_summary
from subrational_gym.inference import ActionCounts
from subrational_gym.learners import generate_demonstrations
from subrational_gym.learners.sweeps import table_digest
from subrational_gym.policies import TabularPolicy
from subrational_gym.studies import Study, Variant


def log(message: str) -> None:
    """A line of the run's progress on stdout, at once."""
    print(message, flush=True)


@dataclasses.dataclass
class GameUsage:
    """The model's use in one game: states asked, calls, coverage and order effect."""

    decision_states: int = 0
    model_calls: int = 0
    coverage: list[float] = dataclasses.field(default_factory=list)
    order_effect: list[float] = dataclasses.field(default_factory=list)
    invalid: int = 0

    def to_dict(self, min_coverage: float) -> dict[str, Any]:
        """The game's record in summary.json's ``llm_usage.by_game``."""
        cov = np.array(self.coverage, dtype=float)
        eff = np.array(self.order_effect, dtype=float)
        return {
            "decision_states": self.decision_states, "model_calls": self.model_calls,
            "calls_per_state": self.model_calls / max(self.decision_states, 1),
            "invalid_states": self.invalid,
            "coverage": ({"min": float(cov.min()), "q10": float(np.quantile(cov, 0.1)),
                          "median": float(np.median(cov)),
                          "below_threshold": int((cov < min_coverage).sum()),
                          "threshold": min_coverage} if cov.size else None),
            "order_effect": ({"mean": float(eff.mean()), "max": float(eff.max())}
                             if eff.size else None),
        }


class Tabulator:
    """The run's LLM experts (one endpoint, one cache, one call budget) and their account.

    Attributes:
        args: The run's arguments (endpoint, mode, cache, limits, prices).
        usage: Model use of every expert of the run.
        by_game: Model use per game.
        plan: What tabulating every persona was estimated to cost, before any call.
        endpoint: The endpoint's URL, once an expert was made.
        model: The model's name at the endpoint, once an expert was made.
        provider: What the endpoint supports (its profile's name), once known.
    """

    def __init__(self, args: Args) -> None:
        self.args = args
        self.usage = Usage()
        self.by_game: dict[str, GameUsage] = {}
        self.plan: CallPlan | None = None
        self.endpoint: str | None = None
        self.model: str | None = None
        self.provider: str | None = None

    @property
    def remote(self) -> bool:
        """Whether the run asks an endpoint the user gave, not the embedded model."""
        return bool(self.args.base_url or os.environ.get("OPENAI_BASE_URL"))

    def endpoint_name(self) -> str:
        """The endpoint by what it is: the embedded model, or the URL the user gave."""
        if self.remote:
            return str(self.endpoint)
        return "the embedded llama.cpp server (127.0.0.1, started by this run)"

    def expert(self, study: Study, variant: Variant, persona: str, **kwargs: Any) -> LLMExpert:
        """The LLM expert of ``persona`` in ``variant``, with this run's endpoint and cache."""
        kwargs.setdefault("mode", self.args.mode)
        kwargs.setdefault("cache_path", self.args.cache)
        if self.args.max_calls is not None:  # one budget for the whole run
            kwargs.setdefault("max_calls", max(0, self.args.max_calls - self.usage.model_calls))
        endpoint = EndpointConfig(base_url=self.args.base_url, model=self.args.model,
                                  provider=self.args.provider)
        config = ExpertConfig(progress=self.args.progress, min_coverage=self.args.min_coverage,
                              counterbalance=not self.args.one_order, **kwargs)
        return LLMExpert(study.env_id, persona, env_kwargs=dict(variant.env_kwargs),
                         endpoint=endpoint, config=config)

    def estimate(self, studies: Sequence[Study]) -> CallPlan:
        """What tabulating every persona will cost, before any call (cached requests free).

        Making the first expert is the endpoint's pre-flight: an endpoint that cannot
        serve the run raises ``EndpointUnreachableError`` here, before any work.
        """
        total = CallPlan(0, 0, 0, 0)
        for study in studies:
            for variant in study.variants:
                for persona in study.persona_names:
                    if self.args.personas and persona not in self.args.personas:
                        continue
                    total = total + self.expert(study, variant, persona).plan()
        self.plan = total.with_prices(self.args.price_per_million_input,
                                      self.args.price_per_million_output)
        return self.plan

    def spend(self, report: Any) -> Any:
        """Count a tabulation outside the study (performance) in the run's model use."""
        self.usage = self.usage + report.usage
        return report

    def account(self, game: str, report: Any) -> None:
        """Add one tabulation to the run's model use and to its game's record."""
        self.spend(report)
        rec = self.by_game.setdefault(game, GameUsage())
        rec.decision_states += report.n_decision_states
        rec.model_calls += report.usage.model_calls
        rec.coverage.extend(report.coverage.values())
        rec.order_effect.extend(report.order_effect.values())
        rec.invalid += len(report.invalid)

    def usage_record(self) -> dict[str, Any]:
        """Model use of the run for summary.json: totals, per game, the estimate made first."""
        args, usage = self.args, self.usage
        cost = None
        if args.price_per_million_input is not None or args.price_per_million_output is not None:
            cost = (usage.prompt_tokens * (args.price_per_million_input or 0.0)
                    + usage.completion_tokens * (args.price_per_million_output or 0.0)) / 1e6
        return {"provider": self.provider, "orders": 1 if args.one_order else 2,
                "min_coverage": args.min_coverage, "max_calls": args.max_calls,
                **usage.to_dict(), "cost": cost,
                "by_game": {g: r.to_dict(args.min_coverage) for g, r in self.by_game.items()},
                "estimate": self.plan.to_dict() if self.plan else None}

    def tabulate(self, study: Study, variant: Variant, persona: str, *, budget: Budget,
                 evidence: Evidence) -> PersonaRecord:
        """Tabulate one persona's expert (the model calls of the run) and its own choices.

        A complete table goes into ``evidence`` (the expert, its table for the training
        jobs, and its demonstrations of the first seed as choices for the fits).
        """
        game = study.make_env(variant.name)
        expert = self.expert(study, variant, persona)
        self.endpoint, self.model = expert.client.base_url, expert.client.model
        self.provider = expert.client.profile.name
        report = expert.tabulate()
        self.account(study.game, report)
        tabulation = Tabulation(
            seconds=report.seconds, model_calls=report.usage.model_calls,
            cache_hits=report.usage.cache_hits, decision_states=report.n_decision_states,
            invalid_states=tuple(dataclasses.asdict(s) for s in report.invalid),
            coverage=report.coverage_summary(), order_effect=report.order_effect_summary(),
            degradations=tuple(report.usage.degradations))
        attributes = dict(study.persona(persona).attributes)
        if not report.complete:
            error = (f"{len(report.invalid)} decision states have no valid answer; "
                     f"no demonstrations were generated for this persona")
            log(f"    {persona}: {error}")
            return PersonaRecord(persona, attributes, tabulation, error=error)
        table = TabularPolicy(expert.model, np.array(expert.probs), name=f"llm:{persona}")
        evidence.experts[(study.game, variant.name, persona)] = table
        evidence.tables[table_digest(table.probs)] = table.probs
        summary = behaviour_summary(game, table)
        # The expert's own choices: episodes drawn with the first seed (as that seed's
        # learners' demonstrations are), as many as the study's power analysis asks for.
        env_kwargs = dict(variant.env_kwargs)
        demos = generate_demonstrations(table, study.env_id,
                                        study.judged_episodes(budget.n_episodes),
                                        seed=budget.seeds[0], env_kwargs=env_kwargs)
        evidence.counts[(study.game, variant.name, persona, "llm_expert")] = \
            ActionCounts.from_trajectories(study.env_id, demos, env_kwargs=env_kwargs)
        log(f"    {persona}: {report.n_decision_states} states, {report.usage.model_calls} "
            f"calls, {report.seconds:.1f}s")
        return PersonaRecord(persona, attributes, tabulation, expert=summary)
