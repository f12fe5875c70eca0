"""Budgets and arguments of the replication: what one run does and with which model.

The constants name the learners (imitation learners and RL baselines), the paper's
learner whose verdicts are the headline, the gamma sweep of the exact baselines, and
the three budget presets (``tiny``, ``demo``, ``full``); :class:`Args` is the typed form
of the command line (:mod:`benchmarks.replication.cli`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from subrational_gym.learners.errors import SweepError
from subrational_gym.model_card import PRESENT_BIAS_DRAWS
from subrational_gym.studies import STUDIES

GAMES = tuple(STUDIES)
IMITATION = ("bc", "distribution_matching", "gail", "airl")
RL = ("ppo", "dqn")
#: The learner of Coletta et al. 2024; its results decide each finding's verdict.
PAPER_LEARNER = "distribution_matching"
GAMMAS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
#: Base seed of the episodes each learner seed is judged on (seed * 1000 + persona).
JUDGE_SEED = 7_000_000
#: Gamma of the headline RL baselines (PPO, DQN) in tables and plots.
RL_GAMMA = 0.99


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much work one run does.

    Attributes:
        n_episodes: Demonstration episodes per persona and seed.
        seeds: Seeds of demonstrations and of the paper's learner (distribution matching).
        few_seeds: Seeds of the learners in ``few_seed_learners`` (may be fewer).
        steps: Budget of each learner in its own unit (see ``subrational_gym.learners``).
        perf_env_steps: Steps per env in the speed comparison with FrozenLake.
        hypothesis_sources: Whose choices the findings are judged on by structural fits
            (``llm_expert`` and learners; each costs seconds to a minute per game).
        learners: The imitation learners and RL baselines trained.
        few_seed_learners: Learners trained on ``few_seeds`` only.
        present_bias_draws: Bootstrap draws of the model card's present-bias test (19
            is the fewest at which a test at 5% can reject: the smallest p is 1/20).
    """

    n_episodes: int
    seeds: tuple[int, ...]
    few_seeds: tuple[int, ...]
    steps: Mapping[str, int | None]
    perf_env_steps: int
    hypothesis_sources: tuple[str, ...] = ("llm_expert", PAPER_LEARNER)
    learners: tuple[str, ...] = (*IMITATION, *RL)
    few_seed_learners: tuple[str, ...] = ("gail", "airl")
    present_bias_draws: int = PRESENT_BIAS_DRAWS

    def seeds_of(self, learner: str) -> tuple[int, ...]:
        """The seeds ``learner`` trains with (RL baselines: the first seed only)."""
        if learner not in self.learners:
            return ()
        if learner in RL:
            return self.seeds[:1]
        if learner in self.few_seed_learners:
            return tuple(s for s in self.seeds if s in self.few_seeds)
        return self.seeds

    def restrict(self, *, learners: Sequence[str] | None = None,
                 seeds: Sequence[int] | None = None) -> Budget:
        """This budget over fewer learners or other seeds.

        The few seeds become the given seeds that the budget runs its few-seed learners
        with, else the first given one.
        """
        learners = tuple(learners or self.learners)
        unknown = sorted(set(learners) - set(IMITATION) - set(RL))
        if unknown:
            raise SweepError(f"unknown learners {unknown}; expected some of "
                             f"{[*IMITATION, *RL]}")
        new_seeds = tuple(seeds) if seeds else self.seeds
        few = tuple(s for s in new_seeds if s in self.few_seeds) or new_seeds[:1]
        sources = tuple(s for s in self.hypothesis_sources
                        if s == "llm_expert" or s in learners)
        return dataclasses.replace(self, learners=learners, seeds=new_seeds,
                                   few_seeds=few, hypothesis_sources=sources)


BUDGETS: dict[str, Budget] = {
    # A smoke test of the whole pipeline, seconds per game.
    # The card's present-bias bootstrap draws 19 data sets (its p resolves 0.05, not 0.01).
    "tiny": Budget(20, (0,), (0,), {"bc": 2, "distribution_matching": 30, "gail": 512,
                                    "airl": 512, "ppo": 512, "dqn": 512}, 500,
                   present_bias_draws=19),
    # make demo (goal: under 10 minutes on 2 cores after installation, see README). The
    # paper's learner (distribution matching, whose verdicts are the headline) on three
    # seeds; BC, GAIL and AIRL on one. BC and distribution matching use their tuned
    # defaults (seconds each); GAIL and RL get a fifth of theirs, AIRL an eighth (AIRL
    # stayed as close to closed-form experts at 12,288 steps as at 20,480; GAIL did not).
    "demo": Budget(200, (0, 1, 2), (0,), {"bc": None, "distribution_matching": None,
                                          "gail": 20_480, "airl": 12_288, "ppo": 10_000,
                                          "dqn": 10_000}, 20_000,
                   few_seed_learners=("bc", "gail", "airl")),
    # The learners' tuned defaults (benchmarks/learner_fidelity.py), five seeds.
    "full": Budget(500, (0, 1, 2, 3, 4), (0, 1, 2, 3, 4),
                   {k: None for k in ("bc", "distribution_matching", "gail", "airl", "ppo",
                                      "dqn")}, 100_000, ("llm_expert", *IMITATION)),
}


@dataclasses.dataclass(frozen=True)
class Args:
    """Command-line arguments.

    Attributes:
        budget: ``tiny``, ``demo`` or ``full`` (see :data:`BUDGETS`).
        games: Games to run.
        model: Model name; default the embedded Gemma 3 270M (or ``$SUBRATIONAL_LLM_MODEL``).
        base_url: OpenAI-compatible endpoint; default ``$OPENAI_BASE_URL`` or the embedded
            server.
        mode: ``score`` (label log-probabilities) or ``sample`` (10 answers per state).
        cache: SQLite answer cache; default the user cache directory.
        out: Output folder.
        perf: Also run the performance benchmark.
        progress: Show progress bars.
        personas: Personas to run (default: every persona of each game).
        learners: Learners and RL baselines to train (default: all).
        seeds: Seeds (default: the budget's).
        executor: Where training jobs run: ``local`` or ``ray``.
        workers: Local worker processes for training jobs (1: in this process).
        ray_address: Ray cluster to join (default ``$RAY_ADDRESS``, else a local one).
        jobs_dir: Where finished training jobs are kept (default ``<out>/jobs``); a rerun
            skips every job recorded there.
        provider: What the endpoint supports (``openai``, ``vllm``, ``ollama``,
            ``llamacpp``, ``generic``); default ``$SUBRATIONAL_LLM_PROVIDER``, else detected.
        max_calls: Most model calls of the whole run (None: no limit); the run stops cleanly
            with every answer so far cached, and a rerun resumes.
        min_coverage: Least share of the probability mass the labels must get in a state.
        one_order: Ask each state with the labels in one order only (half the calls; position
            bias then goes into the behaviour).
        price_per_million_input: Price of a million prompt tokens, for a cost estimate.
        price_per_million_output: Price of a million completion tokens.
    """

    budget: str = "demo"
    games: tuple[str, ...] = GAMES
    model: str | None = None
    base_url: str | None = None
    mode: str = "score"
    cache: Path | None = None
    out: Path = Path("results")
    perf: bool = True
    progress: bool = True
    personas: tuple[str, ...] | None = None
    learners: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None
    executor: str = "local"
    workers: int = 1
    ray_address: str | None = None
    jobs_dir: Path | None = None
    provider: str | None = None
    max_calls: int | None = None
    min_coverage: float = 0.5
    one_order: bool = False
    price_per_million_input: float | None = None
    price_per_million_output: float | None = None
