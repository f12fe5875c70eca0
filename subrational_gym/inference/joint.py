"""One family fitted jointly to several personas, a parameter linear in their attribute.

The findings compare personas (ages, GPAs): "present bias falls as the GPA rises" is a
claim about how one parameter moves with an attribute, not about each persona alone.
:func:`attribute_effect` fits the family to every persona at once with the parameter
tied to the attribute,

    ``theta_i = centre + slope * (x_i - mean(x))``,

every other parameter (temperature included) free per persona, and inverts the
likelihood-ratio test of ``slope`` into a profile-likelihood interval. Because the
personas' data are independent, the joint profile is a sum of each persona's own profile
likelihood of ``theta``, which is computed once per persona on a grid:

    ``P(slope) = max_centre sum_i l_i(centre + slope * (x_i - mean(x)))``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from subrational_gym.errors import ParameterError
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import get_family
from subrational_gym.inference.fitting import fit
from subrational_gym.inference.optimiser import LikelihoodProblem

#: Grid points of each persona's profile: spread over the whole range, and dense around
#: the persona's own estimate.
COARSE_POINTS = 25
DENSE_POINTS = 25
#: Points of the slope and centre grids of the joint profile.
SLOPE_POINTS = 1601
CENTRE_POINTS = 801


@dataclass(frozen=True)
class AttributeEffect:
    """A parameter's linear dependence on the personas' attribute, from a joint fit.

    Attributes:
        family: The family fitted to every persona.
        parameter: The parameter tied to the attribute.
        attributes: Each persona's attribute value.
        slope: Maximum-likelihood slope (parameter units per attribute unit).
        interval: Profile-likelihood interval of the slope at ``level``.
        level: Confidence level of ``interval`` (two-sided).
        centre: The parameter at the mean attribute, at the joint optimum.
        values: Each persona's parameter at the joint optimum.
        loglik: Maximised joint log-likelihood.
        loglik_no_effect: Joint log-likelihood maximised at slope 0 (all personas share
            the parameter; every other parameter still free per persona).
        statistic: ``2 (loglik - loglik_no_effect)``.
        p_value: One-sided p-value of "slope <= 0" (signed root of the statistic).
        bounded: Whether the interval is inside the slopes the parameter's range allows
            (False: the data do not bound the slope on at least one side).
        separate: Each persona's own fit of the parameter (estimate and interval at
            ``level``), for the reader.
        capped: Whether the profile interval's lower and upper ends are reached with a
            persona's parameter at the edge of its range. There the end is set by the
            range rather than by the data alone and the chi-squared calibration of the
            profile does not hold (a boundary problem: a time-consistent student at beta 1
            made the upper end too short). A capped upper end is widened to the
            conservative bound from the two extreme personas' own intervals (see
            :func:`attribute_effect`); a capped lower end is only reported.
    """

    family: str
    parameter: str
    attributes: dict[str, float]
    slope: float
    interval: tuple[float, float]
    level: float
    centre: float
    values: dict[str, float]
    loglik: float
    loglik_no_effect: float
    statistic: float
    p_value: float
    bounded: bool
    separate: dict[str, dict[str, Any]] = field(default_factory=dict)
    capped: tuple[bool, bool] = (False, False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = dict(self.__dict__)
        out["interval"] = list(self.interval)
        out["capped"] = list(self.capped)
        return out


@dataclass(frozen=True)
class _Profile:
    grid: np.ndarray
    loglik: np.ndarray

    def at(self, values: np.ndarray) -> np.ndarray:
        """Interpolated profile log-likelihood; -inf outside the parameter's range."""
        out = np.interp(values, self.grid, self.loglik)
        return np.where((values < self.grid[0] - 1e-12) | (values > self.grid[-1] + 1e-12),
                        -np.inf, out)


def _walk(family: str, counts: ActionCounts, parameter: str, grid: np.ndarray,
          start: dict[str, float], *, also_default: bool) -> np.ndarray:
    """Profile log-likelihood at each grid value, walked out from ``start``.

    Each point is a local maximisation over the other parameters from its neighbour's
    optimum (:meth:`LikelihoodProblem.climb`), and, where ``also_default``, from the
    family's default point too: a profile is smooth, so this finds what a fresh
    multi-start search would, at a fraction of the cost.
    """
    fam = get_family(family, counts.game.game)
    ll = np.full(len(grid), -np.inf)
    centre = int(np.argmin(np.abs(grid - start[parameter])))
    for steps in (range(centre, len(grid)), range(centre, -1, -1)):
        previous = start
        for i in steps:
            problem = LikelihoodProblem(fam, counts, {parameter: float(grid[i])})
            previous, value = problem.climb(previous, also_default=also_default)
            ll[i] = max(ll[i], value)
    return ll


def _crossings(grid: np.ndarray, ll: np.ndarray, drop: float) -> list[float]:
    """Where the profile falls ``drop`` below its top, interpolated between grid points.

    Taking the outermost grid points inside would shorten the interval by up to a step.
    """
    cut = float(ll.max()) - drop
    inside = np.flatnonzero(ll >= cut)
    ends = []
    for i, j in ((int(inside.min()), int(inside.min()) - 1),
                 (int(inside.max()), int(inside.max()) + 1)):
        if j < 0 or j >= len(grid) or not np.isfinite(ll[j]):
            ends.append(float(grid[i]))  # the range's edge (or -inf beyond it)
        else:
            ends.append(float(grid[j] + (grid[i] - grid[j]) * (cut - ll[j]) / (ll[i] - ll[j])))
    return ends


def _profile(family: str, counts: ActionCounts, parameter: str, level: float,
             seed: int) -> tuple[_Profile, dict[str, Any]]:
    own = fit(family, counts, seed=seed, ci=False)
    if parameter not in own.bounds:
        raise ParameterError(f"{parameter!r} is not a parameter of {family}; its parameters "
                             f"are {list(own.bounds)}")
    low, high = own.bounds[parameter]
    crit = stats.chi2.ppf(level, 1) / 2
    coarse = np.unique(np.concatenate([np.linspace(low, high, COARSE_POINTS),
                                       [own.params[parameter]]]))
    # The coarse points are far apart: a neighbour's optimum can lie in another basin, so
    # each also climbs from the default point. The dense ones are close together.
    ll = _walk(family, counts, parameter, coarse, own.params, also_default=True)
    # Refine where the profile is within reach of the interval (and one coarse step out).
    near = np.flatnonzero(ll >= own.loglik - 4 * crit)
    lo_i, hi_i = max(int(near.min()) - 1, 0), min(int(near.max()) + 1, len(coarse) - 1)
    dense = np.linspace(coarse[lo_i], coarse[hi_i], DENSE_POINTS)
    dense_ll = _walk(family, counts, parameter, dense, own.params, also_default=False)
    grid = np.concatenate([coarse, dense])
    ll = np.concatenate([ll, dense_ll])
    order = np.argsort(grid, kind="stable")
    grid, ll = grid[order], ll[order]
    grid, first = np.unique(grid, return_index=True)
    ll = np.maximum.reduceat(ll, first)
    separate = {"estimate": float(grid[int(np.argmax(ll))]),
                "interval": _crossings(grid, ll, crit),
                "interval_bonferroni": _crossings(
                    grid, ll, stats.chi2.ppf(1 - (1 - level) / 2, 1) / 2),
                "n_obs": own.n_obs}
    return _Profile(grid, ll), separate


def attribute_effect(
    family: str,
    data: Mapping[str, ActionCounts],
    attributes: Mapping[str, float],
    parameter: str,
    *,
    level: float = 0.90,
    seed: int = 0,
) -> AttributeEffect:
    """Fit ``family`` jointly to the personas with ``parameter`` linear in the attribute.

    Args:
        family: A family of the personas' game (``"beta_delta_sophisticated"``).
        data: Each persona's choices.
        attributes: Each persona's attribute (the same keys as ``data``), at least two
            distinct values.
        parameter: The parameter tied to the attribute (``"beta"``).
        level: Two-sided confidence level of the slope's interval (0.90 gives the two
            one-sided 5% tests of an equivalence rule).
        seed: Seed of the fits' starting designs.

    Raises:
        ParameterError: for mismatched keys, fewer than two distinct attribute values, or
            a parameter the family does not have.

    >>> from subrational_gym import policies
    >>> env = "Subrational/Marshmallow-v0"
    >>> data = {a: ActionCounts.sample(policies.exponential_discounter(
    ...     env, gamma=0.8 + 0.04 * a, temperature=0.2), 300, seed=a) for a in (1, 2, 3)}
    >>> effect = attribute_effect("exponential", data, {a: a for a in data}, "gamma")
    >>> effect.interval[0] > 0
    True
    """
    if set(data) != set(attributes):
        raise ParameterError(
            f"data and attributes must name the same personas, got {sorted(map(str, data))} "
            f"and {sorted(map(str, attributes))}")
    names = list(data)
    x = np.array([float(attributes[n]) for n in names])
    if len(set(x.tolist())) < 2:
        raise ParameterError(
            f"the attribute must take at least two values across the personas, got "
            f"{dict(zip(map(str, names), x.tolist(), strict=True))}")
    dx = x - x.mean()
    profiles, separate = {}, {}
    for n in names:
        profiles[n], separate[str(n)] = _profile(family, data[n], parameter, level, seed)
    low, high = (float(profiles[names[0]].grid[0]), float(profiles[names[0]].grid[-1]))
    span = float(dx.max() - dx.min())
    s_max = (high - low) / span
    slopes = np.linspace(-s_max, s_max, SLOPE_POINTS)
    slopes = np.unique(np.concatenate([slopes, [0.0]]))
    centres = np.linspace(low, high, CENTRE_POINTS)
    # total[s, c] = sum_i l_i(c + s dx_i)
    total = np.zeros((len(slopes), len(centres)))
    for n, d in zip(names, dx, strict=True):
        total += profiles[n].at(centres[None, :] + slopes[:, None] * d)
    best_c = np.argmax(total, axis=1)
    prof = total[np.arange(len(slopes)), best_c]
    top = int(np.argmax(prof))
    ll, slope, centre = float(prof[top]), float(slopes[top]), float(centres[best_c[top]])
    ll0 = float(prof[int(np.flatnonzero(slopes == 0.0)[0])])
    crit = stats.chi2.ppf(level, 1) / 2
    inside = slopes[prof >= ll - crit]
    lo, hi = float(inside.min()), float(inside.max())
    # An end is capped when a persona's value there sits at the range's edge (within the
    # grids' resolution).
    tol = 2 * (centres[1] - centres[0]) + (slopes[1] - slopes[0]) * float(np.abs(dx).max())

    def at_edge(s: float) -> bool:
        i = int(np.flatnonzero(slopes == s)[0])
        v = centres[best_c[i]] + s * dx
        return bool(np.any(v <= low + tol) or np.any(v >= high - tol))

    capped = (at_edge(lo), at_edge(hi))
    # Under the linear model the slope is (theta_top - theta_bottom) / (x_top - x_bottom),
    # so the extreme personas' own intervals at 1 - (1 - level) / 2 bound it at one-sided
    # (1 - level) / 2 (Bonferroni); a persona's own profile interval keeps its coverage at
    # a bound (the boundary only makes it conservative). A capped upper end is widened to
    # it: that end decides "not reproduced", and a time-consistent student at beta 1 made
    # it too short. A capped lower end is reported (``capped``) but kept: widening it with
    # an own interval that a misspecified persona's multimodal profile leaves unbounded
    # would unidentify clear orderings (two gamblers at loss aversion 0 and 10).
    top_p, bottom_p = names[int(np.argmax(x))], names[int(np.argmin(x))]
    top_w, bottom_w = (separate[str(top_p)]["interval_bonferroni"],
                       separate[str(bottom_p)]["interval_bonferroni"])
    span_x = float(x.max() - x.min())
    if capped[1]:
        hi = max(hi, (top_w[1] - bottom_w[0]) / span_x)
    statistic = max(0.0, 2 * (ll - ll0))
    tail = 0.5 * float(stats.chi2.sf(statistic, 1))
    p_value = tail if slope > 0 else 1.0 - tail
    return AttributeEffect(
        family=family, parameter=parameter,
        attributes={str(n): float(v) for n, v in zip(names, x, strict=True)},
        slope=slope, interval=(lo, hi), level=level, centre=centre,
        values={str(n): centre + slope * d for n, d in zip(names, dx, strict=True)},
        loglik=ll, loglik_no_effect=ll0, statistic=statistic, p_value=p_value,
        bounded=bool(lo > slopes[0] and hi < slopes[-1]), separate=separate,
        capped=capped)
