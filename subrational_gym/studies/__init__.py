"""One study record per game: what each game means for the replication, as data.

A :class:`Study` gathers everything the replication, the reports and the benchmarks need
to know about one game of Coletta et al. 2024, so that adding a game touches its env and
its study record and nothing else:

- the env id and the variants the replication runs (env kwargs per variant);
- the personas, with their attributes as data (age, GPA, motive, attitude to risk) and
  the traits the model is asked to play (``llm_experts`` builds its presets from them);
- the closed-form reference policies shown beside the LLM and the learners, and the
  like-with-like table of behavioural against exponential agents at equal choice noise;
- the behaviour curve drawn in plots, its axes, the key metric aggregated over seeds, and
  a one-line headline of the behaviour that matters;
- the human figures (:mod:`subrational_gym.human_data`) and the persona that stands for
  the general population in figures that name none;
- the finding as a falsifiable hypothesis (:mod:`subrational_gym.hypotheses`), judged on
  choice counts keyed by persona name, the persona roles read from their attributes.

Example:
    >>> from subrational_gym.studies import STUDIES, get_study
    >>> study = get_study("marshmallow")
    >>> study.env_id
    'Subrational/Marshmallow-v0'
    >>> [p.attributes["age"] for p in study.personas]
    [2, 3, 4, 5, 6]
    >>> list(STUDIES)
    ['ultimatum', 'marshmallow', 'double_or_nothing', 'procrastination']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from subrational_gym import hypotheses, make_env, policies
from subrational_gym.core import SubrationalEnv
from subrational_gym.envs.double_or_nothing import WIDE_WIN_PROBABILITIES
from subrational_gym.errors import ParameterError
from subrational_gym.human_data import HumanFigure, figures_for
from subrational_gym.inference import ActionCounts
from subrational_gym.policies import TabularPolicy
from subrational_gym.registration import ENV_IDS

__all__ = ["STUDIES", "PersonaSpec", "Study", "Variant", "get_study"]

Summary = Mapping[str, Any]


@dataclass(frozen=True)
class PersonaSpec:
    """A persona of a study, as data.

    Attributes:
        name: Identifier (``"fairness"``, ``"child-4"``); part of the LLM cache provenance,
            so renaming one invalidates its cached answers.
        traits: Who the character is, as a noun phrase (``"a 4-year-old child"``).
        attributes: Structured attributes the findings and analyses read (``age``,
            ``gpa``, ``motive``, ``risk``).
    """

    name: str
    traits: str
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for label, value in (("name", self.name), ("traits", self.traits)):
            if not isinstance(value, str) or not value.strip():
                raise ParameterError(f"persona {label} must be a non-empty string, "
                                     f"got {value!r}")
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


@dataclass(frozen=True)
class Variant:
    """A setting of a game the replication runs.

    Attributes:
        name: ``"plain"`` (default settings) or a descriptive name.
        env_kwargs: Constructor arguments of the env for this variant.
    """

    name: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "env_kwargs", MappingProxyType(dict(self.env_kwargs)))


@dataclass(frozen=True)
class Study:
    """Everything the replication needs to know about one game.

    Attributes:
        game: The game's name (a key of :data:`~subrational_gym.registration.ENV_IDS`).
        title: Plot title.
        personas: The personas, in the order they are reported.
        variants: The settings the replication runs; the first is the plain game.
        hypothesis_variant: The variant whose choices decide the finding.
        default_persona: The persona that stands for the general population in human
            figures that name no persona.
        axes: The behaviour curve's (x label, y label).
        key_metric_name: What :meth:`key_metric` measures, in words.
        curve_fn: Behaviour summary -> (x values, y values) of the curve.
        key_metric_fn: Behaviour summary -> the one number aggregated over seeds.
        headline_fn: Behaviour summary -> one line of the behaviour that matters.
        references_fn: Env -> the reference policies shown beside the LLM.
        contrast_fn: () -> (env kwargs, policy) rows comparing behavioural with
            exponential agents at equal choice noise.
        judge_fn: (study, choice counts by persona name, seed) -> the finding's verdict.
    """

    game: str
    title: str
    personas: tuple[PersonaSpec, ...]
    variants: tuple[Variant, ...]
    hypothesis_variant: str
    default_persona: str
    axes: tuple[str, str]
    key_metric_name: str
    curve_fn: Callable[[Summary], tuple[Sequence[float], Sequence[float]]]
    key_metric_fn: Callable[[Summary], float | None]
    headline_fn: Callable[[Summary], str]
    references_fn: Callable[[SubrationalEnv], list[TabularPolicy]]
    contrast_fn: Callable[[], list[tuple[dict[str, Any], TabularPolicy]]]
    judge_fn: Callable[[Study, Mapping[str, ActionCounts], int], hypotheses.Verdict]

    def __post_init__(self) -> None:
        if self.game not in ENV_IDS:
            raise ParameterError(f"study game {self.game!r} is not registered; expected one "
                                 f"of {list(ENV_IDS)} (add it to registration.ENV_IDS)")
        names = [p.name for p in self.personas]
        if len(set(names)) != len(names):
            raise ParameterError(f"study {self.game!r} has duplicate persona names {names}")
        if self.default_persona not in names:
            raise ParameterError(f"default_persona {self.default_persona!r} is not a persona "
                                 f"of {self.game!r}; expected one of {names}")
        if self.hypothesis_variant not in [v.name for v in self.variants]:
            raise ParameterError(
                f"hypothesis_variant {self.hypothesis_variant!r} is not a variant of "
                f"{self.game!r}; expected one of {[v.name for v in self.variants]}")

    # ----------------------------------------------------------------- lookups
    @property
    def env_id(self) -> str:
        """The registered env id."""
        return ENV_IDS[self.game]

    @property
    def persona_names(self) -> tuple[str, ...]:
        """The personas' names, in order."""
        return tuple(p.name for p in self.personas)

    @property
    def criterion(self) -> str:
        """How the finding is decided, in words."""
        return hypotheses.CRITERIA[self.game]

    @property
    def human_figures(self) -> list[HumanFigure]:
        """The published human figures of the game."""
        return figures_for(self.game)

    def persona(self, name: str) -> PersonaSpec:
        """The persona called ``name``."""
        for p in self.personas:
            if p.name == name:
                return p
        raise ParameterError(f"{self.game} has no persona {name!r}; expected one of "
                             f"{list(self.persona_names)}")

    def variant(self, name: str) -> Variant:
        """The variant called ``name``."""
        for v in self.variants:
            if v.name == name:
                return v
        raise ParameterError(f"{self.game} has no variant {name!r}; expected one of "
                             f"{[v.name for v in self.variants]}")

    def make_env(self, variant: str = "plain") -> SubrationalEnv:
        """The unwrapped env of ``variant``."""
        return make_env(self.env_id, **self.variant(variant).env_kwargs)

    # --------------------------------------------------------------- behaviour
    def curve(self, summary: Summary) -> tuple[list[float], list[float]]:
        """The behaviour curve drawn in plots, from a behaviour summary."""
        xs, ys = self.curve_fn(summary)
        return [float(x) for x in xs], [float(y) for y in ys]

    def key_metric(self, summary: Summary) -> float | None:
        """The one number per policy that the tables aggregate over seeds."""
        return self.key_metric_fn(summary)

    def headline(self, summary: Summary) -> str:
        """One line of the behaviour that matters in this game."""
        return self.headline_fn(summary)

    def reference_policies(self, env: SubrationalEnv | None = None) -> list[TabularPolicy]:
        """The closed-form behavioural models shown beside the LLM and the learners."""
        return self.references_fn(env if env is not None else self.make_env())

    def contrast_policies(self) -> list[tuple[dict[str, Any], TabularPolicy]]:
        """Behavioural and exponential agents at equal choice noise, with their env kwargs."""
        return self.contrast_fn()

    # ----------------------------------------------------------------- finding
    def by_attribute(self, data: Mapping[str, ActionCounts], key: str
                     ) -> dict[Any, ActionCounts]:
        """``data`` (keyed by persona name) re-keyed by each persona's attribute ``key``."""
        return {self.persona(p).attributes[key]: c for p, c in data.items()}

    def role(self, data: Mapping[str, ActionCounts], key: str, value: Any) -> ActionCounts:
        """The choices of the persona whose attribute ``key`` equals ``value``.

        Raises:
            KeyError: No persona in ``data`` has that attribute value.
        """
        for p, c in data.items():
            if self.persona(p).attributes.get(key) == value:
                return c
        raise KeyError(f"no persona with {key}={value!r} has choices (have {sorted(data)})")

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle a registered study by its name (its functions may be lambdas).

        So its bound methods (``judge``) can run in worker processes.
        """
        if STUDIES.get(self.game) is self:
            return (get_study, (self.game,))
        return super().__reduce_ex__(protocol)

    def judge(self, data: Mapping[str, ActionCounts], *, seed: int = 0) -> hypotheses.Verdict:
        """The finding's verdict on choice counts keyed by persona name.

        Args:
            data: Choices of each persona in :attr:`hypothesis_variant` (from an LLM's
                demonstrations, a learned policy, or human data).
            seed: Seed of the bootstrap draws (rank correlations).

        Raises:
            KeyError: A persona the hypothesis needs has no choices.
            ParameterError: A key of ``data`` is not a persona of the study.
        """
        return self.judge_fn(self, data, seed)


# ------------------------------------------------------------------ ultimatum
def _ultimatum_headline(s: Summary) -> str:
    return "P(accept) by offer $0..$10: " + " ".join(f"{a:.2f}" for a in s["acceptance"])


def _ultimatum_key(s: Summary) -> float:
    shares, acc = np.asarray(s["offer_share"]), np.asarray(s["acceptance"])
    return float(acc[(shares > 0) & (shares < 0.3)].mean())


def _ultimatum_contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    env = make_env(ENV_IDS["ultimatum"])
    return [({}, policies.income_maximiser(env)), ({}, policies.inequity_averse_responder(env)),
            ({}, policies.fehr_schmidt_population(env))]


ULTIMATUM = Study(
    game="ultimatum",
    title="Ultimatum game: acceptance by offer",
    personas=(
        PersonaSpec("fairness", "an adult who cares a lot about fairness",
                    {"motive": "fairness"}),
        PersonaSpec("income", "an adult who only wants to make as much money as possible",
                    {"motive": "income"}),
    ),
    variants=(Variant("plain"),),
    hypothesis_variant="plain",
    default_persona="fairness",
    axes=("offer (share of the pie)", "P(accept)"),
    key_metric_name="P(accept) of offers below 30%",
    curve_fn=lambda s: (s["offer_share"], s["acceptance"]),
    key_metric_fn=_ultimatum_key,
    headline_fn=_ultimatum_headline,
    references_fn=lambda env: [policies.income_maximiser(env),
                               policies.inequity_averse_responder(env),
                               policies.fehr_schmidt_population(env)],
    contrast_fn=_ultimatum_contrast,
    judge_fn=lambda st, data, seed: hypotheses.ultimatum(
        st.role(data, "motive", "fairness"), st.role(data, "motive", "income")),
)


# ---------------------------------------------------------------- marshmallow
def _marshmallow_headline(s: Summary) -> str:
    return (f"ate at once {s['ate_at_once']:.2f}, gave in midway {s['gave_in_midway']:.2f}, "
            f"waited full {s['waited_full']:.2f}")


def _marshmallow_contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    env = make_env(ENV_IDS["marshmallow"])
    return [
        ({}, policies.exponential_discounter(env, gamma=0.95)),
        ({}, policies.beta_delta(env, beta=0.4)),
        ({}, policies.beta_delta(env, beta=0.6, temperature=0.3)),
        ({}, policies.beta_delta(env, beta=0.8, temperature=0.3)),
        # Exponential agents at the same temperature: noise alone gives in half-way.
        ({}, policies.exponential_discounter(env, gamma=0.9, temperature=0.3)),
        ({}, policies.exponential_discounter(env, gamma=0.95, temperature=0.3)),
    ]


MARSHMALLOW = Study(
    game="marshmallow",
    title="Marshmallow test: still waiting, by minute",
    personas=tuple(PersonaSpec(f"child-{age}", f"a {age}-year-old child", {"age": age})
                   for age in range(2, 7)),
    variants=(Variant("plain"),),
    hypothesis_variant="plain",
    default_persona="child-4",
    axes=("minute", "P(still waiting)"),
    key_metric_name="P(wait the full time)",
    curve_fn=lambda s: (s["minute"], [1.0 - p for p in s["eaten_by_minute"]]),
    key_metric_fn=lambda s: float(s["waited_full"]),
    headline_fn=_marshmallow_headline,
    references_fn=lambda env: [policies.beta_delta(env, beta=b, temperature=0.3)
                               for b in (0.5, 0.7, 0.9)],
    contrast_fn=_marshmallow_contrast,
    judge_fn=lambda st, data, seed: hypotheses.marshmallow(st.by_attribute(data, "age"),
                                                           seed=seed),
)


# ---------------------------------------------------------- double or nothing
def _gamble_headline(s: Summary) -> str:
    g = " ".join(f"{p:.2f}" for p in s["gamble_probability"])
    return f"P(gamble) by round: {g}; E[winnings] ${s['expected_winnings']:.2f}"


def _gamble_contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    env = make_env(ENV_IDS["double_or_nothing"])
    return [({}, policies.income_maximiser(env)), ({}, policies.prospect_theory_gambler(env)),
            ({}, policies.prospect_theory_gambler(env, planning="naive", reference="zero"))]


DOUBLE_OR_NOTHING = Study(
    game="double_or_nothing",
    title="Double or nothing: gambling, by round",
    personas=(
        PersonaSpec("cautious", "a cautious adult who dislikes taking risks", {"risk": "averse"}),
        PersonaSpec("risk-seeking", "an adult who loves taking risks for a bigger prize",
                    {"risk": "seeking"}),
    ),
    # The odds variant (one win probability per episode, 0.05 to 0.95) identifies loss
    # aversion, which a single probability cannot: the finding is judged there.
    variants=(Variant("plain"),
              Variant("odds", {"win_probabilities": WIDE_WIN_PROBABILITIES})),
    hypothesis_variant="odds",
    default_persona="cautious",
    axes=("round", "P(gamble | still playing)"),
    key_metric_name="expected rounds gambled",
    curve_fn=lambda s: (s["round"], s["gamble_probability"]),
    key_metric_fn=lambda s: float(s["expected_rounds_gambled"]),
    headline_fn=_gamble_headline,
    references_fn=lambda env: [policies.income_maximiser(env),
                               policies.prospect_theory_gambler(env)],
    contrast_fn=_gamble_contrast,
    judge_fn=lambda st, data, seed: hypotheses.double_or_nothing(
        st.role(data, "risk", "averse"), st.role(data, "risk", "seeking"), seed=seed),
)


# ------------------------------------------------------------ procrastination
def _procrastination_headline(s: Summary) -> str:
    line = (f"start day {s['expected_start_day']:.1f}, finish day "
            f"{s['expected_finish_day']:.1f} (never = day {len(s['day']) + 1})")
    if s.get("commit_probability") is not None:
        line += f", commits {s['commit_probability']:.2f}"
    return line


def _procrastination_key(s: Summary) -> float | None:
    if s.get("commit_probability") is not None:
        return float(s["commit_probability"])
    return s["expected_start_day"]


def _procrastination_curve(s: Summary) -> tuple[Sequence[float], Sequence[float]]:
    return s["day"], np.cumsum(s["start_distribution"]).tolist()


def _procrastination_contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    kwargs = {"self_imposed_deadline": True}
    env = make_env(ENV_IDS["procrastination"], **kwargs)
    pols = (policies.exponential_discounter(env, gamma=1.0),
            policies.exponential_discounter(env, gamma=0.5),
            policies.beta_delta(env), policies.beta_delta(env, sophisticated=True),
            # The same comparison with choice noise (temperature 0.5) on both sides.
            policies.exponential_discounter(env, gamma=1.0, temperature=0.5),
            policies.beta_delta(env, sophisticated=True, temperature=0.5))
    return [(kwargs, p) for p in pols]


PROCRASTINATION = Study(
    game="procrastination",
    title="Procrastination: started writing, by day",
    personas=tuple(PersonaSpec(f"gpa-{gpa:.1f}",
                               f"a college student with a GPA of {gpa:.1f} out of 4.0",
                               {"gpa": gpa}) for gpa in (2.0, 3.0, 4.0)),
    variants=(Variant("plain"),
              Variant("self_imposed_deadline", {"self_imposed_deadline": True})),
    hypothesis_variant="self_imposed_deadline",
    default_persona="gpa-3.0",
    axes=("day", "P(started writing by this day)"),
    key_metric_name="mean start day (variant: P(commit))",
    curve_fn=_procrastination_curve,
    key_metric_fn=_procrastination_key,
    headline_fn=_procrastination_headline,
    references_fn=lambda env: [policies.beta_delta(env),
                               policies.beta_delta(env, sophisticated=True)],
    contrast_fn=_procrastination_contrast,
    judge_fn=lambda st, data, seed: hypotheses.procrastination(st.by_attribute(data, "gpa"),
                                                               seed=seed),
)

#: The study of each game, in the paper's order.
STUDIES: Mapping[str, Study] = MappingProxyType(
    {s.game: s for s in (ULTIMATUM, MARSHMALLOW, DOUBLE_OR_NOTHING, PROCRASTINATION)})


def get_study(game: str) -> Study:
    """The study of ``game`` (a game name or its env id).

    Raises:
        ParameterError: Unknown game; the message lists the valid names.
    """
    by_id = {s.env_id: s for s in STUDIES.values()}
    if game in STUDIES:
        return STUDIES[game]
    if game in by_id:
        return by_id[game]
    raise ParameterError(f"no study for {game!r}; expected one of {list(STUDIES)} or their "
                         f"env ids {list(by_id)}")
