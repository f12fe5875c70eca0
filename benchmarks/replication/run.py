"""The replication run: tabulate, train, judge, score and write, in that order.

For each game of Coletta et al. 2024 and each of its personas: tabulate the LLM expert,
roll out demonstrations, train BC, GAIL, AIRL and distribution matching over several
seeds, train the exponential-discount baselines (value iteration over a gamma sweep, PPO
and DQN), evaluate everything exactly on the game's tabular model, check the paper's
four findings, and score every policy against published human figures. Each step lives
in its own module; :class:`Replication` runs them in order.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from benchmarks.replication import fidelity, output, performance, training
from benchmarks.replication.config import BUDGETS, PAPER_LEARNER, Args, Budget
from benchmarks.replication.findings import Fits
from benchmarks.replication.records import (
    Evidence,
    Finding,
    RunRecords,
    TrainingTimes,
    VariantRecord,
)
from benchmarks.replication.tabulation import Tabulator, log
from llm_experts import LLMExpert
from subrational_gym import model_card
from subrational_gym.learners import seed_everything
from subrational_gym.learners.sweeps import Job, Runner, RunStore
from subrational_gym.studies import STUDIES, Study, Variant


@dataclasses.dataclass(frozen=True)
class _Judged:
    """What the run's workers gave back.

    Attributes:
        findings: One per study.
        card: The model card's entries.
        known: The known-answer rows.
        timing: How the training went.
        sample_mode: The sample-mode expert of the performance record and its report
            (None when not asked, or deferred to the end after a failure).
    """

    findings: list[Finding]
    card: list[model_card.CardEntry]
    known: list[dict[str, Any]]
    timing: TrainingTimes
    sample_mode: tuple[LLMExpert, Any] | None


class Replication:
    """One replication run; :meth:`run` loops over the studies and writes the results.

    Attributes:
        args: The run's arguments.
        budget: How much work: the preset of ``args.budget`` over ``args.learners`` and
            ``args.seeds``, unless given.
        main_source: Whose verdict is the headline: the paper's learner when it is trained.
        studies: The studies of ``args.games``.
        tabulator: The run's LLM experts and their model use.
        records: What the run found, game by game (filled by :meth:`run`).
        evidence: The choices, tables and timings collected for fits and fidelity.
    """

    def __init__(self, args: Args, *, budget: Budget | None = None) -> None:
        self.args = args
        self.budget = budget or BUDGETS[args.budget].restrict(learners=args.learners,
                                                              seeds=args.seeds)
        self.main_source = (PAPER_LEARNER if PAPER_LEARNER in self.budget.learners
                            else self.budget.hypothesis_sources[-1])
        self.studies: list[Study] = [STUDIES[g] for g in args.games]
        self.tabulator = Tabulator(args)
        self.records = RunRecords()
        self.evidence = Evidence()

    def run(self) -> dict[str, Any]:
        """Tabulate every persona, train every job, then findings, card, fidelity, reports.

        One pool of workers serves the whole run: the RL baselines start at once, each
        persona's learners as soon as its table exists (while the next persona is
        tabulated), and the structural fits of the LLM's choices as soon as a game's
        personas are tabulated; the learners' fits follow their training.

        Returns:
            The summary written to summary.json.
        """
        started = time.time()
        seed_everything(0)
        self._announce_plan()
        store = RunStore(self.args.jobs_dir or self.args.out / "jobs")
        log(f"[training] jobs start as their personas are tabulated; executor "
            f"{self.args.executor}"
            + (f", {self.args.workers} workers" if self.args.executor == "local" else "")
            + f"; finished jobs are kept in {store.root}")
        with Runner(store, executor=self.args.executor, workers=self.args.workers,
                    ray_address=self.args.ray_address, progress=self.args.progress
                    ) as runner:
            judged = self._tabulate_and_train(runner)
        scores = fidelity.fidelity(self.studies, records=self.records, evidence=self.evidence)
        perf = None
        if self.args.perf:
            perf = performance.performance(
                self.studies, args=self.args, budget=self.budget, records=self.records,
                tabulator=self.tabulator, train_times=self.evidence.train_times,
                training=judged.timing, sample_mode=judged.sample_mode)
        return output.write(judged.findings, scores, perf, judged.card, args=self.args,
                            budget=self.budget, records=self.records,
                            tabulator=self.tabulator, known=judged.known,
                            main_source=self.main_source, started=started)

    def _announce_plan(self) -> None:
        """Estimate the model calls (the endpoint's pre-flight); print it for an endpoint."""
        plan = self.tabulator.estimate(self.studies)
        if self.tabulator.remote:
            log(f"[plan] before any call to {self.args.base_url or 'OPENAI_BASE_URL'}: "
                + plan.describe()
                + (f"; stops after {self.args.max_calls} calls"
                   if self.args.max_calls is not None else ""))

    def _tabulate_and_train(self, runner: Runner) -> _Judged:
        """Everything that runs on the workers: training jobs and structural fits."""
        started = time.perf_counter()
        fits = Fits(runner, budget=self.budget, records=self.records, evidence=self.evidence)
        if not self.tabulator.remote and self.args.workers > 1:
            # The embedded model computes on this machine: one core stays its own while
            # it tabulates (a third process on two cores slowed both it and training).
            runner.limit(self.args.workers - 1)
        jobs = training.rl_jobs(self.studies, self.budget)
        runner.submit(jobs, self.evidence.tables)
        fits.start_known_answers(self.studies)
        for study in self.studies:
            for variant in study.variants:
                jobs += self._tabulate_variant(runner, study, variant)
            fits.start(study, "llm_expert")
        sample_mode = None
        if self.args.perf:
            try:
                sample_mode = performance.ask_in_sample_mode(self.tabulator)
            except Exception as exc:  # noqa: BLE001 - retried after training
                # The training under way goes on; performance() asks again at the end
                # (and stops the run there, as before, if the endpoint still fails).
                log(f"[perf] sample mode deferred to the end: {exc}")
        runner.limit(None)
        tabulated = time.perf_counter()
        records = runner.records(jobs)
        timing = TrainingTimes(seconds=time.perf_counter() - started,
                               waited=time.perf_counter() - tabulated, jobs=len(records),
                               reused=sum(r["reused"] for r in records))
        for study in self.studies:
            training.gather(study, records, records=self.records, budget=self.budget,
                            evidence=self.evidence)
            for source in self.budget.hypothesis_sources:
                if source != "llm_expert":
                    fits.start(study, source)
        found = [fits.finding(study, self.main_source) for study in self.studies]
        log("[model card] best-fitting family of each persona of the model")
        return _Judged(found, fits.card_entries(), fits.known_answers(), timing, sample_mode)

    def _tabulate_variant(self, runner: Runner, study: Study, variant: Variant) -> list[Job]:
        """Tabulate a variant's personas, submitting each one's learners as it is done."""
        personas = [p for p in study.persona_names
                    if not self.args.personas or p in self.args.personas]
        log(f"[{study.game} / {variant.name}] tabulating personas: " + ", ".join(personas))
        rec = self.records.add(study.game, variant.name, VariantRecord(
            env_id=study.env_id, env_kwargs=dict(variant.env_kwargs)))
        jobs: list[Job] = []
        for persona in personas:
            rec.personas[persona] = self.tabulator.tabulate(
                study, variant, persona, budget=self.budget, evidence=self.evidence)
            expert = self.evidence.experts.get((study.game, variant.name, persona))
            if expert is not None:
                mine = training.imitation_jobs(expert, self.budget, model=self.tabulator.model,
                                               game=study.game, variant=variant.name,
                                               persona=persona)
                runner.submit(mine, self.evidence.tables)
                jobs += mine
        return jobs
