"""Human-fidelity score: a skill score against the best constant policy.

The figures themselves (:class:`HumanFigure`, :data:`HUMAN_FIGURES`, :func:`figures_for`,
the extractors and populations) live in :mod:`subrational_gym.human_figures` and are
re-exported here.

The score (:func:`game_score`), like a forecast skill score against climatology:

- Each scored figure ``i`` of a game gives an error ``e_i``: the distance from the
  policy's value of the figure's quantity to the published value or range (0 inside the
  range), in the quantity's own units (a probability or share in [0, 1], a correlation in
  [-1, 1]; no further rescaling, so every figure weighs the same). A value the policy
  leaves undefined (no child ever gives in, so there is no give-in time) counts as the
  worst possible miss within the quantity's domain.
- The game's distance is the mean squared error ``D = mean_i e_i**2`` (a Brier-like
  score over the figures).
- The reference is the best *constant* policy: one probability ``p`` of the game's first
  action (reject, wait, stop, play) in every state, for every persona. ``D(p)`` is
  evaluated exactly on the game's tabular model on a grid of 1001 values of ``p`` in
  [0, 1] and refined with a bounded Brent search (``scipy.optimize.minimize_scalar``)
  between the best grid point's neighbours; ``D* = min_p D(p)``.
- ``skill = 1 - D(policy) / D*``: 1 is perfect agreement, 0 is no better than the best
  constant, and every constant policy (uniform random included, ``p = 0.5``) scores
  ``<= 0`` by construction. A game whose figures some constant matches (``D*`` below
  :data:`INFORMATIVE_TOLERANCE`, a root-mean-square miss of one percentage point) is
  *not informative*: its skill is None rather than a number.

Persona matching: a figure about one persona (an age) is scored only on the policy given
for that persona, or on the policy given for ``None`` (which stands for the whole
population, so for each of its members, as a constant does), never on another persona. A
population figure is scored on the policy given for ``None`` (the caller's neutral
stand-in) if there is one, else on all of the study's personas pooled in equal shares:
the studies' personas are chosen to contrast ("fairness" against "income", "cautious"
against "risk-seeking"), none is neutral, and scoring one of them lets a model be judged
on its most human-like side. A figure that compares personas (a gradient) takes each of
its personas the same way.

The legacy per-figure scale against uniform random play (:func:`score_figures`,
:func:`game_fidelity`, :data:`SCALE`) is kept unchanged for callers that still use it;
it is gamed by constants (see issue 24) and should be replaced by :func:`game_score`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from subrational_gym._per_game import PerGame
from subrational_gym.errors import ParameterError
from subrational_gym.human_figures import (
    ACROSS_EXTRACTORS,
    EXTRACTORS,
    SCORED_POPULATION,
    SCORED_POPULATIONS,
    AcrossExtractor,
    Extractor,
    HumanFigure,
    figures_for,
)

__all__ = [
    "ACROSS_EXTRACTORS", "EXTRACTORS", "FIGURE_ENV_KWARGS",
    "INFORMATIVE_TOLERANCE", "SCALE", "SCORED_POPULATION", "SCORED_POPULATIONS",
    "SKILL_DEFINITION", "AcrossExtractor", "BestConstant", "Extractor", "FigureFit",
    "FigureScore", "GameScore", "HumanFigure", "best_constant", "chance_summary",
    "constant_table", "figures_for", "game_fidelity", "game_score", "overall_fidelity",
    "overall_over_seeds", "pool_summaries", "score_figures", "score_summaries",
]

Summary = Mapping[str, Any]


def __getattr__(name: str) -> Any:
    """``HUMAN_FIGURES``: every registered game's figures (see :mod:`.human_figures`)."""
    if name == "HUMAN_FIGURES":
        from subrational_gym import human_figures

        return human_figures.HUMAN_FIGURES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: Below this best-constant distance (mean squared miss) a game is not informative.
INFORMATIVE_TOLERANCE = 1e-4
#: Env settings the figures are scored on: each study's first variant, the plain game
#: (every figure so far describes it: acceptance without stakes changes, waiting without a
#: commitment device, the house-money gamble at even odds, start days without self-imposed
#: deadlines).
FIGURE_ENV_KWARGS: Mapping[str, Mapping[str, Any]] = PerGame(
    lambda study: dict(study.variants[0].env_kwargs))
#: The score's definition, in one sentence (for reports).
SKILL_DEFINITION = (
    "skill = 1 - D/D*, where D is the mean over a game's scored human figures of the squared "
    "distance from the policy's value to the published value or range, and D* the same for "
    "the best constant policy (one probability of the first action in every state, for "
    "every persona): 1 matches the figures, every constant scores <= 0, and a game whose "
    "figures a constant matches (D* < 1e-4) is not informative (no score).")
#: The grid of constant probabilities searched before the bounded Brent refinement.
_GRID = np.linspace(0.0, 1.0, 1001)


# ------------------------------------------------------------ records
@dataclass(frozen=True)
class FigureFit:
    """A policy's value against one human figure, beside the references'.

    Attributes:
        figure: The figure.
        value: The policy's value of the figure's quantity (None if undefined).
        error: Its distance to the human value or range (the worst possible miss when
            ``value`` is undefined).
        best_constant_value: The best constant policy's value.
        uniform_value: The uniform random policy's value.
        scored_on: Which policy was compared: ``"child-4"``, ``"None"`` (the population
            policy) or ``"pooled: a, b"``.
    """

    figure: HumanFigure
    value: float | None
    error: float
    best_constant_value: float | None
    uniform_value: float | None
    scored_on: str


@dataclass(frozen=True)
class BestConstant:
    """The constant policy that best matches a set of figures.

    Attributes:
        p: Probability of the game's first action in every state.
        first_action: That action's name (``"reject"``, ``"wait"``, ``"stop"``, ``"play"``).
        distance: Its mean squared error ``D*``.
        uniform_distance: The uniform random policy's (``p = 0.5``).
    """

    p: float
    first_action: str
    distance: float
    uniform_distance: float


@dataclass(frozen=True)
class GameScore:
    """A policy set's human fidelity in one game.

    Attributes:
        game: The game.
        skill: ``1 - distance / best_constant_distance``; None when not informative.
        informative: Whether some figure was scored and no constant matches them all.
        distance: The policy set's mean squared error ``D`` (None: no figure scored).
        best_constant_distance: ``D*`` on the same figures.
        best_constant_p: The best constant's probability of ``first_action``.
        first_action: The game's first action.
        uniform_distance: The uniform random policy's ``D``.
        uniform_skill: The uniform random policy's skill (<= 0; None if not informative).
        figures: The scored figures, with values.
        missing: The game's scored figures that could not be compared because no
            policy was given for their persona (and none for ``None``).
    """

    game: str
    skill: float | None
    informative: bool
    distance: float | None
    best_constant_distance: float | None
    best_constant_p: float | None
    first_action: str
    uniform_distance: float | None
    uniform_skill: float | None
    figures: tuple[FigureFit, ...]
    missing: tuple[HumanFigure, ...] = ()

    def __str__(self) -> str:
        """One line: skill, D, and the references."""
        def num(x: float | None) -> str:
            return "-" if x is None else f"{x:.4f}"

        skill = "not informative" if self.skill is None else f"skill {self.skill:+.3f}"
        return (f"{self.game}: {skill}; D {num(self.distance)}, best constant "
                f"(P({self.first_action}) = {num(self.best_constant_p)}) D* "
                f"{num(self.best_constant_distance)}, uniform D {num(self.uniform_distance)}"
                f" over {len(self.figures)} figures")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers, one entry per scored figure."""
        return {
            "game": self.game, "skill": self.skill, "informative": self.informative,
            "distance": self.distance, "best_constant_distance": self.best_constant_distance,
            "best_constant_p": self.best_constant_p, "first_action": self.first_action,
            "uniform_distance": self.uniform_distance, "uniform_skill": self.uniform_skill,
            "definition": SKILL_DEFINITION,
            "figures": [{"quantity": f.figure.quantity, "human": [f.figure.low, f.figure.high],
                         "value": f.value, "error": f.error,
                         "best_constant": f.best_constant_value, "uniform": f.uniform_value,
                         "scored_on": f.scored_on, "population": f.figure.population,
                         "verify": f.figure.verify, "source": f.figure.source}
                        for f in self.figures],
            "missing": [f.quantity for f in self.missing]}


# ------------------------------------------------------------ helpers
def pool_summaries(summaries: Sequence[Summary]) -> dict[str, Any]:
    """The behaviour of a population made of the given personas in equal shares.

    Occupancy-linear entries (rates, distributions, expected values) are averaged;
    gambling by round, a rate given the round is reached, is re-weighted by reaching it;
    the other conditional entries (``mean_start_day``, ``mean_finish_day``) and
    non-numeric ones are dropped (set to None).

    >>> pool_summaries([{"waited_full": 0.2, "minute": [1, 2]},
    ...                 {"waited_full": 0.6, "minute": [1, 2]}])["waited_full"]
    0.4

    Raises:
        ParameterError: for an empty sequence.
    """
    if not summaries:
        raise ParameterError("pool_summaries got no summaries; expected at least one")
    pooled: dict[str, Any] = {}
    for key in summaries[0]:
        values = [s.get(key) for s in summaries]
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            pooled[key] = None
            continue
        pooled[key] = arr.mean(axis=0).tolist() if arr.ndim > 1 else float(arr.mean())
    if "gamble_probability" in pooled and pooled["gamble_probability"] is not None:
        reach = np.array([s["reach_probability"] for s in summaries])
        gamble = np.array([s["gamble_probability"] for s in summaries])
        total = reach.sum(axis=0)
        pooled["gamble_probability"] = np.where(
            total > 1e-12, (reach * gamble).sum(axis=0) / np.maximum(total, 1e-300),
            gamble.mean(axis=0)).tolist()
    for key in ("mean_start_day", "mean_finish_day"):
        if key in pooled:
            pooled[key] = None
    return pooled


def _study(game: str) -> Any:
    from subrational_gym.studies import STUDIES

    if game not in STUDIES:
        raise ParameterError(f"unknown game {game!r}; expected one of {list(STUDIES)}")
    return STUDIES[game]


@lru_cache(maxsize=8)
def _env(game: str) -> Any:
    from subrational_gym import make_env

    return make_env(_study(game).env_id, **FIGURE_ENV_KWARGS[game])


def constant_table(game: str, p: float) -> np.ndarray:
    """The constant policy: probability ``p`` of the first action in every state.

    Raises:
        ParameterError: for ``p`` outside [0, 1] or an unknown game.
    """
    if not 0.0 <= p <= 1.0:
        raise ParameterError(f"constant probability p={p!r} must lie in [0, 1]")
    model = _env(game).tabular_model()
    if model.n_actions != 2:  # every game so far has two actions
        rest = (1.0 - p) / (model.n_actions - 1)
        return np.array([[p] + [rest] * (model.n_actions - 1)] * model.n_states)
    return np.tile([p, 1.0 - p], (model.n_states, 1))


@lru_cache(maxsize=8192)
def _constant_summary(game: str, p: float) -> Summary:
    from subrational_gym.evaluation import behaviour_summary

    return behaviour_summary(_env(game), constant_table(game, p))


def chance_summary(game: str) -> Mapping[str, Any]:
    """Behaviour summary of the uniform random policy in ``game`` (the figures' settings)."""
    return _constant_summary(game, 0.5)


def _value(figure: HumanFigure, persona_summaries: Mapping[str, Summary] | Summary
           ) -> float | None:
    if figure.across:
        return ACROSS_EXTRACTORS[figure.key](persona_summaries)  # type: ignore[arg-type]
    return EXTRACTORS[figure.key](persona_summaries)


def _error(figure: HumanFigure, value: float | None) -> float:
    d = figure.distance(value)
    return figure.worst_distance if d is None else d


def _constant_value(figure: HumanFigure, summary: Summary) -> float | None:
    return _value(figure, {p: summary for p in figure.across} if figure.across else summary)


def _constant_distance(game: str, figures: tuple[HumanFigure, ...], p: float) -> float:
    summary = _constant_summary(game, float(p))
    return float(np.mean([_error(f, _constant_value(f, summary)) ** 2 for f in figures]))


@lru_cache(maxsize=256)
def best_constant(game: str, figures: tuple[HumanFigure, ...] | None = None) -> BestConstant:
    """The constant policy with the smallest distance ``D`` to ``figures``.

    Searched on a grid of 1001 probabilities in [0, 1], then refined by a bounded Brent
    search between the best grid point's neighbours (the better of the two is kept).

    Args:
        game: The game.
        figures: The figures (default: the game's scored figures).

    Examples are in the study modules (``subrational_gym.studies.<game>``).
    """
    from scipy.optimize import minimize_scalar

    figures = figures if figures is not None else tuple(f for f in figures_for(game)
                                                        if f.scored)
    if not figures:
        raise ParameterError(f"best_constant got no figures for {game!r}; expected at "
                             f"least one (see figures_for({game!r}))")
    values = np.array([_constant_distance(game, figures, p) for p in _GRID])
    i = int(np.argmin(values))
    p, d = float(_GRID[i]), float(values[i])
    lo, hi = _GRID[max(i - 1, 0)], _GRID[min(i + 1, len(_GRID) - 1)]
    refined = minimize_scalar(lambda q: _constant_distance(game, figures, q),
                              bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    if refined.success and refined.fun < d:
        p, d = float(refined.x), float(refined.fun)
    model = _env(game).tabular_model()
    first = _env(game).action_labels(model.observations[0])[0]
    return BestConstant(p=p, first_action=first, distance=d,
                        uniform_distance=_constant_distance(game, figures, 0.5))


# ------------------------------------------------------------ the score
def _summaries(game: str, policies: Mapping[str | None, Any]) -> dict[str | None, Summary]:
    from subrational_gym.evaluation import behaviour_summary, policy_table

    study = _study(game)
    if not isinstance(policies, Mapping) or not policies:
        raise ParameterError(
            f"game_score needs a non-empty mapping {{persona name or None: policy}}, got "
            f"{policies!r}; pass {{None: policy}} for a policy that stands for everyone")
    unknown = [k for k in policies if k is not None and k not in study.persona_names]
    if unknown:
        raise ParameterError(
            f"{game} has no persona {unknown[0]!r}; expected None (the population) or one "
            f"of {list(study.persona_names)}")
    env = _env(game)
    model = env.tabular_model()
    out: dict[str | None, Summary] = {}
    for name, policy in policies.items():
        try:
            out[name] = behaviour_summary(env, policy_table(model, policy))
        except (ValueError, ParameterError) as err:
            raise ParameterError(
                f"cannot score the policy for {name!r} in {game}: {err}. The human figures "
                f"of {game} are scored on the env make_env({study.env_id!r}, "
                f"**{dict(FIGURE_ENV_KWARGS[game])}); build the policy on that env") from err
    return out


def _resolve(figure: HumanFigure, summaries: Mapping[str | None, Summary],
             personas: Sequence[str]) -> tuple[Any, str] | None:
    """The behaviour a figure is compared with, and its label; None if not given."""
    def one(name: str) -> tuple[Summary, str] | None:
        if name in summaries:
            return summaries[name], name
        if None in summaries:
            return summaries[None], "None"
        return None

    if figure.across:
        found = [one(p) for p in figure.across]
        if any(f is None for f in found):
            return None
        return ({p: f[0] for p, f in zip(figure.across, found, strict=True)},  # type: ignore[index]
                "across " + ", ".join(f"{p}={f[1]}" for p, f in zip(figure.across, found,  # type: ignore[index]
                                                                      strict=True)))
    if figure.persona is not None:
        return one(figure.persona)
    if None in summaries:
        return summaries[None], "None"
    if all(p in summaries for p in personas):
        return pool_summaries([summaries[p] for p in personas]), "pooled: " + ", ".join(personas)
    return None


def game_score(game: str, policies: Mapping[str | None, Any], *,
               figures: Sequence[HumanFigure] | None = None) -> GameScore:
    """Human fidelity of a policy set in ``game``, as a skill score against constants.

    Args:
        game: The game (a key of :data:`~subrational_gym.studies.STUDIES`).
        policies: ``{persona name or None: policy}``; ``None`` stands for the whole
            population. A policy is a :class:`~subrational_gym.policies.TabularPolicy`, a
            probability table, or anything
            :func:`~subrational_gym.evaluation.policy_table` accepts, on the game's env
            with :data:`FIGURE_ENV_KWARGS` (the plain game).
        figures: The figures to score (default: the game's scored figures).

    Returns:
        The score record; ``.skill`` is None when the game is not informative for the
        figures that could be compared (or none could).

    Raises:
        ParameterError: for an unknown game or persona, or a policy that does not fit
            the game's env.

    Examples are in the study modules (``subrational_gym.studies.<game>``).
    """
    return score_summaries(game, _summaries(game, policies), figures=figures)


def score_summaries(game: str, summaries: Mapping[str | None, Summary], *,
                    figures: Sequence[HumanFigure] | None = None) -> GameScore:
    """:func:`game_score` from behaviour summaries instead of policies.

    For callers that keep :func:`~subrational_gym.evaluation.behaviour_summary` results
    rather than policies (the replication's records). The summaries must come from the
    env :func:`game_score` uses (``FIGURE_ENV_KWARGS``: the plain game).

    Args:
        game: The game.
        summaries: ``{persona name or None: behaviour summary}``, matched to figures as
            in :func:`game_score`.
        figures: The figures to score (default: the game's scored figures).

    Raises:
        ParameterError: for an unknown game or persona.

    Examples are in the study modules (``subrational_gym.studies.<game>``).
    """
    study = _study(game)
    unknown = [k for k in summaries if k is not None and k not in study.persona_names]
    if unknown:
        raise ParameterError(
            f"{game} has no persona {unknown[0]!r}; expected None (the population) or one "
            f"of {list(study.persona_names)}")
    figures = tuple(figures) if figures is not None else tuple(
        f for f in figures_for(game) if f.scored)
    wrong = [f for f in figures if f.game != game]
    if wrong:
        raise ParameterError(f"figure {wrong[0].quantity!r} is about {wrong[0].game}, not "
                             f"{game}; pass figures_for({game!r}) or a subset of it")
    found, missing = [], []
    for figure in figures:
        resolved = _resolve(figure, summaries, study.persona_names)
        (found if resolved is not None else missing).append((figure, resolved))
    env = _env(game)
    first = env.action_labels(env.tabular_model().observations[0])[0]
    if not found:
        return GameScore(game, None, False, None, None, None, first, None, None, (),
                         tuple(f for f, _ in missing))
    scored = tuple(f for f, _ in found)
    best = best_constant(game, scored)
    best_summary, uniform = _constant_summary(game, best.p), _constant_summary(game, 0.5)
    fits = []
    for figure, (behaviour, label) in found:  # type: ignore[misc]
        value = _value(figure, behaviour)
        fits.append(FigureFit(figure, value, _error(figure, value),
                              _constant_value(figure, best_summary),
                              _constant_value(figure, uniform), label))
    distance = float(np.mean([f.error**2 for f in fits]))
    informative = best.distance >= INFORMATIVE_TOLERANCE
    return GameScore(
        game=game, skill=1.0 - distance / best.distance if informative else None,
        informative=informative, distance=distance, best_constant_distance=best.distance,
        best_constant_p=best.p, first_action=best.first_action,
        uniform_distance=best.uniform_distance,
        uniform_skill=1.0 - best.uniform_distance / best.distance if informative else None,
        figures=tuple(fits), missing=tuple(f for f, _ in missing))


# ------------------------------------------------------------ legacy scale
#: The legacy scale, in one sentence (for reports that still use :func:`score_figures`).
SCALE = ("Each figure scores max(0, 1 - d/d0), where d is the policy's distance to the human "
         "value and d0 a uniform random policy's: 1 matches the human figure, 0 is no closer "
         "than chance; a game's score averages the figures of one population, the overall "
         "score averages the games.")


@dataclass(frozen=True)
class FigureScore:
    """A policy's value and legacy score against one human figure.

    Attributes:
        figure: The figure.
        value: The policy's value of the figure's quantity.
        chance: A uniform random policy's value.
        score: ``max(0, 1 - d / d0)`` (None where undefined or chance already matches).
    """

    figure: HumanFigure
    value: float | None
    chance: float | None
    score: float | None


def score_figures(
    game: str, summaries: Mapping[str | None, Mapping[str, Any]],
    chance: Mapping[str, Any] | None = None,
) -> list[FigureScore]:
    """Legacy: score behaviour summaries against the figures of ``game``, figure by figure.

    Superseded by :func:`game_score` (constants game this scale: issue 24).

    Args:
        game: The game.
        summaries: Behaviour summary per persona name; the entry under ``None`` (or the
            only entry) is used for population figures. A persona's figure is scored only
            on that persona's summary, a comparison of personas only when every one of
            them has a summary; figures without their summaries are skipped.
        chance: The uniform random policy's summary (default: computed for the game's
            default settings).
    """
    chance = chance if chance is not None else chance_summary(game)
    default = summaries.get(None)
    if default is None and len(summaries) == 1:
        default = next(iter(summaries.values()))
    scores = []
    for figure in figures_for(game):
        if figure.across:
            if not all(p in summaries for p in figure.across):
                continue
            value = _value(figure, {p: summaries[p] for p in figure.across})
            at_chance = _constant_value(figure, chance)
        else:
            summary = default if figure.persona is None else summaries.get(figure.persona)
            if summary is None:
                continue
            value, at_chance = _value(figure, summary), _value(figure, chance)
        scores.append(FigureScore(figure, value, at_chance, figure.score(value, at_chance)))
    return scores


def game_fidelity(scores: Sequence[FigureScore]) -> float | None:
    """Legacy: mean score over the scored figures that could be scored (else None)."""
    values = [s.score for s in scores if s.score is not None and s.figure.scored]
    return float(np.mean(values)) if values else None


def overall_fidelity(per_game: Mapping[str, float | None]) -> float | None:
    """Mean of the per-game scores that exist (None: not informative, left out)."""
    values = [v for v in per_game.values() if v is not None]
    return float(np.mean(values)) if values else None


def overall_over_seeds(by_seed: Mapping[Any, Mapping[str, float]],
                       games: Sequence[str]) -> dict[str, float] | None:
    """The overall score over seeds: IQM, 95% bootstrap interval, worst seed, count.

    Args:
        by_seed: Per seed, the game scores of the policies trained with that seed.
        games: The games the family is scored on; a seed counts only where it scored
            every one of them (so seeds are compared on the same figures).

    Returns:
        ``{"iqm", "ci_low", "ci_high", "worst", "n"}``, or None when no seed scored every
        game.

    >>> overall_over_seeds({0: {"a": 0.2, "b": 0.4}, 1: {"a": 0.5}}, ["a", "b"])["worst"]
    0.30000000000000004
    """
    from subrational_gym.aggregate import aggregate

    values = [float(np.mean([scores[g] for g in games])) for scores in by_seed.values()
              if all(scores.get(g) is not None for g in games)]
    if not values:
        return None
    agg = aggregate(values)
    return {"iqm": agg.iqm, "ci_low": agg.ci_low, "ci_high": agg.ci_high,
            "worst": min(values), "n": len(values)}
