"""Training: the learners' and baselines' jobs, and their records back into the run's.

Each tabulated persona gets its imitation learners' jobs (per seed); the RL baselines
need no model answers and start at once. When the jobs are done, :func:`gather` turns
their records into each persona's :class:`~benchmarks.replication.records.LearnerResult`
and each variant's :class:`~benchmarks.replication.records.Baselines`, and collects the
choices the fits judge and the per-seed behaviour the fidelity scores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.replication.config import GAMMAS, IMITATION, JUDGE_SEED, RL, RL_GAMMA, Budget
from benchmarks.replication.records import (
    Baselines,
    Evidence,
    LearnerResult,
    LearnerRun,
    RLBaseline,
    RunRecords,
)
from benchmarks.replication.tabulation import log
from subrational_gym.aggregate import aggregate
from subrational_gym.evaluation import behaviour_summary
from subrational_gym.inference import ActionCounts
from subrational_gym.learners import train
from subrational_gym.learners.sweeps import Job
from subrational_gym.policies import TabularPolicy
from subrational_gym.studies import Study, Variant

#: The order a persona's learners are submitted in: longest first.
_LONGEST_FIRST = ("airl", "gail", "bc", "distribution_matching")


def imitation_jobs(expert: TabularPolicy, budget: Budget, *, model: str | None, game: str,
                   variant: str, persona: str) -> list[Job]:
    """The learners' jobs of one tabulated persona (per seed), longest first."""
    tags = {"model": str(model), "game": game, "variant": variant, "persona": persona}
    return [Job.imitate(alg, expert, n_episodes=budget.n_episodes, seed=seed,
                        budget=budget.steps[alg], tags=tags)
            for alg in _LONGEST_FIRST if alg in IMITATION for seed in budget.seeds_of(alg)]


def rl_jobs(studies: Sequence[Study], budget: Budget) -> list[Job]:
    """The RL baselines' jobs of every variant (no model answers needed)."""
    return [Job.reinforce(alg, study.env_id, seed=seed, budget=budget.steps[alg],
                          env_kwargs=dict(variant.env_kwargs), gamma=RL_GAMMA,
                          tags={"game": study.game, "variant": variant.name})
            for study in studies for variant in study.variants
            for alg in RL for seed in budget.seeds_of(alg)]


def mean_policy(policies: Sequence[TabularPolicy], name: str) -> TabularPolicy:
    """The seed-mean policy: the mean of the policies' distributions per state."""
    probs = np.mean([p.probs for p in policies], axis=0)
    return TabularPolicy(policies[0].model, probs, name=name)


def learned(study: Study, variant: Variant, persona: str,
            records: Sequence[Mapping[str, Any]], *, budget: Budget,
            evidence: Evidence) -> dict[str, LearnerResult]:
    """A persona's learners from their job records: runs, intervals, seed-mean policy.

    Each seed's policy is also judged as a study would see it: ``budget.n_episodes``
    episodes (or the study's planned number, when more) sampled from that seed's own
    policy go into ``evidence.counts``.
    """
    game = study.make_env(variant.name)
    model = game.tabular_model()
    out: dict[str, LearnerResult] = {}
    key = (study.game, variant.name, persona)
    index = study.persona_names.index(persona)
    for alg in IMITATION:
        mine = sorted((r for r in records if r["job"]["learner"] == alg),
                      key=lambda r: r["job"]["seed"])
        if not mine:
            continue
        runs = []
        for r in mine:
            seed = r["job"]["seed"]
            evidence.seed_summaries.setdefault((*key, alg), {})[seed] = r["summary"]
            evidence.train_times.setdefault(alg, []).append(r["train"]["train_seconds"])
            runs.append(LearnerRun(seed=seed, tv_mean=r["tv_mean"], tv_max=r["tv_max"],
                                   train_seconds=r["train"]["train_seconds"],
                                   key_metric=study.key_metric(r["summary"]),
                                   budget=r["train"]["budget"], job=r["key"],
                                   reused=r["reused"]))
        mean = mean_policy([TabularPolicy(model, np.array(r["policy"])) for r in mine],
                           f"{alg}:{persona}")
        for r in mine:
            seed = r["job"]["seed"]
            evidence.counts[(*key, f"{alg}@{seed}")] = ActionCounts.sample(
                TabularPolicy(model, np.array(r["policy"])),
                study.judged_episodes(budget.n_episodes),
                seed=JUDGE_SEED + 1000 * seed + index)
        metrics = [r.key_metric for r in runs if r.key_metric is not None]
        out[alg] = LearnerResult(
            runs=tuple(runs), tv_mean=aggregate([r.tv_mean for r in runs]).to_dict(),
            key_metric=aggregate(metrics or [np.nan]).to_dict(),
            summary=behaviour_summary(game, mean))
    return out


def baselines(study: Study, variant: Variant, records: Sequence[Mapping[str, Any]], *,
              evidence: Evidence) -> Baselines:
    """Exponential-discount baselines: exact over a gamma sweep, PPO and DQN at RL_GAMMA."""
    game = study.make_env(variant.name)
    env_kwargs = dict(variant.env_kwargs)
    exact = {}
    for gamma in GAMMAS:
        pol = train("value_iteration", None, study.env_id, env_kwargs=env_kwargs,
                    gamma=gamma).policy
        exact[f"{gamma:g}"] = behaviour_summary(game, pol)
    rl = {}
    for r in records:
        alg = r["job"]["learner"]
        evidence.train_times.setdefault(alg, []).append(r["train"]["train_seconds"])
        rl[alg] = RLBaseline(gamma=RL_GAMMA, seed=r["job"]["seed"],
                             budget=r["train"]["budget"],
                             train_seconds=r["train"]["train_seconds"], summary=r["summary"],
                             job=r["key"], reused=r["reused"])
    references = {p.name: behaviour_summary(game, p) for p in study.reference_policies(game)}
    return Baselines(value_iteration=exact, rl=rl, references=references)


def gather(study: Study, job_records: Sequence[Mapping[str, Any]], *, records: RunRecords,
           budget: Budget, evidence: Evidence) -> None:
    """Put a study's job records into the run's records: learners and baselines."""
    for variant in study.variants:
        rec = records.variant(study.game, variant.name)
        mine = [r for r in job_records if r["job"]["tags"].get("game") == study.game
                and r["job"]["tags"].get("variant") == variant.name]
        for persona, prec in rec.personas.items():
            if prec.expert is None:
                continue
            found = learned(study, variant, persona,
                            [r for r in mine if r["job"]["tags"].get("persona") == persona],
                            budget=budget, evidence=evidence)
            rec.personas[persona] = dataclasses.replace(prec, learners=found)
            log(f"    {study.game} / {variant.name} / {persona}: TV to expert "
                + ", ".join(f"{a} {v.tv_mean['iqm']:.3f}" for a, v in found.items()))
        rec.baselines = baselines(study, variant,
                                  [r for r in mine if "persona" not in r["job"]["tags"]],
                                  evidence=evidence)
