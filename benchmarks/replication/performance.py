"""The performance record (perf.json): env speed, model calls and time, training time.

The score-mode figures come from the run's own tabulation of each game's default
persona (measured only when those answers were not cached); sample mode is counted over
double or nothing's default persona (likewise); the second run re-asks the default
personas through the run's cache and counts its model calls.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks import env_speed
from benchmarks.replication.config import Args, Budget
from benchmarks.replication.records import RunRecords, TrainingTimes
from benchmarks.replication.tabulation import Tabulator, log
from llm_experts import LLMExpert
from subrational_gym.studies import STUDIES, Study

#: The game sample mode is counted on: the fewest states (its calls per state depend on
#: the endpoint's support for ``n``, not on the game).
SAMPLE_GAME = "double_or_nothing"
_CACHED = "not measured: this run's answers came from the answer cache"


def cold_default_personas(studies: Sequence[Study],
                          records: RunRecords) -> dict[str, Any] | None:
    """Time and calls of this run's tabulation of each game's default persona.

    Taken from the run's own tabulation (no second pass over the model) when every one
    of them was asked fresh; None when any answer came from the cache (a rerun), since
    cached answers time the cache, not the model.
    """
    seconds, calls, states, personas = 0.0, 0, 0, {}
    for study in studies:
        persona = study.default_persona
        rec = records.persona(study.game, "plain", persona)
        tab = rec.tabulation if rec is not None else None
        if tab is None or tab.cache_hits or not tab.model_calls:
            return None
        seconds += tab.seconds
        calls += tab.model_calls
        states += tab.decision_states
        personas[study.game] = persona
    return {"seconds": seconds, "model_calls": calls, "decision_states": states,
            "personas": personas}


def beside_the_model(args: Args, *, remote: bool) -> str:
    """What ran beside the model while it tabulated (for timings in perf.json)."""
    if remote:
        return "a remote endpoint: training jobs ran on this machine meanwhile"
    if args.executor == "ray":
        return "Ray workers (on this machine for a local cluster)"
    if args.workers > 1:
        return f"{args.workers - 1} training process(es); the model kept a core of its own"
    return "nothing: training ran in this process between the personas"


def ask_in_sample_mode(tabulator: Tabulator) -> tuple[LLMExpert, Any]:
    """Tabulate double or nothing's default persona in sample mode (10 answers a state).

    For the performance record's calls per state in sample mode, through the run's
    cache. The replication asks it right after the score-mode tabulation, while the
    workers train.
    """
    started = time.perf_counter()
    study = STUDIES[SAMPLE_GAME]
    sample = tabulator.expert(study, study.variant("plain"), study.default_persona,
                              mode="sample", n_samples=10)
    report = tabulator.spend(sample.tabulate())
    log(f"[perf] sample mode ({study.game} / {study.default_persona}, 10 answers a state): "
        f"{report.usage.model_calls} calls, {time.perf_counter() - started:.1f}s")
    return sample, report


def performance(studies: Sequence[Study], *, args: Args, budget: Budget, records: RunRecords,
                tabulator: Tabulator, train_times: Mapping[str, Sequence[float]],
                training: TrainingTimes,
                sample_mode: tuple[LLMExpert, Any] | None = None) -> dict[str, Any]:
    """Env speed, LLM calls per state and cold tabulation time, second-run calls.

    Args:
        studies: The run's studies.
        args: The run's arguments.
        budget: The run's budget (its env steps for the speed comparison).
        records: The run's records (the default personas' tabulations).
        tabulator: The run's experts (asked again for the second run).
        train_times: Seconds of each training run, by learner.
        training: How the run's training went.
        sample_mode: The sample-mode expert and its report when asked during the run
            (asked here otherwise).
    """
    log("[perf] env speed against FrozenLake-v1, LLM calls and tabulation time")
    speed = env_speed.measure(budget.perf_env_steps)
    sample, sample_report = sample_mode or ask_in_sample_mode(tabulator)
    study = STUDIES[SAMPLE_GAME]
    n_states = int(sample.model.decision_mask.sum())
    sampled = sample.usage.model_calls > 0 and not sample.usage.cache_hits
    second_calls = sum(
        tabulator.spend(tabulator.expert(s, s.variant("plain"), s.default_persona).tabulate()
                        ).usage.model_calls for s in studies)
    cold = cold_default_personas(studies, records)
    learners = {alg: {"mean_seconds": float(np.mean(t)), "max_seconds": float(np.max(t)),
                      "runs": len(t)} for alg, t in train_times.items()}
    personas = {s.game: s.default_persona for s in studies}
    return {
        "env_steps_per_second": {k: {"value": v["steps_per_second"], "unit": "steps/s",
                                     "ratio_to_frozenlake": v["ratio_to_frozenlake"]}
                                 for k, v in speed.items()},
        "llm_calls_per_state": {
            "score_mode": {"value": (cold["model_calls"] / cold["decision_states"]
                                     if cold else None),
                           "unit": "model calls per decision state",
                           **({} if cold else {"note": _CACHED})},
            "sample_mode_10_samples": {
                "value": sample.usage.model_calls / n_states if sampled else None,
                "unit": "model calls per decision state",
                "invalid_states": len(sample_report.invalid),
                "game": study.game, "persona": study.default_persona,
                **({} if sampled else {"note": _CACHED})},
            "personas": personas,
            "label_orders": 1 if args.one_order else 2,
            "by_game": {g: r.model_calls / max(r.decision_states, 1)
                        for g, r in tabulator.by_game.items()},
        },
        "tabulate_all_games_one_persona": {
            "value": cold["seconds"] if cold else None, "unit": "s",
            "beside": beside_the_model(args, remote=tabulator.remote),
            "model_calls": cold["model_calls"] if cold else None,
            "personas": personas, **({} if cold else {"note": _CACHED})},
        "second_identical_run_calls": {"value": second_calls, "unit": "model calls"},
        "learner_train_seconds": {"value": learners, "unit": "s per training run"},
        "training_jobs": {"value": training.seconds, "unit": "s",
                          "note": "from the first job started to the last finished, "
                                  "overlapping the tabulation",
                          "waited_after_tabulation": training.waited,
                          "executor": args.executor, "workers": args.workers,
                          "jobs": training.jobs, "reused": training.reused},
    }
