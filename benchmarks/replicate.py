"""The paper replication and the project's main job (``make demo``).

For each game of Coletta et al. 2024 and each of its personas: tabulate the LLM expert
(the embedded model by default, any OpenAI-compatible endpoint by flag), roll out
demonstrations, train BC, GAIL, AIRL and distribution matching over several seeds,
train the exponential-discount baselines (value iteration over a gamma sweep, PPO and
DQN), evaluate everything exactly on the game's tabular model, check the paper's four
findings, and score every policy against published human figures.

Run::

    python -m benchmarks.replicate                       # demo budget, embedded model
    python -m benchmarks.replicate --budget full         # the full budget
    python -m benchmarks.replicate --base-url http://host:8000/v1 --model my-model

Writes under ``--out`` (default ``results/``): ``summary.json`` (stable shape: model,
endpoint, finished_at, wall_seconds, findings, fidelity), ``perf.json``,
``report.md``, ``plots/<game>.png`` and the full record ``runs/<time>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import subrational_gym
from benchmarks import env_speed, reporting
from llm_experts import LLMExpert
from llm_experts.personas import PRESETS, preset_names
from llm_experts.prompts import PROMPT_VERSIONS
from subrational_gym import human_data, hypotheses, model_card, policies
from subrational_gym.aggregate import aggregate
from subrational_gym.evaluation import behaviour_summary, total_variation
from subrational_gym.inference import ActionCounts
from subrational_gym.learners import generate_demonstrations, seed_everything, train
from subrational_gym.policies import TabularPolicy
from subrational_gym.registration import ENV_IDS

GAMES = ("ultimatum", "marshmallow", "double_or_nothing", "procrastination")
IMITATION = ("bc", "distribution_matching", "gail", "airl")
#: The learner of Coletta et al. 2024; its results decide each finding's verdict.
PAPER_LEARNER = "distribution_matching"
GAMMAS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
#: Persona used for human figures that name no persona (the general population).
DEFAULT_PERSONA = {"ultimatum": "fairness", "marshmallow": "child-4",
                   "double_or_nothing": "cautious", "procrastination": "gpa-3.0"}
#: Gamma of the headline RL baselines (PPO, DQN) in tables and plots.
RL_GAMMA = 0.99


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much work one run does.

    Attributes:
        n_episodes: Demonstration episodes per persona and seed.
        seeds: Seeds of demonstrations and of BC / distribution matching.
        adversarial_seeds: Seeds of GAIL and AIRL (slower; may be fewer).
        steps: Budget of each learner in its own unit (see ``subrational_gym.learners``).
        perf_env_steps: Steps per env in the speed comparison with FrozenLake.
        hypothesis_sources: Whose choices the findings are judged on by structural fits
            (``llm_expert`` and learners; each costs seconds to a minute per game).
    """

    n_episodes: int
    seeds: tuple[int, ...]
    adversarial_seeds: tuple[int, ...]
    steps: Mapping[str, int | None]
    perf_env_steps: int
    hypothesis_sources: tuple[str, ...] = ("llm_expert", PAPER_LEARNER)


BUDGETS: dict[str, Budget] = {
    # A smoke test of the whole pipeline, seconds per game.
    "tiny": Budget(20, (0,), (0,), {"bc": 2, "distribution_matching": 30, "gail": 512,
                                    "airl": 512, "ppo": 512, "dqn": 512}, 500),
    # make demo: under 10 minutes on 2 cores after installation. BC and distribution
    # matching use their tuned defaults (seconds each); the adversarial learners and RL
    # get a fifth of theirs.
    "demo": Budget(200, (0, 1, 2), (0,), {"bc": None, "distribution_matching": None,
                                          "gail": 20_480, "airl": 20_480, "ppo": 10_000,
                                          "dqn": 10_000}, 20_000),
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


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Parse the command line into :class:`Args`."""
    budgets = "; ".join(
        f"{name}: {b.n_episodes} demonstration episodes, seeds {list(b.seeds)} (GAIL/AIRL "
        f"{list(b.adversarial_seeds)}), learner steps "
        + ", ".join(f"{k} {'default' if v is None else v}" for k, v in b.steps.items())
        for name, b in BUDGETS.items())
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replicate",
        description=__doc__.split("\n\n")[0] + " Tabulates the LLM expert per persona, "
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
    ns = parser.parse_args(argv)
    return Args(budget=ns.budget, games=tuple(ns.games), model=ns.model, base_url=ns.base_url,
                mode=ns.mode, cache=ns.cache, out=ns.out, perf=not ns.no_perf,
                progress=not ns.no_progress)


# --------------------------------------------------------------------------- helpers
def _log(message: str) -> None:
    print(message, flush=True)


def _versions() -> dict[str, str]:
    names = ["subrational-gym", "gymnasium", "numpy", "torch", "imitation",
             "stable-baselines3", "openai", "xllamacpp"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _mean_policy(pols: Sequence[TabularPolicy], name: str) -> TabularPolicy:
    probs = np.mean([p.probs for p in pols], axis=0)
    return TabularPolicy(pols[0].model, probs, name=name)


def key_metric(game: str, summary: Mapping[str, Any]) -> float | None:
    """The one number per game that the tables aggregate over seeds."""
    if game == "ultimatum":
        shares = np.asarray(summary["offer_share"])
        acc = np.asarray(summary["acceptance"])
        return float(acc[(shares > 0) & (shares < 0.3)].mean())
    if game == "marshmallow":
        return float(summary["waited_full"])
    if game == "double_or_nothing":
        return float(summary["expected_rounds_gambled"])
    if summary.get("commit_probability") is not None:
        return float(summary["commit_probability"])
    return summary["expected_start_day"]


KEY_METRIC_NAME = {
    "ultimatum": "P(accept) of offers below 30%",
    "marshmallow": "P(wait the full time)",
    "double_or_nothing": "expected rounds gambled",
    "procrastination": "mean start day (variant: P(commit))",
}


@dataclasses.dataclass
class Setting:
    """One game variant: its env kwargs and label."""

    game: str
    variant: str
    env_kwargs: dict[str, Any]

    @property
    def env_id(self) -> str:
        """Registered id of the game."""
        return ENV_IDS[self.game]


def settings_for(game: str) -> list[Setting]:
    """The variants of ``game`` the replication runs."""
    if game == "procrastination":
        return [Setting(game, "plain", {}),
                Setting(game, "self_imposed_deadline", {"self_imposed_deadline": True})]
    return [Setting(game, "plain", {})]


def reference_policies(game: subrational_gym.SubrationalEnv) -> list[TabularPolicy]:
    """The closed-form behavioural models shown beside the LLM and the learners."""
    name = game.game
    if name == "ultimatum":
        return [policies.income_maximiser(game), policies.inequity_averse_responder(game),
                policies.fehr_schmidt_population(game)]
    if name == "marshmallow":
        return [policies.beta_delta(game, beta=b, temperature=0.3) for b in (0.5, 0.7, 0.9)]
    if name == "double_or_nothing":
        return [policies.income_maximiser(game), policies.prospect_theory_gambler(game)]
    return [policies.beta_delta(game), policies.beta_delta(game, sophisticated=True)]


# ------------------------------------------------------------------------- the run
class Replication:
    """One replication run; :meth:`run` does everything and writes the results."""

    def __init__(self, args: Args) -> None:
        self.args = args
        self.budget = BUDGETS[args.budget]
        self.started = time.time()
        self.records: dict[str, Any] = {}
        self.endpoint: str | None = None
        self.model: str | None = None
        self.train_times: dict[str, list[float]] = {}
        #: Choices per (game, variant, persona, source) for the structural fits: the LLM
        #: expert's demonstrations of the first seed, and each learner's expected choices
        #: over the same number of episodes.
        self.counts: dict[tuple[str, str, str, str], ActionCounts] = {}

    def expert(self, setting: Setting, persona: str, **kwargs: Any) -> LLMExpert:
        """The LLM expert of ``persona`` in ``setting``, with this run's endpoint and cache."""
        kwargs.setdefault("mode", self.args.mode)
        kwargs.setdefault("cache_path", self.args.cache)
        return LLMExpert(setting.env_id, persona, env_kwargs=setting.env_kwargs,
                         model=self.args.model, base_url=self.args.base_url,
                         progress=self.args.progress, **kwargs)

    def run_persona(self, setting: Setting, persona: str) -> dict[str, Any]:
        """Tabulate one persona's expert, learn from it over seeds, evaluate."""
        game = subrational_gym.make_env(setting.env_id, **setting.env_kwargs)
        model = game.tabular_model()
        expert = self.expert(setting, persona)
        self.endpoint, self.model = expert.client.base_url, expert.client.model
        report = expert.tabulate()
        rec: dict[str, Any] = {
            "persona": persona,
            "tabulation": {"seconds": report.seconds, "model_calls": report.usage.model_calls,
                           "cache_hits": report.usage.cache_hits,
                           "decision_states": report.n_decision_states,
                           "invalid_states": [dataclasses.asdict(s) for s in report.invalid]},
        }
        if not report.complete:
            rec["error"] = (f"{len(report.invalid)} decision states have no valid answer; "
                            f"no demonstrations were generated for this persona")
            _log(f"    {persona}: {rec['error']}")
            return rec
        rec["expert"] = behaviour_summary(game, expert)
        rec["learners"] = {}
        learned: dict[str, list[TabularPolicy]] = {alg: [] for alg in IMITATION}
        jobs = [(seed, alg) for seed in self.budget.seeds for alg in IMITATION
                if alg not in ("gail", "airl") or seed in self.budget.adversarial_seeds]
        bar = tqdm(jobs, desc=f"    training on {persona}", leave=False,
                   disable=not self.args.progress)
        demos_by_seed: dict[int, Any] = {}
        for seed, alg in bar:
            bar.set_postfix_str(f"{alg} seed {seed}")
            if seed not in demos_by_seed:
                demos_by_seed = {seed: generate_demonstrations(
                    expert, setting.env_id, self.budget.n_episodes, seed=seed,
                    env_kwargs=setting.env_kwargs)}
                if seed == self.budget.seeds[0]:
                    self.counts[(setting.game, setting.variant, persona, "llm_expert")] = \
                        ActionCounts.from_trajectories(setting.env_id, demos_by_seed[seed],
                                                       env_kwargs=setting.env_kwargs)
            demos = demos_by_seed[seed]
            result = train(alg, demos, setting.env_id, env_kwargs=setting.env_kwargs,
                           seed=seed, budget=self.budget.steps[alg])
            dist = total_variation(model, expert, result.policy)
            summary = behaviour_summary(game, result.policy)
            self.train_times.setdefault(alg, []).append(result.record.train_seconds)
            rec["learners"].setdefault(alg, {"runs": []})["runs"].append({
                "seed": seed, "tv_mean": dist.mean, "tv_max": dist.max,
                "train_seconds": result.record.train_seconds,
                "key_metric": key_metric(setting.game, summary),
                "budget": result.record.budget,
            })
            learned[alg].append(result.policy)
        for alg, pols in learned.items():
            if not pols:
                continue
            runs = rec["learners"][alg]["runs"]
            mean_policy = _mean_policy(pols, f"{alg}:{persona}")
            self.counts[(setting.game, setting.variant, persona, alg)] = \
                ActionCounts.from_policy(mean_policy, self.budget.n_episodes)
            rec["learners"][alg].update({
                "tv_mean": aggregate([r["tv_mean"] for r in runs]).to_dict(),
                "key_metric": aggregate([r["key_metric"] for r in runs
                                         if r["key_metric"] is not None] or [np.nan]).to_dict(),
                "summary": behaviour_summary(game, mean_policy),
            })
        tv = {alg: rec["learners"][alg]["tv_mean"]["iqm"] for alg in rec["learners"]}
        _log(f"    {persona}: {report.n_decision_states} states, "
             f"{report.usage.model_calls} calls, {report.seconds:.1f}s; TV to expert "
             + ", ".join(f"{a} {v:.3f}" for a, v in tv.items()))
        return rec

    def run_baselines(self, setting: Setting) -> dict[str, Any]:
        """Exponential-discount baselines: exact over a gamma sweep, PPO and DQN at RL_GAMMA."""
        game = subrational_gym.make_env(setting.env_id, **setting.env_kwargs)
        out: dict[str, Any] = {"value_iteration": {}}
        for gamma in GAMMAS:
            pol = train("value_iteration", None, setting.env_id, env_kwargs=setting.env_kwargs,
                        gamma=gamma).policy
            out["value_iteration"][f"{gamma:g}"] = behaviour_summary(game, pol)
        for alg in ("ppo", "dqn"):
            seed = self.budget.seeds[0]
            result = train(alg, None, setting.env_id, env_kwargs=setting.env_kwargs, seed=seed,
                           budget=self.budget.steps[alg], gamma=RL_GAMMA)
            self.train_times.setdefault(alg, []).append(result.record.train_seconds)
            out[alg] = {"gamma": RL_GAMMA, "seed": seed, "budget": result.record.budget,
                        "train_seconds": result.record.train_seconds,
                        "summary": behaviour_summary(game, result.policy)}
        out["references"] = {p.name: behaviour_summary(game, p)
                             for p in reference_policies(game)}
        return out

    def run(self) -> dict[str, Any]:
        """Run every game, then findings, fidelity, performance and the reports."""
        seed_everything(0)
        for name in self.args.games:
            self.records[name] = {}
            for setting in settings_for(name):
                _log(f"[{name} / {setting.variant}] personas: "
                     + ", ".join(preset_names(name)))
                personas = {p: self.run_persona(setting, p) for p in preset_names(name)}
                baselines = self.run_baselines(setting)
                self.records[name][setting.variant] = {
                    "env_id": setting.env_id, "env_kwargs": setting.env_kwargs,
                    "personas": personas, "baselines": baselines}
        found = [self.finding(name) for name in self.args.games]
        _log("[model card] best-fitting family of each persona of the model")
        card = self.card()
        fidelity = self.fidelity()
        perf = self.performance() if self.args.perf else None
        return self.write(found, fidelity, perf, card)

    # ------------------------------------------------------------------ findings
    def _learned(self, game: str, variant: str, alg: str) -> dict[str, Mapping[str, Any]]:
        personas = self.records[game][variant]["personas"]
        return {p: r["learners"][alg]["summary"] for p, r in personas.items()
                if "learners" in r and alg in r["learners"]}

    def _experts(self, game: str, variant: str) -> dict[str, Mapping[str, Any]]:
        personas = self.records[game][variant]["personas"]
        return {p: r["expert"] for p, r in personas.items() if "expert" in r}

    def _summaries(self, game: str, variant: str, source: str) -> dict[str, Mapping[str, Any]]:
        if source == "llm_expert":
            return self._experts(game, variant)
        return self._learned(game, variant, source)

    def _by_persona(self, game: str, variant: str, source: str) -> dict[str, ActionCounts]:
        return {persona: c for (g, v, persona, s), c in self.counts.items()
                if (g, v, s) == (game, variant, source)}

    def _hypothesis(self, game: str, source: str) -> hypotheses.Verdict:
        """Judge ``game``'s hypothesis on ``source``'s choices, personas read as data."""

        def role(data: Mapping[str, ActionCounts], key: str, value: Any) -> ActionCounts:
            found = [c for p, c in data.items() if PRESETS[p].attributes.get(key) == value]
            if not found:
                raise KeyError(f"no persona with {key}={value!r} has choices")
            return found[0]

        def by(data: Mapping[str, ActionCounts], key: str) -> dict[float, ActionCounts]:
            return {PRESETS[p].attributes[key]: c for p, c in data.items()}

        if game == "procrastination":
            data = self._by_persona(game, "self_imposed_deadline", source)
            return hypotheses.procrastination(by(data, "gpa"))
        data = self._by_persona(game, "plain", source)
        if game == "marshmallow":
            return hypotheses.marshmallow(by(data, "age"))
        if game == "ultimatum":
            return hypotheses.ultimatum(role(data, "motive", "fairness"),
                                        role(data, "motive", "income"))
        return hypotheses.double_or_nothing(role(data, "risk", "averse"),
                                            role(data, "risk", "seeking"))

    def finding(self, game: str) -> dict[str, Any]:
        """The game's hypothesis judged on the paper's learner, the LLM and other sources."""
        verdicts: dict[str, dict[str, Any]] = {}
        for source in self.budget.hypothesis_sources:
            started = time.perf_counter()
            try:
                v = self._hypothesis(game, source)
            except KeyError as err:
                verdicts[source] = {"reproduced": "not checked", "finding": "",
                                    "criterion": hypotheses.CRITERIA[game],
                                    "numbers": {"reasons": [f"not checked: {err}"]}}
                continue
            verdicts[source] = {
                "reproduced": v.verdict, "finding": v.hypothesis, "criterion": v.criterion,
                "numbers": {"statistic": v.statistic, "value": v.value,
                            "interval": list(v.interval), "threshold": v.threshold,
                            "reasons": v.reasons, "seconds": time.perf_counter() - started,
                            **v.numbers}}
        main = verdicts[PAPER_LEARNER]
        record = {"game": game, "finding": main["finding"], "reproduced": main["reproduced"],
                  "numbers": main["numbers"], "criterion": main["criterion"],
                  "learner": PAPER_LEARNER, "by_source": {
                      k: {"reproduced": v["reproduced"], "numbers": v["numbers"]}
                      for k, v in verdicts.items()}}
        _log(f"[finding] {game}: {main['reproduced']} ({PAPER_LEARNER}); "
             + ", ".join(f"{k}: {v['reproduced']}" for k, v in verdicts.items()))
        return record

    # ---------------------------------------------------------------- model card
    def card(self) -> list[model_card.CardEntry]:
        """Best-fitting family and parameters of each persona of the LLM, with human figures."""
        entries = []
        for (game, variant, persona, source), counts in self.counts.items():
            if source != "llm_expert":
                continue
            human = []
            expert_summary = self.records[game][variant]["personas"][persona].get("expert")
            if variant == "plain" and expert_summary is not None:
                named = {persona: expert_summary}
                if persona == DEFAULT_PERSONA[game]:
                    named[None] = expert_summary
                for s in human_data.score_figures(game, named, self._chance(game)):
                    if s.figure.persona == persona or s.figure.persona is None:
                        human.append({"quantity": s.figure.quantity,
                                      "human": [s.figure.low, s.figure.high], "value": s.value,
                                      "chance": s.chance, "score": s.score,
                                      "source": s.figure.source})
            entries.append(model_card.card_entry(counts, variant=variant, persona=persona,
                                                 human=human))
        return entries

    # ------------------------------------------------------------------ fidelity
    def _chance(self, game: str) -> Mapping[str, Any]:
        """The uniform random policy's behaviour in ``game`` (the fidelity scale's zero)."""
        return human_data.chance_summary(game)

    def fidelity(self) -> dict[str, Any]:
        """Human-fidelity score per game and overall for every policy family.

        Every family is scored on the same figures: a policy that stands for everyone
        (theory, RL, chance) is given under every persona of the game.
        """
        per_game: dict[str, dict[str, Any]] = {}
        for game in self.args.games:
            rec = self.records[game]["plain"]
            personas = list(rec["personas"])
            chance = self._chance(game)

            def everyone(summary: Mapping[str, Any], personas: list[str] = personas
                         ) -> dict[str | None, Mapping[str, Any]]:
                return {None: summary, **{p: summary for p in personas}}

            sources: dict[str, dict[str | None, Mapping[str, Any]]] = {}
            experts = self._experts(game, "plain")
            if experts:
                sources["llm_expert"] = {**experts, None: experts.get(DEFAULT_PERSONA[game])}
            for alg in IMITATION:
                learned = self._learned(game, "plain", alg)
                if learned:
                    sources[alg] = {**learned, None: learned.get(DEFAULT_PERSONA[game])}
            base = rec["baselines"]
            sources[f"value_iteration(gamma={RL_GAMMA})"] = everyone(
                base["value_iteration"][f"{RL_GAMMA:g}"])
            sources["ppo"] = everyone(base["ppo"]["summary"])
            sources["dqn"] = everyone(base["dqn"]["summary"])
            sources["chance: uniform random"] = everyone(chance)
            for name, summary in base["references"].items():
                sources[f"theory: {name}"] = everyone(summary)
            per_game[game] = {}
            for source, summaries in sources.items():
                summaries = {k: v for k, v in summaries.items() if v is not None}
                scores = human_data.score_figures(game, summaries, chance)
                per_game[game][source] = {
                    "score": human_data.game_fidelity(scores),
                    "figures": [{"quantity": s.figure.quantity, "human": [s.figure.low,
                                 s.figure.high], "policy": s.value, "chance": s.chance,
                                 "score": s.score, "scored": s.figure.scored,
                                 "population": s.figure.population,
                                 "source": s.figure.source} for s in scores]}
        families = sorted({s for g in per_game.values() for s in g
                           if not s.startswith("theory:")})
        overall = {f: human_data.overall_fidelity(
            {g: per_game[g][f]["score"] for g in per_game if f in per_game[g]})
            for f in families}
        return {"per_game": {g: {s: v["score"] for s, v in d.items()}
                             for g, d in per_game.items()},
                "overall": overall, "details": per_game, "scale": human_data.SCALE,
                "populations": {g: human_data.SCORED_POPULATION[g] for g in per_game}}

    # --------------------------------------------------------------- performance
    def performance(self) -> dict[str, Any]:
        """Env speed, LLM calls per state, cold tabulation time, second-run calls."""
        _log("[perf] env speed against FrozenLake-v1, LLM calls and tabulation time")
        speed = env_speed.measure(self.budget.perf_env_steps)
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "perf.sqlite"
            ult = Setting("ultimatum", "plain", {})
            score = self.expert(ult, "fairness", cache_path=fresh, mode="score")
            score.tabulate()
            sample = self.expert(ult, "fairness", cache_path=Path(tmp) / "sample.sqlite",
                                 mode="sample", n_samples=10)
            sample_report = sample.tabulate()
            n_states = int(score.model.decision_mask.sum())
            one = {g: DEFAULT_PERSONA[g] for g in GAMES}
            cold = Path(tmp) / "cold.sqlite"
            start = time.perf_counter()
            first_calls = 0
            for g, persona in one.items():
                first_calls += self.expert(Setting(g, "plain", {}), persona,
                                           cache_path=cold).tabulate().usage.model_calls
            cold_seconds = time.perf_counter() - start
            second_calls = sum(
                self.expert(Setting(g, "plain", {}), persona, cache_path=cold)
                .tabulate().usage.model_calls for g, persona in one.items())
        learners = {alg: {"mean_seconds": float(np.mean(t)), "max_seconds": float(np.max(t)),
                          "runs": len(t)} for alg, t in self.train_times.items()}
        return {
            "env_steps_per_second": {k: {"value": v["steps_per_second"], "unit": "steps/s",
                                         "ratio_to_frozenlake": v["ratio_to_frozenlake"]}
                                     for k, v in speed.items()},
            "llm_calls_per_state": {
                "score_mode": {"value": score.usage.model_calls / n_states,
                               "unit": "model calls per decision state"},
                "sample_mode_10_samples": {"value": sample.usage.model_calls / n_states,
                                           "unit": "model calls per decision state",
                                           "invalid_states": len(sample_report.invalid)},
                "game": "ultimatum", "persona": "fairness",
            },
            "tabulate_all_games_one_persona": {"value": cold_seconds, "unit": "s",
                                               "model_calls": first_calls,
                                               "personas": one},
            "second_identical_run_calls": {"value": second_calls, "unit": "model calls"},
            "learner_train_seconds": {"value": learners, "unit": "s per training run"},
        }

    # -------------------------------------------------------------------- output
    def write(self, found: list[dict[str, Any]], fidelity: dict[str, Any],
              perf: dict[str, Any] | None,
              card: Sequence[model_card.CardEntry] = ()) -> dict[str, Any]:
        """Write summary.json, perf.json, model_card.*, the run record, plots, report.md."""
        out = self.args.out
        out.mkdir(parents=True, exist_ok=True)
        wall = time.time() - self.started
        finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        summary = {
            "model": self.model, "endpoint": self.endpoint, "finished_at": finished,
            "wall_seconds": wall, "budget": self.args.budget, "mode": self.args.mode,
            "findings": [{k: f[k] for k in ("game", "finding", "reproduced", "numbers",
                                            "criterion", "learner", "by_source")}
                         for f in found],
            "fidelity": {"per_game": fidelity["per_game"], "overall": fidelity["overall"],
                         "scale": fidelity["scale"], "populations": fidelity["populations"]},
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json))
        card_md = model_card.to_markdown(card, model=str(self.model),
                                         endpoint=self._endpoint_name())
        (out / "model_card.md").write_text(card_md)
        (out / "model_card.json").write_text(json.dumps(
            {"model": self.model, "endpoint": self._endpoint_name(), "finished_at": finished,
             "personas": [e.to_dict() for e in card]}, indent=2, default=_json))
        if perf is not None:
            demo_start = os.environ.get("SUBRATIONAL_DEMO_STARTED")
            perf["replication_wall_seconds"] = {"value": wall, "unit": "s"}
            if demo_start:
                perf["make_demo_wall_seconds"] = {
                    "value": time.time() - float(demo_start), "unit": "s",
                    "note": "from the start of make demo, installation included"}
            (out / "perf.json").write_text(json.dumps(perf, indent=2, default=_json))
        run = {"summary": summary, "perf": perf, "fidelity_details": fidelity["details"],
               "games": self.records, "budget": dataclasses.asdict(self.budget),
               "args": {k: str(v) for k, v in dataclasses.asdict(self.args).items()},
               "prompt_versions": PROMPT_VERSIONS, "versions": _versions(),
               "command": " ".join(sys.argv)}
        runs = out / "runs"
        runs.mkdir(exist_ok=True)
        stamp = finished.replace(":", "").replace("+0000", "Z")
        (runs / f"replication_{stamp}.json").write_text(json.dumps(run, indent=2, default=_json))
        plots = self.plots(out / "plots")
        (out / "report.md").write_text(self.report(summary, perf, plots))
        self.print_summary(summary, perf)
        _log("")
        _log(card_md)
        _log(f"Model card: {out / 'model_card.md'}")
        return summary

    def _endpoint_name(self) -> str:
        """The endpoint by what it is: the embedded model, or the URL the user gave."""
        if self.args.base_url or os.environ.get("OPENAI_BASE_URL"):
            return str(self.endpoint)
        return "the embedded llama.cpp server (127.0.0.1, started by this run)"

    def plots(self, folder: Path) -> dict[str, Path]:
        """One behaviour plot per game variant: personas (LLM, learned), theory, RL, humans."""
        paths = {}
        markers = ("s", "^", "v", "D")
        for game in self.args.games:
            for variant, rec in self.records[game].items():
                curves: dict[str, Mapping[str, Any]] = {}
                styles: dict[str, dict[str, Any]] = {}

                def commit(summary: Mapping[str, Any]) -> str:
                    p = summary.get("commit_probability")
                    return "" if p is None else f" (commits {p:.2f})"

                for i, (persona, r) in enumerate(rec["personas"].items()):
                    colour = f"C{i}"
                    if "expert" in r:
                        label = f"LLM {persona}{commit(r['expert'])}"
                        curves[label] = r["expert"]
                        styles[label] = {"color": colour, "ls": "-", "marker": "o"}
                    if PAPER_LEARNER in r.get("learners", {}):
                        learned = r["learners"][PAPER_LEARNER]["summary"]
                        label = f"learned (DM) {persona}{commit(learned)}"
                        curves[label] = learned
                        styles[label] = {"color": colour, "ls": "--", "marker": "x"}
                shades = ("dimgrey", "darkgrey", "silver")
                # Theory curves that coincide (the income maximiser under the RL line)
                # are told apart by shade, marker and width.
                for i, (name, s) in enumerate(rec["baselines"]["references"].items()):
                    label = f"theory: {name}{commit(s)}"
                    curves[label] = s
                    styles[label] = {"color": shades[i % 3], "ls": ":", "ms": 5, "lw": 3.0 - i,
                                     "marker": markers[i % len(markers)], "zorder": 1}
                rl = rec["baselines"]["value_iteration"][f"{RL_GAMMA:g}"]
                label = f"RL: value iteration gamma={RL_GAMMA}{commit(rl)}"
                curves[label] = rl
                styles[label] = {"color": "black", "ls": "-.", "marker": None, "lw": 1.0,
                                 "zorder": 3}
                name = game if variant == "plain" else f"{game}_{variant}"
                title = reporting.TITLES[game] + (
                    "" if variant == "plain" else f" ({variant.replace('_', '-')} variant)")
                paths[name] = reporting.plot_behaviour(game, curves, folder / f"{name}.png",
                                                       styles=styles, title=title)
        return paths

    def report(self, summary: Mapping[str, Any], perf: Mapping[str, Any] | None,
               plots: Mapping[str, Path]) -> str:
        """The Markdown report."""
        lines = [
            "# Replication of Coletta et al. 2024 (arXiv 2402.08755)", "",
            f"Model `{summary['model']}` at {self._endpoint_name()}, budget "
            f"`{summary['budget']}`, mode `{summary['mode']}`, finished "
            f"{summary['finished_at']} in {summary['wall_seconds']:.0f} s.", "",
            "## Findings", "",
            "Each finding is a hypothesis judged by structural fits (`subrational_gym."
            "hypotheses`): every behavioural family with its own fitted choice noise, "
            "verdict `reproduced`, `not reproduced` or `inconclusive`. Verdicts are for the "
            f"paper's learner ({PAPER_LEARNER}); the other columns judge the LLM expert's own "
            "demonstrations and the other learners the run judged "
            f"(budget `{summary['budget']}`).", "",
        ]
        sources = list(self.budget.hypothesis_sources)
        headers = ["game", f"verdict ({PAPER_LEARNER})", "statistic", "estimate [interval]",
                   "threshold", *(s for s in sources if s != PAPER_LEARNER)]
        rows = []
        for f in summary["findings"]:
            n = f["numbers"]
            interval = (f"{n['value']:.3g} [{n['interval'][0]:.3g}, {n['interval'][1]:.3g}]"
                        if "interval" in n else "-")
            rows.append([f["game"], f["reproduced"], n.get("statistic", "-"), interval,
                         n.get("threshold", "-"),
                         *(f["by_source"][s]["reproduced"] for s in sources
                           if s != PAPER_LEARNER)])
        lines += [reporting.markdown_table(headers, rows), ""]
        for f in summary["findings"]:
            lines += [f"### {f['game']}: {f['reproduced']}", "", f["finding"], ""]
            for source, v in f["by_source"].items():
                lines.append(f"- **{source}: {v['reproduced']}.** "
                             + " ".join(r[:1].upper() + r[1:].rstrip(".") + "."
                                        for r in v["numbers"]["reasons"]))
            expert = f["by_source"].get("llm_expert")
            for source, v in f["by_source"].items():
                if source == "llm_expert" or expert is None or "interval" not in v["numbers"] \
                        or "interval" not in expert["numbers"] \
                        or v["reproduced"] == expert["reproduced"]:
                    continue
                (a, b), (c, d) = v["numbers"]["interval"], expert["numbers"]["interval"]
                overlap = a <= d and c <= b
                lines.append(
                    f"- *{source} contradicts the expert's own verdict*: its interval "
                    f"[{a:.3g}, {b:.3g}] and the expert's [{c:.3g}, {d:.3g}] "
                    + ("overlap, so the difference is within noise."
                       if overlap else "do not overlap: the learner distorts the expert."))
            lines += ["", f"*Criterion:* {f['criterion']}", ""]
        lines += ["Controls: a uniform random policy, a persona-blind policy and an "
                  "exponential agent with choice noise must fail every hypothesis, theory "
                  "personas built to show each effect must pass it; the table is tested in "
                  "`make test` and printed by `python -m benchmarks.known_answers`.", ""]
        lines += ["## Behavioural model card", "",
                  "See [model_card.md](model_card.md): the best-fitting family of each "
                  "persona of the model, with its parameters and intervals.", ""]
        lines += ["## Imitation fidelity (total variation to the LLM expert)", "",
                  "Visit-weighted total variation between each learner and the expert it "
                  "imitates: interquartile mean over seeds [95% bootstrap CI].", ""]
        rows = []
        for game in self.args.games:
            for variant, rec in self.records[game].items():
                for persona, r in rec["personas"].items():
                    for alg, lr in r.get("learners", {}).items():
                        tv, km = lr["tv_mean"], lr["key_metric"]
                        rows.append([game, variant, persona, alg,
                                     f"{tv['iqm']:.3f} [{tv['ci_low']:.3f}, {tv['ci_high']:.3f}]",
                                     f"{km['iqm']:.3f}", tv["n_runs"]])
        lines += [reporting.markdown_table(
            ["game", "variant", "persona", "learner", "TV (IQM [CI])", "key metric (IQM)",
             "seeds"], rows), ""]
        lines += ["Key metric per game: " + "; ".join(
            f"{g}: {KEY_METRIC_NAME[g]}" for g in self.args.games) + ".", ""]
        lines += ["## Human figures", "",
                  "Published human figures each game is scored against "
                  "(`subrational_gym.human_data`).", ""]
        rows = [[fig.game, fig.quantity, f"{fig.low:g}" if fig.low == fig.high
                 else f"{fig.low:g} to {fig.high:g}", fig.persona or "-", fig.population,
                 "yes" if fig.scored else "context", fig.source]
                for fig in human_data.HUMAN_FIGURES if fig.game in self.args.games]
        lines += [reporting.markdown_table(["game", "quantity", "human value",
                                            "compared persona", "population", "in the score",
                                            "source"], rows), ""]
        lines += ["## Human fidelity", "", summary["fidelity"]["scale"], ""]
        fams = sorted({s for g in summary["fidelity"]["per_game"].values() for s in g})
        rows = [[fam, *(summary["fidelity"]["per_game"][g].get(fam) for g in self.args.games),
                 summary["fidelity"]["overall"].get(fam)] for fam in fams]
        lines += [reporting.markdown_table(["policy", *self.args.games, "overall"], rows), ""]
        lines += ["## Behaviour plots", ""]
        for game, path in plots.items():
            lines += [f"![{game}](plots/{path.name})", ""]
        if perf:
            lines += ["## Performance", "", reporting.markdown_table(
                ["measure", "value"], self._perf_rows(perf)), ""]
        lines += ["The embedded 270M model exercises the pipeline; it is far too small to "
                  "be a credible human simulator, so 'not reproduced' is the expected honest "
                  "answer with it. Run against a stronger model with `--base-url` and "
                  "`--model`.", ""]
        return "\n".join(lines)

    @staticmethod
    def _perf_rows(perf: Mapping[str, Any]) -> list[list[str]]:
        """The performance record as (measure, value) rows for reading."""
        calls = perf["llm_calls_per_state"]
        rows = [
            ["model calls per decision state, score mode (ultimatum, fairness)",
             f"{calls['score_mode']['value']:.2f}"],
            ["model calls per decision state, sample mode with 10 samples",
             f"{calls['sample_mode_10_samples']['value']:.2f}"],
            ["tabulating all four games for one persona, cold cache",
             f"{perf['tabulate_all_games_one_persona']['value']:.1f} s "
             f"({perf['tabulate_all_games_one_persona']['model_calls']} model calls)"],
            ["model calls of a second identical run",
             str(perf["second_identical_run_calls"]["value"])],
        ]
        for env, v in perf["env_steps_per_second"].items():
            rows.append([f"env steps per second: {env}",
                         f"{v['value']:,.0f} ({v['ratio_to_frozenlake']:.2f}x FrozenLake-v1)"])
        for alg, t in perf["learner_train_seconds"]["value"].items():
            rows.append([f"training seconds: {alg}",
                         f"mean {t['mean_seconds']:.1f}, max {t['max_seconds']:.1f} "
                         f"({t['runs']} runs)"])
        for key, label in (("replication_wall_seconds", "replication wall time"),
                           ("make_demo_wall_seconds", "make demo wall time, installation "
                                                      "included")):
            if key in perf:
                rows.append([label, f"{perf[key]['value']:.0f} s"])
        return rows

    def print_summary(self, summary: Mapping[str, Any], perf: Mapping[str, Any] | None) -> None:
        """The summary table on the terminal."""
        _log("")
        _log(f"Model {summary['model']} at {self._endpoint_name()}; budget {summary['budget']}; "
             f"{summary['wall_seconds']:.0f} s")
        rows = []
        for f in summary["findings"]:
            fid = summary["fidelity"]["per_game"].get(f["game"], {})
            rows.append([f["game"], f["reproduced"],
                         f["by_source"].get("llm_expert", {}).get("reproduced", "-"),
                         fid.get("llm_expert"), fid.get(PAPER_LEARNER)])
        _log(reporting.text_table(
            ["game", f"verdict ({PAPER_LEARNER})", "verdict (LLM)", "human fidelity: LLM",
             "human fidelity: learned"], rows))
        overall = summary["fidelity"]["overall"]
        _log("overall human fidelity (0..1): " + ", ".join(
            f"{k} {v:.3f}" for k, v in overall.items() if v is not None))
        if perf:
            calls = perf["llm_calls_per_state"]
            cold = perf["tabulate_all_games_one_persona"]["value"]
            _log(f"LLM calls per state: score {calls['score_mode']['value']:.2f}, sample(10) "
                 f"{calls['sample_mode_10_samples']['value']:.2f}; cold tabulation of 4 games "
                 f"{cold:.1f} s; second run {perf['second_identical_run_calls']['value']} calls")
        _log(f"Report: {self.args.out / 'report.md'}")


def _rounded(value: Any, digits: int = 4) -> Any:
    """``value`` with every float rounded, for reading."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, Mapping):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v, digits) for v in value]
    return value


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the replication from the command line."""
    return Replication(parse_args(argv)).run()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: every model answer received so far is saved in the answer "
              "cache; run the same command again (make demo) to resume without asking the "
              "model again. Training restarts from the beginning.", file=sys.stderr)
        sys.exit(130)
