"""Maximum-likelihood fits of the behavioural families, and their comparison.

Profile-likelihood intervals, AIC/BIC, Akaike weights and likelihood-ratio tests. The
optimiser and the interval search live in :mod:`subrational_gym.inference.optimiser`,
the records :class:`FitResult` and :class:`LRTest` in
:mod:`subrational_gym.inference.results` (both importable from here too).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from subrational_gym.errors import ParameterError
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import FAMILIES, NESTINGS, Family, get_family
from subrational_gym.inference.optimiser import LikelihoodProblem
from subrational_gym.inference.results import CI_METHOD, FitResult, LRTest

__all__ = [
    "CI_METHOD",
    "NOT_SEPARATED_BIC",
    "Comparison",
    "FitResult",
    "LRTest",
    "chi_bar_squared_sf",
    "compare",
    "fit",
    "log_likelihood",
    "lr_test",
]

#: Families whose best-fit BIC is within this of the best one are "not separated".
NOT_SEPARATED_BIC = 2.0


@dataclass(frozen=True, eq=False)
class Comparison:
    """Families fitted to the same counts, best (lowest BIC) first.

    Attributes:
        fits: The fits, sorted by BIC.
        counts: The data.
        level: Confidence level of the intervals.
    """

    fits: tuple[FitResult, ...]
    counts: ActionCounts = field(repr=False)
    level: float = 0.95
    _tests: dict[tuple[str, str], LRTest] = field(default_factory=dict, repr=False)

    @property
    def best(self) -> FitResult:
        """The fit with the lowest BIC."""
        return self.fits[0]

    def __getitem__(self, family: str) -> FitResult:
        for f in self.fits:
            if f.family == family:
                return f
        raise KeyError(f"no fit of {family!r}; compared: {[f.family for f in self.fits]}")

    @property
    def delta_bic(self) -> dict[str, float]:
        """BIC of each family minus the best one."""
        return {f.family: f.bic - self.best.bic for f in self.fits}

    @property
    def akaike_weights(self) -> dict[str, float]:
        """``exp(-dAIC/2)`` normalised: the relative support of each family."""
        return _weights({f.family: f.aic for f in self.fits})

    @property
    def bic_weights(self) -> dict[str, float]:
        """``exp(-dBIC/2)`` normalised (approximate posterior model probabilities)."""
        return _weights({f.family: f.bic for f in self.fits})

    @property
    def separated(self) -> bool:
        """Whether the best family beats the runner-up by at least :data:`NOT_SEPARATED_BIC`."""
        return len(self.fits) < 2 or self.fits[1].bic - self.best.bic >= NOT_SEPARATED_BIC

    def lr_test(self, restricted: str, general: str) -> LRTest:
        """Likelihood-ratio test of ``restricted`` against ``general`` (see :data:`NESTINGS`).

        Raises:
            ParameterError: for a pair that is not nested.
        """
        key = (restricted, general)
        if key not in self._tests:
            self._tests[key] = lr_test(self.counts, restricted, general,
                                       general_fit=self._maybe(general))
        return self._tests[key]

    def notes(self) -> list[str]:
        """What the data cannot tell apart, in words."""
        out = []
        weights = self.bic_weights  # the criterion the families are ranked by
        for other in self.fits[1:]:
            d = other.bic - self.best.bic
            if d < NOT_SEPARATED_BIC:
                out.append(
                    f"{self.best.family} and {other.family} are not separated by these data "
                    f"(BIC difference {d:.2f} < {NOT_SEPARATED_BIC:g}; BIC weights "
                    f"{weights[self.best.family]:.2f} vs {weights[other.family]:.2f})")
        for f in self.fits:
            loose = [k for k, ok in f.identified.items() if not ok]
            if loose:
                out.append(f"{f.family}: the data do not bound {', '.join(loose)} "
                           f"(interval spans the whole range or reaches a cap)")
        for (restricted, general), pinned in NESTINGS.items():
            g = self._maybe(general)
            if g is None or self._maybe(restricted) is None:
                continue
            spans = [k for k, v in pinned.items() if k in g.ci and g.covers(k, v)]
            if spans and len(spans) == len(pinned):
                shown = ", ".join(f"{k}={v:g}" for k, v in pinned.items())
                out.append(f"{general}: the intervals include the {restricted} values "
                           f"({shown}); the data do not reject {restricted} by them")
        return out

    def table(self) -> str:
        """The comparison as a text table, with the notes below it."""
        aw, dbic = self.akaike_weights, self.delta_bic
        lines = [f"{self.counts!r}",
                 f"{'family':<26} {'k':>2} {'loglik':>10} {'AIC':>9} {'BIC':>9} {'dBIC':>7} "
                 f"{'w(AIC)':>7}  parameters [{self.level:.0%} interval]"]
        for f in self.fits:
            shown = "; ".join(
                f"{k}={v:.3g}" + (f" [{f.ci[k][0]:.3g}, {f.ci[k][1]:.3g}]" if k in f.ci
                                  else " (fixed)")
                for k, v in f.params.items())
            lines.append(f"{f.family:<26} {f.n_params:>2} {f.loglik:>10.2f} {f.aic:>9.2f} "
                         f"{f.bic:>9.2f} {dbic[f.family]:>7.2f} {aw[f.family]:>7.3f}  {shown}")
        for note in self.notes():
            lines.append(f"note: {note}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"fits": [f.to_dict() for f in self.fits], "delta_bic": self.delta_bic,
                "akaike_weights": self.akaike_weights, "bic_weights": self.bic_weights,
                "separated": self.separated, "notes": self.notes(), "n_obs": self.counts.n_obs,
                "env_id": self.counts.env_id}

    def _maybe(self, family: str) -> FitResult | None:
        return next((f for f in self.fits if f.family == family), None)


# ------------------------------------------------------------------ public functions
def log_likelihood(family: str, counts: ActionCounts, params: Mapping[str, float]) -> float:
    """Log-likelihood of ``counts`` under ``family`` at ``params`` (all parameters given).

    Raises:
        ParameterError: for an unknown family, a missing or out-of-range parameter.
    """
    fam = _resolve(family, counts)
    full = _check_params(fam, counts, params, complete=True)
    return fam.log_likelihood(counts, full)


def fit(
    family: str,
    counts: ActionCounts,
    *,
    fixed: Mapping[str, float] | None = None,
    ci: bool = True,
    level: float = 0.95,
    seed: int = 0,
    n_starts: int = 4,
    start: Mapping[str, float] | None = None,
) -> FitResult:
    """Fit ``family`` to ``counts`` by maximum likelihood.

    The optimiser (L-BFGS-B in the family's box-bounded coordinates, temperature on
    the log scale) starts from the family's default point and from the best
    ``n_starts`` points of a scrambled Sobol design of 64 points (seeded by ``seed``),
    and keeps the best optimum. Intervals invert the profile likelihood: each end is
    where the log-likelihood, maximised over the other parameters, falls by
    ``chi2.ppf(level, 1) / 2`` (1.92 for 95%); an end that reaches the parameter's
    bound means the data do not bound it there. A better optimum met while profiling
    replaces the first one.

    Args:
        family: A name in ``FAMILIES[game]``.
        counts: The data.
        fixed: Parameters held at given values (e.g. ``{"beta": 1.0}``).
        ci: Whether to compute intervals (the slow part).
        level: Confidence level of the intervals.
        seed: Seed of the starting design.
        n_starts: Number of design points to start from, besides the default (0: no
            design is evaluated).
        start: A further starting point (parameter values; missing ones take their
            defaults), e.g. the optimum of a neighbouring profile point.

    Raises:
        ParameterError: for an unknown family, counts of another game, counts without a
            decision, or a fixed parameter that is unknown or out of range.

    >>> from subrational_gym import policies
    >>> expert = policies.exponential_discounter("Subrational/Marshmallow-v0", gamma=0.9,
    ...                                          temperature=0.2)
    >>> result = fit("exponential", ActionCounts.from_policy(expert, 2000))
    >>> round(result.params["gamma"], 3), round(result.params["temperature"], 3)
    (0.9, 0.2)
    """
    fam = _resolve(family, counts)
    if counts.n_obs <= 0:
        raise ParameterError(
            f"{counts!r} holds no decision: there is nothing to fit; count the actions of "
            f"demonstrations that reach a decision state"
        )
    level = _check_level(level)
    fixed = _check_params(fam, counts, fixed or {}, complete=False)
    problem = LikelihoodProblem(fam, counts, fixed)
    u, ll = problem.maximise(seed=seed, n_starts=n_starts, start=start)
    intervals: dict[str, tuple[float, float]] = {}
    if ci:
        for _ in range(3):  # a better optimum found while profiling restarts the intervals
            intervals, better = problem.intervals(u, ll, level)
            if better is None:
                break
            u, ll = problem.polish(better)
    params = problem.coords.to_params(problem.full(u))
    specs = {p.name: p for p in fam.parameters(counts)}
    bounds = {k: (p.low, p.high) for k, p in specs.items()}
    identified = {k: _identified(specs[k], lo, hi) for k, (lo, hi) in intervals.items()}
    k = len(problem.free_names)
    n = counts.n_obs
    return FitResult(
        family=fam.name, game=counts.game.game, params=params, ci=intervals, loglik=ll, n_obs=n,
        n_params=k, aic=2 * k - 2 * ll, bic=k * math.log(max(n, 1.0)) - 2 * ll,
        policy=fam.policy(counts, params), fixed=dict(fixed), bounds=bounds,
        identified=identified, level=level, details=fam.details(counts),
    )


def compare(
    counts: ActionCounts,
    families: Sequence[str] | None = None,
    *,
    ci: bool = True,
    level: float = 0.95,
    seed: int = 0,
) -> Comparison:
    """Fit every family of the game (or those named) and sort them by BIC.

    >>> from subrational_gym import policies
    >>> student = policies.beta_delta("Subrational/Procrastination-v0", beta=0.6,
    ...                               sophisticated=True, temperature=0.5)
    >>> table = compare(ActionCounts.sample(student, 500, seed=0), ci=False)
    >>> table.best.family
    'beta_delta_sophisticated'
    >>> table.lr_test("exponential", "beta_delta_sophisticated").rejects()
    True
    """
    game = counts.game.game
    names = list(FAMILIES[game] if families is None else families)
    if not names:
        raise ParameterError(f"no families to compare; pass names from {list(FAMILIES[game])}")
    fits = [fit(name, counts, ci=ci, level=level, seed=seed) for name in names]
    fits.sort(key=lambda f: f.bic)
    return Comparison(tuple(fits), counts, level)


def lr_test(counts: ActionCounts, restricted: str, general: str, *,
            general_fit: FitResult | None = None) -> LRTest:
    """Likelihood-ratio test of the nested pair ``(restricted, general)`` on ``counts``.

    The null is the general family with the parameters of :data:`NESTINGS` pinned,
    fitted over its remaining parameters, together with the restricted family itself:
    the statistic compares the general fit with the better of the two, so it is never
    negative, and a general family that does not exactly nest the restricted one (the
    sophisticated beta-delta agent at beta = 1 anticipates its own choice noise, the
    exponential family does not) is credited only when the data reject both.

    Raises:
        ParameterError: for a pair that is not in :data:`NESTINGS`.
    """
    pinned = NESTINGS.get((restricted, general))
    if pinned is None:
        raise ParameterError(
            f"{restricted!r} is not nested in {general!r}; nested pairs are "
            f"{sorted(NESTINGS)}"
        )
    fam = _resolve(general, counts)
    g = general_fit or fit(general, counts, ci=False)
    null = fit(general, counts, fixed=pinned, ci=False)
    r = fit(restricted, counts, ci=False)
    ll_general = max(g.loglik, null.loglik)
    # The null is the union of the restricted family and the pinned general one: they
    # coincide where the nesting is exact, and where it is not (the sophisticated agent
    # at beta = 1 anticipates its own noise, the exponential family does not) the data
    # must reject both before the general family is credited.
    ll_null = max(null.loglik, r.loglik)
    stat = max(0.0, 2.0 * (ll_general - ll_null))
    bounds = {p.name: (p.low, p.high) for p in fam.parameters(counts)}
    on_bound = sum(1 for k, v in pinned.items() if v in bounds[k])
    if fam.name == "inequity_aversion_mixture":
        df = len(fam.parameters(counts)) - 2  # the shares but one, and beta
        p = float(stats.chi2.sf(stat, df))
        method = (f"conservative chi-square({df}): the shares are unidentified under the "
                  f"null (Davies 1987)")
        on_bound = df
    else:
        df = len(pinned)
        p = chi_bar_squared_sf(stat, df=df, n_boundary=on_bound)
        method = (f"chi-bar-squared ({on_bound} of {df} pinned values on a bound)"
                  if on_bound else f"chi-square({df})")
    exact = abs(null.loglik - r.loglik) <= 1e-6 * max(1.0, abs(r.loglik)) + 1e-6
    return LRTest(restricted, general, dict(pinned), stat, df, on_bound, p, method, exact)


def chi_bar_squared_sf(statistic: float, *, df: int, n_boundary: int) -> float:
    """Tail probability of a likelihood-ratio statistic with values on a boundary.

    ``n_boundary`` of the ``df`` tested values lie on the boundary of the parameter space:

    ``sum_{j=0}^{b} C(b, j) 2^-b P(chi2(df - b + j) >= statistic)`` (Self and Liang 1987,
    for orthogonal boundary parameters), with ``chi2(0)`` a point mass at 0.

    >>> round(chi_bar_squared_sf(2.71, df=1, n_boundary=1), 3)
    0.05
    """
    if n_boundary < 0 or n_boundary > df:
        raise ParameterError(f"n_boundary must be in 0..df ({df}), got {n_boundary}")
    interior = df - n_boundary
    total = 0.0
    for j in range(n_boundary + 1):
        k = interior + j
        tail = (1.0 if statistic <= 1e-12 else 0.0) if k == 0 else float(
            stats.chi2.sf(statistic, k))
        total += math.comb(n_boundary, j) / 2**n_boundary * tail
    return total


# ------------------------------------------------------------------ internals
def _identified(spec: Any, lo: float, hi: float) -> bool:
    """False when the interval spans the whole range, or reaches a capped bound."""
    at_low = math.isclose(lo, spec.low, abs_tol=1e-6)
    at_high = math.isclose(hi, spec.high, rel_tol=1e-6, abs_tol=1e-6)
    return not ((at_low and at_high) or (at_low and spec.capped[0])
                or (at_high and spec.capped[1]))


def _weights(criteria: Mapping[str, float]) -> dict[str, float]:
    best = min(criteria.values())
    raw = {k: math.exp(-(v - best) / 2) for k, v in criteria.items()}
    total = sum(raw.values())
    return {k: v / total for k, v in raw.items()}


def _resolve(family: str | Family, counts: ActionCounts) -> Family:
    if not isinstance(counts, ActionCounts):
        raise ParameterError(
            f"expected ActionCounts, got {type(counts).__name__}; build them with "
            f"ActionCounts.from_trajectories / from_observations / from_policy"
        )
    if isinstance(family, Family):
        family = family.name
    if not isinstance(family, str):
        raise ParameterError(f"family must be a name such as 'exponential', got {family!r}")
    game = counts.game.game
    known = {g for g, names in FAMILIES.items() if family in names}
    if known and game not in known:
        raise ParameterError(
            f"family {family!r} is defined for the {sorted(known)[0]} game, but the counts are "
            f"of {counts.env_id}; fit one of {list(FAMILIES[game])} to these counts"
        )
    return get_family(family, game)


def _check_level(level: Any) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ParameterError(f"level must be in (0, 1), got {level!r}; e.g. level=0.95")
    return float(level)


def _check_params(fam: Family, counts: ActionCounts, params: Mapping[str, float], *,
                  complete: bool) -> dict[str, float]:
    specs = {p.name: p for p in fam.parameters(counts)}
    unknown = set(params) - set(specs)
    if unknown:
        raise ParameterError(
            f"{sorted(unknown)} {'is' if len(unknown) == 1 else 'are'} not a parameter of "
            f"{fam.name}; its parameters are {list(specs)}"
        )
    if complete and set(specs) - set(params):
        raise ParameterError(
            f"missing parameters {sorted(set(specs) - set(params))} of {fam.name}; give all "
            f"of {list(specs)}"
        )
    out = {}
    for k, v in params.items():
        spec = specs[k]
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) \
                or not spec.low <= v <= spec.high:
            raise ParameterError(
                f"{fam.name} parameter {k} must be a number in [{spec.low:g}, {spec.high:g}], "
                f"got {v!r}"
            )
        out[k] = float(v)
    shares = [k for k in out if k.startswith("share_")]
    if len(shares) > 1:
        raise ParameterError(f"fix at most one share of {fam.name}, got {shares}")
    return out


