"""Human fidelity: every policy family of a run scored against the published human figures.

The skill is ``1 - D/D*`` against the best state- and persona-blind constant policy for
the same figures (:func:`subrational_gym.human_data.score_summaries`): every constant
scores <= 0, and a game a constant matches is not informative (None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.replication.config import IMITATION, RL, RL_GAMMA
from benchmarks.replication.records import Evidence, RunRecords, Summary
from subrational_gym import human_data
from subrational_gym.studies import Study


def per_seed(study: Study, source: str, *, records: RunRecords,
             evidence: Evidence) -> dict[int, dict[str | None, Summary]]:
    """Each seed's behaviour of learner ``source`` per persona (plain variant).

    Only the seeds every persona trained on count; the key None holds the study's
    default persona (the population a persona-blind figure is scored on).
    """
    runs = {p: evidence.seed_summaries.get((study.game, "plain", p, source), {})
            for p in records.variant(study.game, "plain").personas}
    seeds = set.intersection(*(set(r) for r in runs.values())) if runs else set()
    out: dict[int, dict[str | None, Summary]] = {}
    for seed in sorted(seeds):
        out[seed] = {p: r[seed] for p, r in runs.items()}
        if study.default_persona in runs:
            out[seed][None] = runs[study.default_persona][seed]
    return out


def _sources(game: str, records: RunRecords) -> dict[str, dict[str | None, Summary]]:
    """Every policy family of one game: its behaviour per persona (None: everyone)."""
    base = records.variant(game, "plain").baselines
    if base is None:
        raise ValueError(f"{game} has no baselines yet; fidelity is scored after training")
    sources: dict[str, dict[str | None, Summary]] = {}
    for source in ("llm_expert", *IMITATION):
        found = records.summaries(game, "plain", source)
        if found:
            sources[source] = dict(found)
    sources[f"value_iteration(gamma={RL_GAMMA})"] = {
        None: base.value_iteration[f"{RL_GAMMA:g}"]}
    for alg in RL:
        if alg in base.rl:
            sources[alg] = {None: base.rl[alg].summary}
    sources["chance: uniform random"] = {None: human_data.chance_summary(game)}
    for name, summary in base.references.items():
        sources[f"theory: {name}"] = {None: summary}
    return sources


def fidelity(studies: Sequence[Study], *, records: RunRecords,
             evidence: Evidence) -> dict[str, Any]:
    """Human-fidelity skill per game and overall for every policy family.

    The LLM and the learners are scored persona by persona (population figures on all
    their personas pooled); a policy that stands for everyone (theory, RL, chance) is
    the population itself. Learners are also scored seed by seed.

    Returns:
        ``per_game`` (skill per game and family), ``overall``, ``overall_over_seeds``
        (intervals over seeds), ``per_game_by_seed``, ``details`` (each score's
        distances), ``scale`` (what the skill means) and ``populations``.
    """
    per_game: dict[str, dict[str, Any]] = {}
    by_seed: dict[str, dict[int, dict[str, float]]] = {}
    for study in studies:
        game = study.game
        per_game[game] = {}
        for source, summaries in _sources(game, records).items():
            score = human_data.score_summaries(game, summaries)
            per_game[game][source] = {"score": score.skill, **score.to_dict()}
        reference = next(iter(per_game[game].values()))
        if reference["informative"]:
            # The trivial baseline itself, by definition 0: shown beside the others.
            per_game[game]["trivial: best constant"] = {
                "score": 0.0, "distance": reference["best_constant_distance"],
                "best_constant_p": reference["best_constant_p"]}
        for source in IMITATION:
            for seed, summaries in per_seed(study, source, records=records,
                                            evidence=evidence).items():
                skill = human_data.score_summaries(
                    game, {k: v for k, v in summaries.items() if k is not None}).skill
                if skill is not None:
                    by_seed.setdefault(source, {}).setdefault(seed, {})[game] = skill
    families = sorted({s for g in per_game.values() for s in g if not s.startswith("theory:")})
    overall = {f: human_data.overall_fidelity(
        {g: per_game[g][f]["score"] for g in per_game if f in per_game[g]}) for f in families}
    # Families with one run (the LLM's tabulation, closed-form and RL policies) count as
    # one seed; learners are scored seed by seed.
    scored = {f: [g for g in per_game if per_game[g].get(f, {}).get("score") is not None]
              for f in families}
    by_seed.update({f: {0: {g: per_game[g][f]["score"] for g in scored[f]}}
                    for f in families if f not in by_seed})
    overall_over_seeds = {f: stats for f in families
                          if (stats := human_data.overall_over_seeds(by_seed[f], scored[f]))}
    return {"per_game": {g: {s: v["score"] for s, v in d.items()} for g, d in per_game.items()},
            "overall": overall, "overall_over_seeds": overall_over_seeds,
            "per_game_by_seed": {f: {str(s): g for s, g in d.items()}
                                 for f, d in by_seed.items() if f in IMITATION},
            "details": per_game, "scale": human_data.SKILL_DEFINITION
            + " Overall: the mean skill over the informative games.",
            "populations": {g: human_data.SCORED_POPULATIONS[g] for g in per_game}}
