"""Three-way verdicts with a smallest effect of interest: "no" is a result.

Every finding names an *effect* (how much the personas differ, in the direction the
finding claims, positive when it holds) and a *smallest effect of interest* (SESOI)
grounded in human data. With the effect's two-sided 90% interval ``[lo, hi]`` (the two
one-sided 5% tests of an equivalence rule, Lakens 2017):

- ``not reproduced`` when ``hi < SESOI``: the effect is shown to be smaller than the
  smallest one of interest: the personas behave alike, or differ the other way, or
  differ by less than matters (a non-superiority test, which includes the equivalence
  test ``-SESOI < lo <= hi < SESOI``);
- ``reproduced`` when ``lo > 0`` (a one-sided 5% test of "no effect") and the effect is
  not shown to be below the SESOI, and every further condition of the finding holds;
- ``inconclusive`` otherwise: the interval holds both 0 and the SESOI, so the data
  cannot tell, or the effect is shown but a further condition is not.

:func:`behaviour_effect` measures a difference in behaviour on sampled episodes by a
joint (pooled) regression of one outcome per episode on the personas' attribute;
:func:`subrational_gym.inference.joint.attribute_effect` measures one through a
structural parameter of a family fitted jointly to all personas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from subrational_gym.errors import ParameterError

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: Two-sided level of effect intervals (two one-sided tests at 5%).
EFFECT_LEVEL = 0.90


@dataclass(frozen=True)
class Effect:
    """A difference between personas with its interval, in the finding's direction.

    Attributes:
        name: What is measured, in words (with units).
        value: Its estimate (positive: the direction the finding claims).
        interval: Two-sided interval at ``level``.
        level: Confidence level of ``interval``.
        sesoi: The smallest effect of interest, in the same units.
        p_value: One-sided p-value of "effect <= 0".
        method: How the interval was computed.
        n: Number of observations behind it.
        identified: False when the data do not bound the effect (its interval spans every
            value the model allows); the estimate is then not reported.
    """

    name: str
    value: float
    interval: tuple[float, float]
    level: float
    sesoi: float
    p_value: float
    method: str
    n: int
    identified: bool = True

    def __post_init__(self) -> None:
        lo, hi = self.interval
        if not lo <= hi:
            raise ParameterError(f"effect interval must be ordered, got {self.interval}")
        if not self.sesoi > 0:
            raise ParameterError(f"sesoi must be > 0, got {self.sesoi}")

    @property
    def shown(self) -> bool:
        """Whether the effect is shown to exist in the claimed direction (``lo > 0``)."""
        return self.interval[0] > 0

    @property
    def below_sesoi(self) -> bool:
        """Whether the effect is shown to be smaller than the SESOI (``hi < sesoi``)."""
        return self.interval[1] < self.sesoi

    def verdict(self, conditions_hold: bool = True) -> str:
        """The three-way verdict (see the module docstring)."""
        if self.below_sesoi:
            return NOT_REPRODUCED
        if self.shown and conditions_hold:
            return REPRODUCED
        return INCONCLUSIVE

    def describe(self) -> str:
        """One line: the estimate, its interval and how it compares with 0 and the SESOI."""
        lo, hi = self.interval
        if not (self.identified or self.below_sesoi or self.shown):
            return (f"{self.name}: not identified, the data do not bound it (the interval "
                    f"[{lo:+.3g}, {hi:+.3g}] spans every value the model allows; n = {self.n})")
        if self.below_sesoi:
            where = (f"below the smallest effect of interest {self.sesoi:g} "
                     + ("(reversed)" if hi < 0 else "(alike within it)" if lo > -self.sesoi
                        else ""))
        elif self.shown:
            where = f"above 0 (p = {self.p_value:.2g}) and not below {self.sesoi:g}"
        else:
            where = f"spans both 0 and the smallest effect of interest {self.sesoi:g}"
        return (f"{self.name} {self.value:+.3g} [{lo:+.3g}, {hi:+.3g}] "
                f"({self.level:.0%} interval, n = {self.n}): {where.strip()}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["interval"] = list(self.interval)
        return out


@dataclass(frozen=True)
class Verdict:
    """A finding judged on data.

    Attributes:
        game: The game.
        hypothesis: The claim, in words.
        verdict: ``"reproduced"``, ``"not reproduced"`` or ``"inconclusive"``.
        statistic: Name of the deciding statistic (the effect).
        value: Its estimate.
        interval: Its interval (90%: two one-sided 5% tests).
        threshold: The no-effect value (0); the SESOI is ``sesoi``.
        sesoi: The smallest effect of interest the interval is compared with.
        bottom_line: One plain sentence: the verdict and why.
        reasons: Which parts of the test passed or failed and why, in words.
        numbers: The fits and tests behind it.
        criterion: How the verdict is decided, in words.
    """

    game: str
    hypothesis: str
    verdict: str
    statistic: str
    value: float
    interval: tuple[float, float]
    threshold: float
    sesoi: float
    bottom_line: str
    reasons: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    criterion: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ParameterError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def planned_episodes(sesoi: float, *, informative_share: float = 1.0, sd: float = 0.5,
                     level: float = EFFECT_LEVEL, power: float = 0.95) -> int:
    """Episodes per persona a study plans so that alike personas get "not reproduced".

    The sample size of a difference between two personas' means (one outcome per
    informative episode, standard deviation at most ``sd``; 0.5 for a 0/1 outcome)
    at which the rule above says "not reproduced" with probability ``power`` when the
    personas behave alike: the upper end of the ``level`` interval falls below the SESOI.
    That is the power of a one-sided test of size ``(1 - level) / 2`` against a
    difference of one SESOI (a two-sample z test's sample size; Lakens 2017): per
    persona ``2 (z_a + z_b)^2 sd^2 / SESOI^2`` informative episodes, divided by the share
    of episodes that are informative.

    Args:
        sesoi: The smallest effect of interest.
        informative_share: The share of episodes that carry the outcome (for example the
            share whose offer is in the range the effect is measured on).
        sd: The outcome's largest standard deviation.
        level: Two-sided level of the effect interval.
        power: The wanted probability of "not reproduced" for alike personas.

    Raises:
        ParameterError: for a share outside (0, 1], or non-positive sesoi or sd.

    >>> planned_episodes(0.135)  # a 0/1 outcome, every episode informative
    297
    >>> planned_episodes(0.28, informative_share=3 / 11)
    254
    """
    if not 0 < informative_share <= 1:
        raise ParameterError(f"informative_share must be in (0, 1], got {informative_share}")
    if not (sesoi > 0 and sd > 0):
        raise ParameterError(f"sesoi and sd must be > 0, got sesoi={sesoi}, sd={sd}")
    z = stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(power)
    return int(np.ceil(2 * (z * sd / sesoi) ** 2 / informative_share))


def behaviour_effect(
    groups: Mapping[Any, tuple[Sequence[float], Sequence[float]]],
    attributes: Mapping[Any, float],
    *,
    name: str,
    sesoi: float,
    sign: float = 1.0,
    level: float = EFFECT_LEVEL,
    outcome_range: tuple[float, float] | None = (0.0, 1.0),
) -> Effect:
    """The slope of a per-episode outcome on the personas' attribute, pooled over personas.

    A joint model of all personas: ordinary least squares of the outcome on the attribute
    over every episode (``scipy.stats.linregress``, t interval). With two personas coded
    0 and 1 the slope is the difference of their means (a pooled-variance t test).
    Each persona gets one pseudo-episode at each end of ``outcome_range`` (for a 0/1
    outcome, the Agresti-Caffo 2000 adjustment of a difference of proportions): a small
    sample in which every episode is alike then gets an interval of honest width rather
    than none (20 episodes of the same choice per persona cannot show two personas alike
    within 0.1; 200 can).

    Args:
        groups: Per persona, ``(outcome values, number of episodes with that value)``.
        attributes: Per persona, its attribute (the same keys).
        name: What the effect measures, in words.
        sesoi: The smallest effect of interest, in the slope's units.
        sign: +1 when the finding claims a positive slope, -1 for a negative one (the
            effect is reported as ``sign * slope``).
        level: Two-sided confidence level.
        outcome_range: The outcome's possible range, for the pseudo-episodes (None: no
            adjustment).

    Raises:
        ParameterError: for keys that differ, fractional or negative episode counts, or
            outcomes outside ``outcome_range``.
            With episodes of fewer than two attribute values the effect is returned
            unidentified (an infinite interval).

    >>> e = behaviour_effect({"a": ([0, 1], [50, 50]), "b": ([0, 1], [10, 90])},
    ...                      {"a": 0, "b": 1}, name="difference", sesoi=0.1)
    >>> round(e.value, 2), e.verdict()
    (0.39, 'reproduced')
    """
    if set(groups) != set(attributes):
        raise ParameterError(f"groups and attributes must name the same personas, got "
                             f"{sorted(map(str, groups))} and {sorted(map(str, attributes))}")
    xs, ys = [], []
    for key, (values, counts) in groups.items():
        counts = np.asarray(counts, dtype=float)
        if (counts < 0).any() or not np.allclose(counts, np.round(counts)):
            raise ParameterError(
                f"episode counts of {key!r} must be whole numbers >= 0, got {counts.tolist()}; "
                f"judge sampled episodes (ActionCounts.sample or from_trajectories), not "
                f"expected counts (from_policy)")
        reps = np.round(counts).astype(int)
        values = np.asarray(values, dtype=float)
        y = np.repeat(values, reps)
        if len(y) and outcome_range is not None:
            low, high = outcome_range
            if values[reps > 0].min() < low or values[reps > 0].max() > high:
                raise ParameterError(
                    f"outcomes of {key!r} must lie in outcome_range {outcome_range}, got "
                    f"{values[reps > 0].tolist()}; pass the outcome's own range")
            y = np.concatenate([y, [low, high]])  # the pseudo-episodes
        ys.append(y)
        xs.append(np.full(len(y), float(attributes[key])))
    x, y = np.concatenate(xs), np.concatenate(ys)
    n = int(sum(np.round(np.asarray(c, dtype=float)).sum() for _, c in groups.values()))
    method = ("pooled least squares of the per-episode outcome on the attribute "
              "(scipy.stats.linregress, t interval"
              + (", one pseudo-episode at each end of the range per persona)"
                 if outcome_range is not None else ")"))
    if len(np.unique(x)) < 2 or len(y) < 3:
        # Too few episodes (a persona without one): nothing bounds the effect.
        return Effect(name=name, value=0.0, interval=(-np.inf, np.inf), level=level,
                      sesoi=sesoi, p_value=1.0, method=method, n=n, identified=False)
    if np.ptp(y) == 0:  # every episode alike: no difference, and no doubt about it
        slope, se = 0.0, 0.0
    else:
        res = stats.linregress(x, y)
        slope, se = sign * float(res.slope), float(res.stderr)
    dof = len(y) - 2
    t = stats.t.ppf(0.5 + level / 2, dof)
    if se > 0:
        p = float(stats.t.sf(slope / se, dof))
    else:  # no variation around the line: the sign of the slope is certain
        p = 0.0 if slope > 0 else 1.0
    return Effect(name=name, value=slope, interval=(slope - t * se, slope + t * se),
                  level=level, sesoi=sesoi, p_value=p, method=method, n=n)
