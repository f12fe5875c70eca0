"""Findings, model card and known answers: the structural fits of a run, on its workers.

Each study's hypothesis is judged on the choices of every source it is judged on (the
LLM's demonstrations, each learner seed's sampled episodes); a learner's headline is
the verdict most of its seeds get. The LLM's choices also give the model card entry of
every persona, and each game's verdict rule is run on known answers beside the model.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.replication.config import Budget
from benchmarks.replication.records import Evidence, Finding, RunRecords, SourceVerdict
from benchmarks.replication.tabulation import log
from subrational_gym import controls, human_data, hypotheses, model_card
from subrational_gym.learners.sweeps import Runner, SweepError, Task
from subrational_gym.studies import Study


def verdict_numbers(v: hypotheses.Verdict, seconds: float | None = None) -> dict[str, Any]:
    """A verdict's statistics as the JSON record of a finding's ``numbers``."""
    return {"statistic": v.statistic, "value": v.value, "interval": list(v.interval),
            "threshold": v.threshold, "sesoi": v.sesoi, "reasons": v.reasons,
            "bottom_line": v.bottom_line, "seconds": seconds, **v.numbers}


def source_verdict(study: Study, judged: Mapping[str, Any]) -> SourceVerdict:
    """One source's verdict from its judged labels (``source`` or ``source@seed``).

    ``judged`` maps each label to its :class:`~subrational_gym.hypotheses.Verdict`, or to
    why it could not be judged. Over seeds, the headline is the verdict most seeds get (a
    tie is ``inconclusive``), said with the number of seeds that agree.
    """
    if not judged:
        why = "not checked: nothing was judged"
        return SourceVerdict("not checked", "", study.criterion, why, {"reasons": [why]})
    ok = {k: v for k, v in judged.items() if isinstance(v, hypotheses.Verdict)}
    if not ok:
        why = f"not checked: {next(iter(judged.values()))}"
        return SourceVerdict("not checked", "", study.criterion, why, {"reasons": [why]})
    if len(judged) == 1 and "@" not in next(iter(judged)):
        v = next(iter(ok.values()))
        return SourceVerdict(v.verdict, v.hypothesis, v.criterion, v.bottom_line,
                             verdict_numbers(v))
    by_seed = {int(k.split("@")[1]): v for k, v in ok.items()}
    tally = collections.Counter(v.verdict for v in by_seed.values())
    top = tally.most_common()
    verdict = top[0][0] if len(top) == 1 or top[0][1] > top[1][1] else hypotheses.INCONCLUSIVE
    agree = tally.get(verdict, 0)
    first = by_seed[min(by_seed)]
    # The why: a seed that got the headline verdict (any seed, when none did).
    example = next(((s, v) for s, v in sorted(by_seed.items()) if v.verdict == verdict),
                   (min(by_seed), first))
    line = (f"{verdict} in {agree} of {len(judged)} seeds, each judged on episodes sampled "
            f"from its own policy (" + ", ".join(f"{k}: {n}" for k, n in tally.items())
            + f"); seed {example[0]}: {example[1].bottom_line.split(': ', 1)[-1]}")
    numbers = verdict_numbers(first)
    numbers["reasons"] = [line] + [f"seed {s}: {v.bottom_line}" for s, v in sorted(
        by_seed.items())]
    numbers["seeds"] = {str(s): {"verdict": v.verdict, "value": v.value,
                                 "interval": list(v.interval), "bottom_line": v.bottom_line}
                        for s, v in sorted(by_seed.items())}
    numbers["share"] = {k: n / len(judged) for k, n in tally.items()}
    return SourceVerdict(verdict, first.hypothesis, first.criterion, line, numbers)


def card_figures(records: RunRecords, game: str, variant: str,
                 persona: str) -> list[dict[str, Any]]:
    """The human figures that apply to one persona of the LLM, scored, for its card."""
    human: list[dict[str, Any]] = []
    rec = records.persona(game, variant, persona)
    if variant != "plain" or rec is None or rec.expert is None:
        return human
    # Only the figures of this persona: population figures are scored on all the
    # personas pooled, in the fidelity section, not on one favourable persona.
    for s in human_data.score_figures(game, {persona: rec.expert},
                                      human_data.chance_summary(game)):
        if s.figure.persona == persona:
            human.append({"quantity": s.figure.quantity,
                          "human": [s.figure.low, s.figure.high], "value": s.value,
                          "chance": s.chance, "score": s.score, "source": s.figure.source})
    return human


class Fits:
    """The structural fits of one run, started on its workers as their choices arrive.

    Attributes:
        runner: The run's workers.
        budget: The run's budget (its hypothesis sources and episodes).
        records: The run's records (the LLM's behaviour, for the card's human figures).
        evidence: The choices judged.
    """

    def __init__(self, runner: Runner, *, budget: Budget, records: RunRecords,
                 evidence: Evidence) -> None:
        self.runner = runner
        self.budget = budget
        self.records = records
        self.evidence = evidence
        self._judged: dict[tuple[str, str], Task] = {}
        self._card: list[Task] = []
        self._known: list[Task] = []

    def start_known_answers(self, studies: Sequence[Study]) -> None:
        """The known-answer table of each game's verdict rule, at this run's episodes."""
        self._known += [self.runner.call(controls.known_answers, self.budget.n_episodes, 0,
                                         [study.game], name=f"the {study.game} known answers")
                        for study in studies]

    def start(self, study: Study, source: str) -> None:
        """Start the structural fits of ``source``'s choices in ``study``.

        The study's hypothesis when ``source`` is one it is judged on, and for the LLM
        the model card entry of every persona in every variant.
        """
        if source in self.budget.hypothesis_sources:
            variant = study.hypothesis_variant
            for label in self.evidence.labels(study.game, variant, source):
                self._judged[(study.game, label)] = self.runner.call(
                    study.judge, self.evidence.by_persona(study.game, variant, label),
                    name=f"the {study.game} finding on {label}")
        if source == "llm_expert":
            self._card += [
                self.runner.call(model_card.card_entry, counts, variant=variant,
                                 persona=persona,
                                 human=card_figures(self.records, game, variant, persona),
                                 draws=self.budget.present_bias_draws,
                                 name=f"the model card entry of {game} / {variant} / {persona}")
                for (game, variant, persona, s), counts in self.evidence.counts.items()
                if s == source and game == study.game]

    def finding(self, study: Study, main_source: str) -> Finding:
        """The study's hypothesis judged on ``main_source``, the LLM and other sources.

        A learner's verdict is judged per seed, on episodes sampled from that seed's
        policy; its headline is the verdict most seeds get (a tie is ``inconclusive``).
        A fit that failed for want of choices (a ``KeyError``: a persona without an
        expert) is "not checked"; any other failure stops the run.
        """
        verdicts: dict[str, SourceVerdict] = {}
        for source in self.budget.hypothesis_sources:
            judged = {}
            for (game, label), task in self._judged.items():
                if game != study.game or not (label == source
                                              or label.startswith(f"{source}@")):
                    continue
                try:
                    judged[label] = task.result()
                except SweepError:
                    if task.exception_type != "KeyError":
                        raise
                    judged[label] = task.exception_message
            verdicts[source] = source_verdict(study, judged)
        main = verdicts[main_source]
        log(f"[finding] {study.game}: {main.reproduced} ({main_source}); "
            + ", ".join(f"{k}: {v.reproduced}" for k, v in verdicts.items()))
        return Finding(game=study.game, finding=main.finding or study.criterion,
                       reproduced=main.reproduced, numbers=main.numbers,
                       criterion=main.criterion, learner=main_source,
                       bottom_line=main.bottom_line, by_source=verdicts)

    def card_entries(self) -> list[model_card.CardEntry]:
        """The model card: the best-fitting family of each persona of the model."""
        return [task.result() for task in self._card]

    def known_answers(self) -> list[dict[str, Any]]:
        """The rows of every game's known-answer table."""
        return [row for task in self._known for row in task.result()]
