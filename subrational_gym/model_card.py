"""A behavioural model card: which model explains each persona, with what parameters.

For the choices of each persona of a model (an LLM's demonstrations, say), the card
gives the best-fitting behavioural family of the game (lowest BIC, see
:func:`subrational_gym.inference.compare`), its BIC weight (the criterion it is ranked by),
whether the runner-up is separated from it, its identified parameters with 95%
profile-likelihood intervals (an unidentified one shows its interval only), what the data
cannot tell apart, and how close the persona's behaviour is to the published human
figures. It is what a researcher comparing two models reads first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from subrational_gym.inference import FAMILIES, ActionCounts, bootstrap_lr_test, compare, fit

#: The present-bias test of the card: exponential discounting inside naive beta-delta.
PRESENT_BIAS = ("exponential", "beta_delta_naive")
#: Draws of its parametric bootstrap (p resolves 0.01; draws stop after 5 exceedances).
PRESENT_BIAS_DRAWS = 99


@dataclass(frozen=True)
class CardEntry:
    """One persona of one game variant on the card.

    Attributes:
        game: The game.
        variant: The game variant (``"plain"`` or ``"self_imposed_deadline"``).
        persona: The persona.
        n_obs: Decisions the fit rests on.
        best_family: The family with the lowest BIC.
        bic_weight: Its BIC weight among the game's families (``exp(-dBIC/2)``
            normalised), the criterion it is ranked by.
        separated: Whether it beats the runner-up by at least 2 BIC points.
        params: Its fitted parameters.
        ci: Their 95% profile-likelihood intervals.
        identified: Per parameter, whether the data bound it on both sides.
        delta_bic: Every family's BIC minus the best one's.
        notes: What the data cannot tell apart, in words.
        human: The persona's behaviour against the human figures that apply to it:
            quantity, human value (low, high), the persona's value and its score.
        present_bias: In games with time preferences, whether naive beta-delta rejects
            every exponential model with its own noise, by the likelihood-ratio test with
            a parametric-bootstrap null (calibrated where the chi-bar reference is not):
            ``shown``, ``p_value``, ``asymptotic_p``, ``method``; empty elsewhere.
    """

    game: str
    variant: str
    persona: str
    n_obs: float
    best_family: str
    bic_weight: float
    separated: bool
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    delta_bic: dict[str, float]
    identified: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    human: list[dict[str, Any]] = field(default_factory=list)
    present_bias: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def card_entry(counts: ActionCounts, *, variant: str, persona: str,
               human: Sequence[Mapping[str, Any]] = (), present_bias: bool = True,
               seed: int = 0, draws: int = PRESENT_BIAS_DRAWS) -> CardEntry:
    """Compare every family on ``counts`` and describe the best one with intervals.

    The comparison fits all families without intervals; the best one is refitted with
    them (intervals are the slow part). Where the game has time preferences, present
    bias is tested too (``present_bias``: ``draws`` bootstrap data sets, seeded by
    ``seed``; 99 resolve p to 0.01, 19 is the fewest with which a test at 5% can reject).
    """
    table = compare(counts, ci=False)
    best = fit(table.best.family, counts)
    loose = [k for k, ok in best.identified.items() if not ok]
    notes = table.notes() + ([f"{best.family}: the data do not bound {', '.join(loose)} "
                              f"(its interval spans the whole range or reaches a cap of "
                              f"the model)"] if loose else [])
    bias: dict[str, Any] = {}
    if present_bias and set(PRESENT_BIAS) <= set(FAMILIES[counts.game.game]):
        test = bootstrap_lr_test(counts, *PRESENT_BIAS, n_boot=draws, seed=seed,
                                 stop_after=5)
        bias = {"shown": test.rejects(0.05), "p_value": test.p_value,
                "asymptotic_p": test.asymptotic_p, "method": test.method}
    return CardEntry(
        game=counts.game.game, variant=variant, persona=persona, n_obs=counts.n_obs,
        best_family=best.family, bic_weight=table.bic_weights[best.family],
        separated=table.separated, params=best.params, ci=best.ci,
        identified=dict(best.identified),
        delta_bic=table.delta_bic, notes=notes, human=[dict(h) for h in human],
        present_bias=bias)


def to_markdown(entries: Sequence[CardEntry], *, model: str, endpoint: str) -> str:
    """The card as Markdown: one table per game."""
    lines = [f"# Behavioural model card: `{model}`", "",
             f"Endpoint: {endpoint}. For each persona, the behavioural family that best "
             "explains its choices (lowest BIC, each family with its own fitted choice "
             "noise), its BIC weight, its parameters with 95% profile-likelihood "
             "intervals (a parameter the data do not bound shows its interval, no "
             "estimate), present bias where time preferences are at stake (naive "
             "beta-delta against every exponential model with its own noise, the "
             "likelihood-ratio null from a parametric bootstrap), and its behaviour against "
             "the published human figures that apply to it (score 1: inside the human "
             "range, 0: no closer than a uniform random policy).", ""]
    games = list(dict.fromkeys(e.game for e in entries))
    for game in games:
        lines += [f"## {game}", "",
                  "| variant | persona | decisions | best family | BIC weight | "
                  "separated | parameters [95% interval] | present bias (bootstrap p) | "
                  "human figures |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for e in (e for e in entries if e.game == game):
            params = "; ".join(_param(e, k, v) for k, v in e.params.items())
            human = "; ".join(
                f"{h['quantity']}: {_fmt(h['value'])} vs {h['human'][0]:g}"
                + (f"-{h['human'][1]:g}" if h["human"][1] != h["human"][0] else "")
                + f" (score {_fmt(h['score'])})" for h in e.human) or "-"
            lines.append(f"| {e.variant} | {e.persona} | {e.n_obs:.0f} | {e.best_family} | "
                         f"{e.bic_weight:.2f} | {'yes' if e.separated else 'no'} | "
                         f"{params} | {_bias(e.present_bias)} | {human} |")
        notes = [f"{e.persona} ({e.variant}): {n}" for e in entries if e.game == game
                 for n in e.notes]
        if notes:
            lines += ["", "What the data cannot tell apart:", ""]
            lines += [f"- {n}" for n in notes]
        lines.append("")
    return "\n".join(lines)


def _param(e: CardEntry, name: str, value: float) -> str:
    if name not in e.ci:
        return f"{name} {value:.3g} (fixed)"
    lo, hi = e.ci[name]
    if not e.identified.get(name, True):
        return f"{name} not identified [{lo:.3g}, {hi:.3g}]"
    return f"{name} {value:.3g} [{lo:.3g}, {hi:.3g}]"


def _bias(record: Mapping[str, Any]) -> str:
    if not record:
        return "-"
    return f"{'shown' if record['shown'] else 'not shown'} (p = {record['p_value']:.2g})"


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"
