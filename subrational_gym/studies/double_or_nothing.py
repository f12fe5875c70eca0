"""Double or nothing's study: the cautious against the risk-seeking gambler.

The finding: the cautious persona gambles less than the risk-seeking one, and is more
loss-averse (judged in the odds variant, where loss aversion is identified). Human
figures: the house-money effect (Thaler and Johnson 1990).

Human-fidelity examples (:mod:`subrational_gym.human_data`): a constant matches the
scored figure, so the game is not informative for constants.

>>> from subrational_gym.human_data import best_constant, constant_table, game_score
>>> best = best_constant("double_or_nothing")
>>> round(best.p, 3), best.first_action, best.distance < 1e-8
(0.3, 'stop', True)
>>> game_score("double_or_nothing", {None: constant_table("double_or_nothing", 0.3)}).skill
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from subrational_gym import make_env, policies
from subrational_gym.controls import Control, flat_policy, pairs, standard_expected, uniform_policy
from subrational_gym.envs.double_or_nothing import WIDE_WIN_PROBABILITIES
from subrational_gym.human_figures import HumanFigure
from subrational_gym.policies import TabularPolicy
from subrational_gym.registration import ENV_IDS
from subrational_gym.studies import PersonaSpec, Sesoi, Study, Variant, register_study
from subrational_gym.verdicts import planned_episodes

GAME = "double_or_nothing"
#: The odds variant (one win probability per episode, 0.05 to 0.95) identifies loss
#: aversion, which a single probability cannot: the finding is judged there.
ODDS = {"win_probabilities": WIDE_WIN_PROBABILITIES}
Summary = Mapping[str, Any]


# ------------------------------------------------------------------ behaviour
def summary(game: Any, model: Any, probs: np.ndarray, occ: np.ndarray,
            meanings: list[Any]) -> dict[str, Any]:
    """The behaviour summary: gambling, reaching each round, winnings.

    Probability of gambling in each round (given the round is reached), of reaching it,
    and the expected winnings taken home; in the odds variant the per-round figures pool
    the probabilities (weighted by how often each round is reached at each), and
    ``win_probabilities``, ``gamble_probability_by_odds`` and ``reach_probability_by_odds``
    (keyed by the probability, e.g. ``"0.3"``) give them at each win probability.
    """
    r = game.max_rounds
    odds = getattr(game, "win_probabilities", None)
    by_odds: dict[str, Any] = {}
    if odds is None:
        reach = np.zeros(r)
        gamble = np.zeros(r)
        for s, m in enumerate(meanings):
            if m.status == "playing":
                reach[m.t] = occ[s]
                gamble[m.t] = probs[s, 1]
    else:
        index = {p: i for i, p in enumerate(odds)}
        reach_at = np.zeros((len(odds), r))
        gamble_at = np.zeros((len(odds), r))
        for s, m in enumerate(meanings):
            if m.status == "playing":
                reach_at[index[m.win_probability], m.t] = occ[s]
                gamble_at[index[m.win_probability], m.t] = probs[s, 1]
        reach = reach_at.sum(axis=0)
        # Pooled over the probabilities as they are met; a round never reached averages
        # them equally.
        gamble = np.where(reach > 0, (reach_at * gamble_at).sum(axis=0)
                          / np.where(reach > 0, reach, 1.0), gamble_at.mean(axis=0))
        by_odds = {
            "win_probabilities": list(odds),
            "gamble_probability_by_odds": {f"{p:g}": gamble_at[i].tolist()
                                           for i, p in enumerate(odds)},
            "reach_probability_by_odds": {f"{p:g}": reach_at[i].tolist()
                                          for i, p in enumerate(odds)},
        }
    winnings: dict[float, float] = {}
    for s, m in enumerate(meanings):
        if m.t == model.horizon:
            key = m.winnings if m.status == "cashed_out" else 0.0
            winnings[key] = winnings.get(key, 0.0) + float(occ[s])
    stop_round = [float(reach[t] * (1 - gamble[t])) for t in range(r)]
    return {
        "round": list(range(1, r + 1)),
        "gamble_probability": gamble.tolist(),
        "reach_probability": reach.tolist(),
        "stop_probability_by_round": stop_round,
        # One gamble per round reached and gambled in.
        "expected_rounds_gambled": float(reach @ gamble),
        "expected_winnings": float(sum(k * v for k, v in winnings.items())),
        "winnings_distribution": {f"{k:g}": v for k, v in sorted(winnings.items())},
        **by_odds,
    }


def _headline(s: Summary) -> str:
    g = " ".join(f"{p:.2f}" for p in s["gamble_probability"])
    return f"P(gamble) by round: {g}; E[winnings] ${s['expected_winnings']:.2f}"


def _contrast() -> list[tuple[dict[str, Any], TabularPolicy]]:
    env = make_env(ENV_IDS[GAME])
    return [({}, policies.income_maximiser(env)), ({}, policies.prospect_theory_gambler(env)),
            ({}, policies.prospect_theory_gambler(env, planning="naive", reference="zero"))]


# ------------------------------------------------------------------ hypothesis
SESOI = Sesoi(
    0.135, "difference in the share gambling at the first decision",
    "half the house-money gap, a difference in risk taking people show between two "
    "framings of the same coin flip: 70% against 43% gamble (27 points; Thaler and "
    "Johnson 1990)")

#: Episodes per persona: one first decision each, a 0/1 outcome. At the demo budget's
#: 200, alike personas get "not reproduced" with probability at most 85%.
MIN_EPISODES = planned_episodes(SESOI.value)

CRITERION = (
    "In the odds variant (win probabilities 0.05 to 0.95), effect: the share of "
    "risk-seeking episodes that gamble at the first decision minus the cautious "
    "persona's, from one pooled regression. Not reproduced when its 90% interval lies "
    f"below the SESOI {SESOI.value:g}; reproduced when it lies "
    "above 0 and, in one joint prospect-theory fit, the cautious persona's loss aversion "
    "exceeds the risk-seeking one's (90% interval above 0); inconclusive otherwise.")


def rule(cautious: Any, risk_seeking: Any, *, seed: int = 0) -> Any:
    """The cautious persona gambles less than the risk-seeking one, being more loss-averse.

    Effect: the share of risk-seeking episodes that gamble at the first decision minus
    the cautious persona's (pooled regression; in the odds variant, pooled over the win
    probabilities). Not reproduced when its 90% interval lies below
    ``SESOI["double_or_nothing"]``; reproduced when it lies above 0 and, in one joint
    prospect-theory fit of both personas (:func:`~subrational_gym.inference.joint.
    attribute_effect`), the cautious persona's loss aversion exceeds the risk-seeking
    one's (the 90% interval of the difference above 0); inconclusive otherwise. Loss
    aversion is identified only when the data hold several win probabilities (the odds
    variant, 0.05 to 0.95); at even odds alone the condition cannot hold.
    """
    from subrational_gym.hypotheses import decision_counts, make_verdict
    from subrational_gym.inference.joint import attribute_effect
    from subrational_gym.verdicts import EFFECT_LEVEL, behaviour_effect

    def first(m: Any) -> bool:
        return m.t == 0

    effect = behaviour_effect(
        {"risk_seeking": decision_counts(risk_seeking, first),
         "cautious": decision_counts(cautious, first)},
        {"risk_seeking": 1.0, "cautious": 0.0}, sesoi=SESOI.value,
        name="share gambling at the first decision, risk-seeking minus cautious persona")
    joint = attribute_effect("prospect_theory", {"cautious": cautious,
                                                 "risk_seeking": risk_seeking},
                             {"cautious": 1.0, "risk_seeking": 0.0}, "loss_aversion",
                             level=EFFECT_LEVEL, seed=seed)
    (lo, hi), ordered = joint.interval, joint.interval[0] > 0
    reasons = [
        "loss aversion, cautious minus risk-seeking (joint fit): "
        + (f"{joint.slope:+.2f} [{lo:+.2f}, {hi:+.2f}]" if joint.bounded
           else f"not identified [{lo:+.2f}, {hi:+.2f}]")
        + "; each persona's own: " + ", ".join(
            f"{p} [{v['interval'][0]:.2f}, {v['interval'][1]:.2f}]"
            for p, v in joint.separate.items())]
    return make_verdict(
        GAME,
        "The cautious persona gambles less than the risk-seeking one, and is more "
        "loss-averse.",
        effect, None if ordered else
        "the cautious persona is not shown more loss-averse (loss-aversion difference "
        f"[{lo:+.2f}, {hi:+.2f}])", reasons, {"joint_loss_aversion": joint.to_dict()},
        "the two personas gamble alike")


# ------------------------------------------------------------------ controls
def controls() -> list[Control]:
    """The known answers, in the odds variant where the finding is judged."""
    d = ENV_IDS[GAME]

    def pt(loss_aversion: float = 2.25, **kwargs: Any) -> TabularPolicy:
        return policies.prospect_theory_gambler(d, loss_aversion=loss_aversion,
                                                temperature=2.0, env_kwargs=ODDS, **kwargs)

    # Two loss-averse gamblers of different strength, as people are.
    cautious, bold = pt(3.0), pt(1.3)
    return pairs("cautious", "risk_seeking", [
        ("theory personas, human-size effect", cautious, bold),
        # A gamble rate that ignores the odds is no prospect-theory agent; the joint fit
        # still reads the cautious one's refusals as more loss aversion.
        ("outside the fitted families", flat_policy(d, 0.2, ODDS), flat_policy(d, 0.6, ODDS)),
        ("persona-blind, human-like noise", pt(), pt()),
        ("reversed effect", bold, cautious),
        ("effect below the SESOI", flat_policy(d, 0.40, ODDS), flat_policy(d, 0.45, ODDS)),
        ("state- and persona-blind constant", flat_policy(d, 0.4, ODDS),
         flat_policy(d, 0.4, ODDS)),
        ("uniform random", uniform_policy(d, ODDS), uniform_policy(d, ODDS)),
    ])


# ------------------------------------------------------------------ human figures
HOUSE_MONEY = "adults after a prior gain (house money, the game's framing)"

FIGURES: tuple[HumanFigure, ...] = (
    HumanFigure(
        GAME, "gambling the winnings after a prior gain (house money)",
        0.70, 0.70,
        "Thaler and Johnson 1990 (Management Science 36:643): after winning $30, 70% accept "
        "a coin flip to win or lose $9", "gamble_first_round",
        note="every prompt says 'You have won $10 so far': the matched framing; stakes "
        "differ (the game risks all of the winnings)", population=HOUSE_MONEY),
    HumanFigure(
        GAME, "taking a fair gamble without a prior gain", 0.43, 0.43,
        "Thaler and Johnson 1990 (Management Science 36:643): 43% gamble facing the "
        "equivalent choice without the prior gain", "gamble_first_round",
        note="risk aversion for gains (Kahneman and Tversky 1979)",
        population="adults without a prior gain (context: another framing)"),
)


# ------------------------------------------------------------------ the study
_PT = {"curvature": 0.88, "weighting": 0.65, "temperature": 2.0}


def _gambler(loss_aversion: float) -> tuple[str, dict[str, float]]:
    return ("prospect_theory", {**_PT, "loss_aversion": loss_aversion})


STUDY = register_study(Study(
    game=GAME,
    title="Double or nothing: gambling, by round",
    personas=(
        PersonaSpec("cautious", "a cautious adult who dislikes taking risks", {"risk": "averse"}),
        PersonaSpec("risk-seeking", "an adult who loves taking risks for a bigger prize",
                    {"risk": "seeking"}),
    ),
    variants=(Variant("plain"), Variant("odds", ODDS)),
    hypothesis_variant="odds",
    default_persona="cautious",
    axes=("round", "P(gamble | still playing)"),
    key_metric_name="expected rounds gambled",
    summary_fn=summary,
    curve_fn=lambda s: (s["round"], s["gamble_probability"]),
    key_metric_fn=lambda s: float(s["expected_rounds_gambled"]),
    headline_fn=_headline,
    references_fn=lambda env: [policies.income_maximiser(env),
                               policies.prospect_theory_gambler(env)],
    contrast_fn=_contrast,
    rule=rule,
    judge_fn=lambda st, data, seed: rule(
        st.role(data, "risk", "averse"), st.role(data, "risk", "seeking"), seed=seed),
    sesoi=SESOI,
    criterion=CRITERION,
    controls_fn=controls,
    controls_key=None,
    expected=standard_expected(),
    figures=FIGURES,
    extractors={"gamble_first_round": lambda s: s["gamble_probability"][0]},
    scored_populations=(HOUSE_MONEY,),
    scored_population=HOUSE_MONEY,
    prompt_version="double_or_nothing-2",
    scene="{c} is playing a double-or-nothing game.",
    chat_scene="You are playing a double-or-nothing game.",
    planted={"cautious": _gambler(2.25), "risk-seeking": _gambler(0.5)},
    planted_outside={"cautious": ("constant", {"p": 0.2}),
                     "risk-seeking": ("constant", {"p": 0.6})},
    # Two loss-averse gamblers of different strength, as people are.
    planted_sizes={"cautious": _gambler(3.0), "risk-seeking": _gambler(1.3)},
    families=("risk_neutral", "prospect_theory", "prospect_theory_naive",
              "prospect_theory_house_money"),
    min_episodes=MIN_EPISODES,
))
