"""One study module per game: what each game means for the science, as data.

A :class:`Study` gathers everything the replication, the reports, the benchmarks and the
LLM experts need to know about one game of Coletta et al. 2024. Each game's module
(``studies/ultimatum.py``, ``marshmallow.py``, ``double_or_nothing.py``,
``procrastination.py``) builds its record and registers it with :func:`register_study`;
the generic modules (:mod:`~subrational_gym.hypotheses`,
:mod:`~subrational_gym.controls`, :mod:`~subrational_gym.human_data`,
:mod:`~subrational_gym.evaluation`, :mod:`~subrational_gym.inference`,
``llm_experts``) read every per-game table from :data:`STUDIES`. A new game is its env
module, its study module and one registration row
(:func:`~subrational_gym.registration.register_game`); see ``docs/adding-a-game.md``.

A study holds:

- the env id (from the registration table) and the variants the replication runs;
- the personas, with their attributes as data (age, GPA, motive, attitude to risk) and
  the traits the model is asked to play (``llm_experts`` builds its presets from them);
- the closed-form reference policies shown beside the LLM and the learners, and the
  like-with-like table of behavioural against exponential agents at equal choice noise;
- the behaviour summary of a policy, the curve drawn in plots, its axes, the key metric
  aggregated over seeds, and a one-line headline of the behaviour that matters;
- the finding as a falsifiable hypothesis: its rule, smallest effect of interest
  (:class:`Sesoi`) and criterion in words, judged on choice counts keyed by persona
  name, and the controls whose verdicts are known;
- the human figures, their extractors and scored populations, and the persona that
  stands for the general population in figures that name none;
- the prompt scene the LLM persona is placed in, the planted theories of the
  end-to-end control, the inference families fitted, and the learners' game defaults.

Example:
    >>> from subrational_gym.studies import STUDIES, get_study
    >>> study = get_study("marshmallow")
    >>> study.env_id
    'Subrational/Marshmallow-v0'
    >>> [p.attributes["age"] for p in study.personas]
    [2, 3, 4, 5, 6]
    >>> list(STUDIES)[:4]
    ['ultimatum', 'marshmallow', 'double_or_nothing', 'procrastination']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from subrational_gym import make_env
from subrational_gym.core import SubrationalEnv
from subrational_gym.errors import ParameterError
from subrational_gym.human_figures import AcrossExtractor, Extractor, HumanFigure
from subrational_gym.policies import TabularPolicy
from subrational_gym.registration import ENV_IDS

if TYPE_CHECKING:
    from subrational_gym.inference import ActionCounts
    from subrational_gym.verdicts import Verdict

__all__ = ["STUDIES", "PersonaSpec", "Sesoi", "Study", "Theory", "Variant", "get_study",
           "register_study"]

Summary = Mapping[str, Any]
#: A planted theory: an inference family's name and its parameters.
Theory = tuple[str, Mapping[str, float]]
#: A control: its name and, per persona key of the game's hypothesis, a policy.
Control = tuple[str, Mapping[Any, Any]]


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
class Sesoi:
    """A smallest effect of interest, with the human data that justify it.

    Attributes:
        value: The margin, in the effect's units.
        units: The effect's units.
        justification: Where the margin comes from, with sources.
    """

    value: float
    units: str
    justification: str


def _frozen(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Study:
    """Everything the replication needs to know about one game.

    Attributes:
        game: The game's name (a key of :data:`~subrational_gym.registration.ENV_IDS`).
        title: Plot title.
        personas: The personas, in the order they are reported.
        variants: The settings the replication runs; the first is the plain game, on
            which the human figures are scored.
        hypothesis_variant: The variant whose choices decide the finding.
        default_persona: The persona that stands for the general population in human
            figures that name no persona.
        axes: The behaviour curve's (x label, y label).
        key_metric_name: What :meth:`key_metric` measures, in words.
        summary_fn: (env, model, probabilities, occupancy, state meanings) -> the
            behaviour summary (:func:`~subrational_gym.evaluation.behaviour_summary`).
        curve_fn: Behaviour summary -> (x values, y values) of the curve.
        key_metric_fn: Behaviour summary -> the one number aggregated over seeds.
        headline_fn: Behaviour summary -> one line of the behaviour that matters.
        references_fn: Env -> the reference policies shown beside the LLM.
        contrast_fn: () -> (env kwargs, policy) rows comparing behavioural with
            exponential agents at equal choice noise.
        rule: The hypothesis: keyword arguments as :attr:`controls_key` shapes them ->
            the verdict (:data:`subrational_gym.hypotheses.HYPOTHESES`).
        judge_fn: (study, choice counts by persona name, seed) -> the finding's verdict.
        sesoi: The smallest effect of interest, fixed before any verdict was seen.
        criterion: How the finding is decided, in words.
        controls_fn: () -> the known-answer controls: ``(name, {persona key: policy})``.
        controls_key: The keyword of :attr:`rule` that takes all personas' data (None:
            one keyword per persona key).
        expected: The verdict each control must get, by control name.
        figures: The published human figures.
        extractors: Figure key -> the number compared, from a behaviour summary.
        across_extractors: Figure key -> the number, from summaries by persona name.
        scored_populations: The populations whose figures enter the game's score.
        scored_population: What the game's score describes, in words.
        prompt_version: The prompt templates' version; bump on any change of wording.
        scene: Where the persona is, third person (``"{c} is taking part in ..."``,
            ``{c}`` the character's name).
        chat_scene: The same in the second person (``"You are taking part in ..."``).
        planted: Persona name -> the theory the planted endpoint answers with
            (scenario ``"human-size"``).
        planted_outside: Persona name -> behaviour outside the fitted families.
        planted_sizes: Persona name -> an effect of another size.
        families: The inference families fitted to the game's choices, by name.
        learner_defaults: Algorithm -> the game's hyperparameter overrides.
        min_episodes: The episodes per persona the finding is planned for: at fewer, alike
            personas are not called "not reproduced" with 95% probability
            (:func:`~subrational_gym.verdicts.planned_episodes`); every judged source gets
            at least this many (:meth:`judged_episodes`). 0: not planned (the budget decides).
    """

    game: str
    title: str
    personas: tuple[PersonaSpec, ...]
    variants: tuple[Variant, ...]
    hypothesis_variant: str
    default_persona: str
    axes: tuple[str, str]
    key_metric_name: str
    summary_fn: Callable[..., dict[str, Any]]
    curve_fn: Callable[[Summary], tuple[Sequence[float], Sequence[float]]]
    key_metric_fn: Callable[[Summary], float | None]
    headline_fn: Callable[[Summary], str]
    references_fn: Callable[[SubrationalEnv], list[TabularPolicy]]
    contrast_fn: Callable[[], list[tuple[dict[str, Any], TabularPolicy]]]
    rule: Callable[..., Verdict]
    judge_fn: Callable[[Study, Mapping[str, ActionCounts], int], Verdict]
    sesoi: Sesoi
    criterion: str
    controls_fn: Callable[[], list[Control]]
    controls_key: str | None
    expected: Mapping[str, str]
    figures: tuple[HumanFigure, ...]
    extractors: Mapping[str, Extractor]
    scored_populations: tuple[str, ...]
    scored_population: str
    prompt_version: str
    scene: str
    chat_scene: str
    planted: Mapping[str, Theory]
    families: tuple[str, ...]
    across_extractors: Mapping[str, AcrossExtractor] = field(default_factory=dict)
    planted_outside: Mapping[str, Theory] = field(default_factory=dict)
    planted_sizes: Mapping[str, Theory] = field(default_factory=dict)
    learner_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    min_episodes: int = 0

    def __post_init__(self) -> None:
        if self.game not in ENV_IDS:
            raise ParameterError(f"study game {self.game!r} is not registered; expected one "
                                 f"of {list(ENV_IDS)} (add its row with "
                                 f"registration.register_game)")
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
        for label in ("planted", "planted_outside", "planted_sizes"):
            unknown = set(getattr(self, label)) - set(names)
            if unknown:
                raise ParameterError(f"{label} of {self.game!r} names personas "
                                     f"{sorted(unknown)} it does not have; expected {names}")
        missing = set(names) - set(self.planted)
        if missing:
            raise ParameterError(f"planted of {self.game!r} has no theory for {sorted(missing)}")
        for figure in self.figures:
            if figure.game != self.game:
                raise ParameterError(f"figure {figure.quantity!r} is about {figure.game!r}, "
                                     f"not {self.game!r}")
            known = self.across_extractors if figure.across else self.extractors
            if figure.key not in known:
                raise ParameterError(f"figure {figure.quantity!r} has key {figure.key!r}, "
                                     f"which is not an extractor of {self.game!r}")
        if "{c}" not in self.scene:
            raise ParameterError(f"scene of {self.game!r} must name the character as {{c}}, "
                                 f"got {self.scene!r}")
        if not self.families:
            raise ParameterError(f"study {self.game!r} fits no inference family")
        if isinstance(self.min_episodes, bool) or not isinstance(self.min_episodes, int) \
                or self.min_episodes < 0:
            raise ParameterError(f"min_episodes of {self.game!r} must be a whole number >= 0, "
                                 f"got {self.min_episodes!r}")
        for label in ("expected", "extractors", "across_extractors", "planted",
                      "planted_outside", "planted_sizes", "learner_defaults"):
            object.__setattr__(self, label, _frozen(getattr(self, label)))
        object.__setattr__(self, "figures", tuple(self.figures))

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
    def human_figures(self) -> list[HumanFigure]:
        """The published human figures of the game."""
        return list(self.figures)

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

    def judged_episodes(self, budget: int) -> int:
        """Episodes per persona the finding is judged on under a budget of ``budget``.

        The budget, or :attr:`min_episodes` when that is more (a study samples the
        participants its power analysis asks for; episodes of a tabulated expert or a
        learned policy cost no model calls).
        """
        return max(int(budget), self.min_episodes)

    # --------------------------------------------------------------- behaviour
    def summarise(self, env: SubrationalEnv, model: Any, probs: Any, occupancy: Any,
                  meanings: list[Any]) -> dict[str, Any]:
        """The behaviour summary of a policy (see :attr:`summary_fn`)."""
        return self.summary_fn(env, model, probs, occupancy, meanings)

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
        if _STUDIES.get(self.game) is self:
            return (get_study, (self.game,))
        return super().__reduce_ex__(protocol)

    def judge(self, data: Mapping[str, ActionCounts], *, seed: int = 0) -> Verdict:
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


_STUDIES: dict[str, Study] = {}
#: The study of each registered game, in registration order (the paper's order first).
STUDIES: Mapping[str, Study] = MappingProxyType(_STUDIES)


def register_study(study: Study) -> Study:
    """Add ``study`` to :data:`STUDIES` (idempotent for the same record).

    Raises:
        ParameterError: another study of the same game is registered.
    """
    other = _STUDIES.get(study.game)
    if other is not None and other is not study:
        raise ParameterError(f"a study of {study.game!r} is already registered; a game has "
                             f"one study")
    _STUDIES[study.game] = study
    return study


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


# The games of the paper, in its order: each module registers its study on import.
for _module in ("ultimatum", "marshmallow", "double_or_nothing", "procrastination"):
    importlib.import_module(f"{__name__}.{_module}")
