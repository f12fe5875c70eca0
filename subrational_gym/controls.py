"""Known answers: the controls every finding's verdict rule must get right.

For each game, synthetic personas whose truth is known, sampled as a study would see
them (episodes drawn from each persona's policy):

- **theory personas, human-size effect**: the effect the finding claims, built from the
  fitted families (``reproduced``);
- **outside the families**: the same claim carried by behaviour no fitted family
  produces (a Fehr-Schmidt *population*, constant hazards, constant gamble rates, naive
  students under the sophisticated fit) (``reproduced``);
- **persona-blind, human-like noise**: one theory agent with choice noise plays every
  persona (``not reproduced``);
- **reversed effect**: the theory personas with their roles swapped (``not reproduced``);
- **effect below the SESOI**: a real difference smaller than the smallest effect of
  interest, at five times the episodes (``not reproduced``);
- **state- and persona-blind constant** and **uniform random** (``not reproduced``, or
  ``inconclusive`` where the finding is decided by a structural parameter that random
  choices do not identify: stated per row).

Each game's builder, and any controls of its own, live in its study module
(:attr:`~subrational_gym.studies.Study.controls_fn`); this module samples and judges them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from subrational_gym import make_env
from subrational_gym._per_game import PerGame
from subrational_gym.errors import ParameterError
from subrational_gym.policies import TabularPolicy

__all__ = ["CONTROL_NAMES", "EXPECTED", "Control", "controls", "flat_policy", "known_answers",
           "known_answers_markdown", "levels", "pairs", "standard_expected", "uniform_policy"]

#: The self-imposed-deadline variant's env kwargs (kept for callers of ``controls.COMMIT``).
COMMIT = {"self_imposed_deadline": True}
#: Episodes of the below-SESOI controls, as a multiple of the others'.
SMALL_EFFECT_EPISODES = 5
#: The controls every game has, in the order they are reported.
CONTROL_NAMES = ("theory personas, human-size effect", "outside the fitted families",
                 "persona-blind, human-like noise", "reversed effect", "effect below the SESOI",
                 "state- and persona-blind constant", "uniform random")
#: Why a control expects "inconclusive" rather than "not reproduced".
WHY_INCONCLUSIVE = ("beta is not identified by choices that ignore the state, so the "
                    "structural effect cannot be bounded: the data cannot tell")

#: A control: its name and, per persona key of the game's hypothesis, a policy.
Control = tuple[str, Mapping[Any, Any]]


def standard_expected(*, structural: bool = False,
                      extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The verdict each of :data:`CONTROL_NAMES` must get, then the game's own controls.

    Args:
        structural: The finding is decided by a structural parameter that state-blind
            choices do not identify: the constant and uniform controls expect
            ``inconclusive`` (:data:`WHY_INCONCLUSIVE`).
        extra: The game's further controls and their verdicts.
    """
    blind = "inconclusive" if structural else "not reproduced"
    return {CONTROL_NAMES[0]: "reproduced", CONTROL_NAMES[1]: "reproduced",
            **{name: "not reproduced" for name in CONTROL_NAMES[2:5]},
            CONTROL_NAMES[5]: blind, CONTROL_NAMES[6]: blind, **dict(extra or {})}


#: The verdict each control must get, per game (each game's study holds its own).
EXPECTED: Mapping[str, Mapping[str, str]] = PerGame(lambda study: study.expected)


def uniform_policy(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> TabularPolicy:
    """Every action with equal probability in every state."""
    model = make_env(env_id, **dict(env_kwargs or {})).tabular_model()
    return TabularPolicy(model, np.full((model.n_states, model.n_actions), 1 / model.n_actions),
                         name="uniform random")


def flat_policy(env_id: str, p_second: float,
                env_kwargs: Mapping[str, Any] | None = None) -> TabularPolicy:
    """The same probabilities in every state (persona- and state-blind)."""
    model = make_env(env_id, **dict(env_kwargs or {})).tabular_model()
    probs = np.tile([1 - p_second, p_second], (model.n_states, 1))
    return TabularPolicy(model, probs, name=f"flat P(action 1)={p_second:g}")


def pairs(first: str, second: str, rows: Sequence[tuple[str, Any, Any]]) -> list[Control]:
    """Controls of a two-persona hypothesis: ``(name, policy of first, policy of second)``."""
    return [(name, {first: a, second: b}) for name, a, b in rows]


def levels(values: Sequence[float], rows: Sequence[tuple[str, Callable[[float], Any]]]
           ) -> list[Control]:
    """Controls of a hypothesis over attribute levels: ``(name, level -> policy)``."""
    return [(name, {x: make(x) for x in values}) for name, make in rows]


def controls(n_episodes: int = 200, seed: int = 0, games: Sequence[str] | None = None, *,
             planned: bool = True) -> dict[str, dict[str, dict[str, Any]]]:
    """For each game, the sampled data of each control, keyed as the hypothesis takes them.

    Args:
        n_episodes: Episodes per persona, or the study's planned number when that is
            more (:meth:`~subrational_gym.studies.Study.judged_episodes`); the below-SESOI
            controls get ``SMALL_EFFECT_EPISODES`` times as many.
        seed: Seed of the draws; each persona gets its own stream.
        games: The games (default: every registered game).
        planned: False: exactly ``n_episodes`` per persona, even where the study plans
            more (to show what the planned number buys).

    Returns:
        ``{game: {control: keyword arguments of the game's hypothesis}}``.
    """
    from subrational_gym.inference import ActionCounts
    from subrational_gym.studies import STUDIES

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for game in _check_games(games):
        out[game] = {}
        for c, (name, pols) in enumerate(STUDIES[game].controls_fn()):
            n = _episodes(game, name, n_episodes, planned)
            data = {k: ActionCounts.sample(pol, n, seed=seed + 1000 * c + 101 * i)
                    for i, (k, pol) in enumerate(pols.items())}
            key = STUDIES[game].controls_key
            out[game][name] = {key: data} if key else data
    return out


def _episodes(game: str, control: str, n_episodes: int, planned: bool) -> int:
    """Episodes per persona a control is drawn with (see :func:`controls`)."""
    from subrational_gym.studies import STUDIES

    n = STUDIES[game].judged_episodes(n_episodes) if planned else n_episodes
    return n * (SMALL_EFFECT_EPISODES if control == "effect below the SESOI" else 1)


def _check_games(games: Sequence[str] | None) -> list[str]:
    from subrational_gym.studies import STUDIES

    games = list(games or STUDIES)
    for game in games:
        if game not in STUDIES:
            raise ParameterError(f"unknown game {game!r}; expected one of {list(STUDIES)}")
    return games


def known_answers(n_episodes: int = 200, seed: int = 0, games: Sequence[str] | None = None,
                  *, planned: bool = True) -> list[dict[str, Any]]:
    """The known-answer table: every hypothesis on every control, with the verdict due.

    Args:
        n_episodes: Episodes per persona (see :func:`controls`).
        seed: Seed of the draws.
        games: The games (default: every registered game).
        planned: False: exactly ``n_episodes`` per persona (see :func:`controls`).

    Returns:
        One row per (game, control): the episodes per persona, the verdict, the one
        expected, whether they agree, the deciding effect with its interval and SESOI,
        the bottom line and the reasons.
    """
    from subrational_gym.hypotheses import HYPOTHESES

    rows = []
    for game, data in controls(n_episodes, seed, games, planned=planned).items():
        for control, kwargs in data.items():
            v = HYPOTHESES[game](**kwargs)
            expected = EXPECTED[game][control]
            rows.append({"game": game, "control": control,
                         "episodes": _episodes(game, control, n_episodes, planned),
                         "verdict": v.verdict,
                         "expected": expected, "as_expected": v.verdict == expected,
                         "statistic": v.statistic, "value": v.value,
                         "identified": v.numbers["effect"]["identified"],
                         "interval": list(v.interval), "sesoi": v.sesoi,
                         "bottom_line": v.bottom_line, "reasons": v.reasons})
    return rows


def known_answers_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """The known-answer table as Markdown: each control's verdict beside the one due."""
    lines = ["| game | control | verdict | expected | as expected | effect [90% interval] "
             "| SESOI | episodes per persona |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lo, hi = r["interval"]
        effect = (f"{r['value']:+.3g} [{lo:+.3g}, {hi:+.3g}]" if r.get("identified", True)
                  else f"not identified [{lo:+.3g}, {hi:+.3g}]")
        lines.append(
            f"| {r['game']} | {r['control']} | {r['verdict']} | {r['expected']} | "
            f"{'yes' if r['as_expected'] else '**NO**'} | {effect} | {r['sesoi']:g} | "
            f"{r.get('episodes', '-')} |")
    return "\n".join(lines)
