"""Typed records of one replication run.

What a run finds, game by game and variant by variant (:class:`RunRecords` of
:class:`VariantRecord`, each with a :class:`PersonaRecord` per persona and the
exponential-discount :class:`Baselines`), the verdicts of the findings
(:class:`Finding`), and what the run collects on the way for its structural fits and
human-fidelity scores (:class:`Evidence`). Every record's ``to_dict()`` gives the
JSON shape written to disk (``runs/replication_*.json`` under ``games``, and the
findings of ``summary.json``), which the report and the plots read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from subrational_gym.inference import ActionCounts
from subrational_gym.policies import TabularPolicy

#: A behaviour summary of one policy (``subrational_gym.evaluation.behaviour_summary``).
Summary = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Tabulation:
    """One persona's tabulation by the model.

    Attributes:
        seconds: Wall time of the tabulation.
        model_calls: Calls sent to the model (cached answers not counted).
        cache_hits: Answers taken from the answer cache.
        decision_states: States the persona was asked about.
        invalid_states: The states with no valid answer, as dicts.
        coverage: Share of the probability mass on the labels (summary).
        order_effect: Difference between the two label orders (summary).
        degradations: What the client gave up after the endpoint named a limit.
    """

    seconds: float
    model_calls: int
    cache_hits: int
    decision_states: int
    invalid_states: tuple[Mapping[str, Any], ...]
    coverage: Any
    order_effect: Any
    degradations: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return {"seconds": self.seconds, "model_calls": self.model_calls,
                "cache_hits": self.cache_hits, "decision_states": self.decision_states,
                "invalid_states": [dict(s) for s in self.invalid_states],
                "coverage": self.coverage, "order_effect": self.order_effect,
                "degradations": list(self.degradations)}


@dataclasses.dataclass(frozen=True)
class LearnerRun:
    """One training run of an imitation learner on one persona (one seed)."""

    seed: int
    tv_mean: float
    tv_max: float
    train_seconds: float
    key_metric: float | None
    budget: Any
    job: str
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class LearnerResult:
    """An imitation learner on one persona over its seeds.

    Attributes:
        runs: The runs, by seed.
        tv_mean: Mean total variation to the expert over the seeds (IQM and interval).
        key_metric: The game's key behavioural metric over the seeds (IQM and interval).
        summary: Behaviour of the seed-mean policy.
    """

    runs: tuple[LearnerRun, ...]
    tv_mean: Mapping[str, Any]
    key_metric: Mapping[str, Any]
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return {"runs": [r.to_dict() for r in self.runs], "tv_mean": dict(self.tv_mean),
                "key_metric": dict(self.key_metric), "summary": self.summary}


@dataclasses.dataclass(frozen=True)
class PersonaRecord:
    """One persona of one variant: its tabulation, its expert and its learners.

    Attributes:
        persona: The persona's name.
        attributes: The persona's attributes (age, GPA, ...).
        tabulation: How the model was asked.
        expert: Behaviour of the tabulated expert (None when a state had no valid answer).
        error: Why there is no expert (None when there is one).
        learners: Each imitation learner trained on the expert (None before training).
    """

    persona: str
    attributes: Mapping[str, Any]
    tabulation: Tabulation
    expert: Summary | None = None
    error: str | None = None
    learners: Mapping[str, LearnerResult] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape (keys of what is not known yet left out)."""
        out: dict[str, Any] = {"persona": self.persona, "attributes": dict(self.attributes),
                               "tabulation": self.tabulation.to_dict()}
        if self.error is not None:
            out["error"] = self.error
        if self.expert is not None:
            out["expert"] = self.expert
        if self.learners is not None:
            out["learners"] = {a: r.to_dict() for a, r in self.learners.items()}
        return out


@dataclasses.dataclass(frozen=True)
class RLBaseline:
    """One RL baseline (PPO or DQN) trained at the headline gamma."""

    gamma: float
    seed: int
    budget: Any
    train_seconds: float
    summary: Summary
    job: str
    reused: bool

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return {"gamma": self.gamma, "seed": self.seed, "budget": self.budget,
                "train_seconds": self.train_seconds, "summary": self.summary,
                "job": self.job, "reused": self.reused}


@dataclasses.dataclass(frozen=True)
class Baselines:
    """The exponential-discount baselines and reference policies of one variant.

    Attributes:
        value_iteration: Behaviour of the exact optimum per gamma (``f"{gamma:g}"``).
        rl: The RL baselines by algorithm.
        references: Behaviour of each of the study's reference policies.
    """

    value_iteration: Mapping[str, Summary]
    rl: Mapping[str, RLBaseline]
    references: Mapping[str, Summary]

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return {"value_iteration": dict(self.value_iteration),
                **{alg: r.to_dict() for alg, r in self.rl.items()},
                "references": dict(self.references)}


@dataclasses.dataclass
class VariantRecord:
    """One variant of one game.

    Its personas are filled as they are tabulated (then replaced with their learners
    after training); its baselines come after training.
    """

    env_id: str
    env_kwargs: Mapping[str, Any]
    personas: dict[str, PersonaRecord] = dataclasses.field(default_factory=dict)
    baselines: Baselines | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape (keys of what is not known yet left out)."""
        out: dict[str, Any] = {"env_id": self.env_id, "env_kwargs": dict(self.env_kwargs),
                               "personas": {p: r.to_dict() for p, r in self.personas.items()}}
        if self.baselines is not None:
            out["baselines"] = self.baselines.to_dict()
        return out


class RunRecords:
    """The records of a run: game -> variant -> :class:`VariantRecord`."""

    def __init__(self) -> None:
        self.games: dict[str, dict[str, VariantRecord]] = {}

    def add(self, game: str, variant: str, record: VariantRecord) -> VariantRecord:
        """Record a variant of ``game`` (in the order they are run) and return it."""
        self.games.setdefault(game, {})[variant] = record
        return record

    def variant(self, game: str, variant: str) -> VariantRecord:
        """The record of ``variant`` of ``game``."""
        return self.games[game][variant]

    def persona(self, game: str, variant: str, persona: str) -> PersonaRecord | None:
        """A persona's record, None when it was not run."""
        record = self.games.get(game, {}).get(variant)
        return None if record is None else record.personas.get(persona)

    def summaries(self, game: str, variant: str, source: str) -> dict[str, Summary]:
        """Behaviour of ``source`` (``llm_expert`` or a learner) per persona."""
        personas = self.games[game][variant].personas
        if source == "llm_expert":
            return {p: r.expert for p, r in personas.items() if r.expert is not None}
        return {p: r.learners[source].summary for p, r in personas.items()
                if r.learners and source in r.learners}

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The JSON shape: ``[game][variant]["personas"][p]["learners"][alg]["summary"]``."""
        return {g: {v: r.to_dict() for v, r in variants.items()}
                for g, variants in self.games.items()}


@dataclasses.dataclass(frozen=True)
class SourceVerdict:
    """A finding judged on one source's choices (the LLM, or a learner over its seeds)."""

    reproduced: str
    finding: str
    criterion: str
    bottom_line: str
    numbers: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The shape of ``by_source`` in summary.json."""
        return {"reproduced": self.reproduced, "numbers": dict(self.numbers),
                "bottom_line": self.bottom_line}


@dataclasses.dataclass(frozen=True)
class Finding:
    """A study's finding: the verdict of the headline source and of every judged source.

    Attributes:
        game: The study's game.
        finding: The hypothesis as stated (the criterion when nothing was judged).
        reproduced: The headline verdict.
        numbers: The headline source's statistics.
        criterion: The criterion the verdict applies.
        learner: The headline source (the paper's learner when it was trained).
        bottom_line: The headline verdict in one sentence.
        by_source: Every judged source's verdict.
    """

    game: str
    finding: str
    reproduced: str
    numbers: Mapping[str, Any]
    criterion: str
    learner: str
    bottom_line: str
    by_source: Mapping[str, SourceVerdict]

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON shape."""
        return {"game": self.game, "finding": self.finding, "reproduced": self.reproduced,
                "numbers": dict(self.numbers), "criterion": self.criterion,
                "learner": self.learner, "bottom_line": self.bottom_line,
                "by_source": {k: v.to_dict() for k, v in self.by_source.items()}}


#: (game, variant, persona) of one expert.
PersonaKey = tuple[str, str, str]


@dataclasses.dataclass
class Evidence:
    """What a run collects beside its records, for the fits, fidelity and performance.

    Attributes:
        counts: Choices per (game, variant, persona, source) for the structural fits: the
            LLM expert's demonstrations of the first seed (``llm_expert``) and episodes
            sampled from each learner seed's own policy (``learner@seed``).
        seed_summaries: Behaviour of each learner's policy per seed, for fidelity
            intervals over seeds: (game, variant, persona, learner) -> {seed: summary}.
        experts: The tabulated expert of each (game, variant, persona).
        tables: The experts' tables by digest (what the training jobs read).
        train_times: Seconds of each training run, by learner.
    """

    counts: dict[tuple[str, str, str, str], ActionCounts] = dataclasses.field(
        default_factory=dict)
    seed_summaries: dict[tuple[str, str, str, str], dict[int, Summary]] = dataclasses.field(
        default_factory=dict)
    experts: dict[PersonaKey, TabularPolicy] = dataclasses.field(default_factory=dict)
    tables: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    train_times: dict[str, list[float]] = dataclasses.field(default_factory=dict)

    def by_persona(self, game: str, variant: str, source: str) -> dict[str, ActionCounts]:
        """The choices of ``source`` (a label) in one variant, per persona."""
        return {persona: c for (g, v, persona, s), c in self.counts.items()
                if (g, v, s) == (game, variant, source)}

    def labels(self, game: str, variant: str, source: str) -> list[str]:
        """``source`` itself (the LLM) or one ``learner@seed`` label per judged seed."""
        found = {s for (g, v, _, s), _c in self.counts.items()
                 if (g, v) == (game, variant) and (s == source or s.startswith(f"{source}@"))}
        return sorted(found, key=lambda s: (len(s), s)) or [source]


@dataclasses.dataclass(frozen=True)
class TrainingTimes:
    """How the run's training went.

    Attributes:
        seconds: From the first job started to the last finished (overlapping tabulation).
        waited: Seconds the run waited for training after the last persona was tabulated.
        jobs: Training jobs of the run.
        reused: Jobs whose record was found in the jobs folder (not run again).
    """

    seconds: float = 0.0
    waited: float = 0.0
    jobs: int = 0
    reused: int = 0
