"""A parametric bootstrap of the likelihood-ratio test of nested families.

The asymptotic reference of :func:`~subrational_gym.inference.lr_test` (chi-bar-squared
for a tested value on a bound, ``0.5 chi2(0) + 0.5 chi2(1)`` for ``beta = 1``) assumes
that the *nuisance* parameters are interior. For the present-bias test they often are
not: the fitted ``delta`` of a noise-only exponential agent is often at its bound 1, and
the chi-bar reference is then anti-conservative (a 100-seed rerun of one noise-only
setting called 8 of 100 agents present-biased at a nominal 5%; the game and setting of
this and the other measurements quoted here are in ``docs/inference.md``). The
bootstrap replaces the reference by the distribution of the same statistic on data sets
simulated from the fitted null model with its own choice noise.

>>> from subrational_gym import policies
>>> from subrational_gym.inference import ActionCounts
>>> child = policies.beta_delta("Subrational/Marshmallow-v0", beta=0.6, delta=1.0,
...                             temperature=0.1)
>>> counts = ActionCounts.sample(child, 200, seed=1)
>>> test = bootstrap_lr_test(counts, "exponential", "beta_delta_naive", n_boot=9, seed=0)
>>> test.n_exceed, test.p_value   # 9 draws give at best p = 0.1: use n_boot >= 99 at 5%
(0, 0.1)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from subrational_gym.errors import ParameterError
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import NESTINGS
from subrational_gym.inference.fitting import fit, lr_test

#: Default asymptotic p from which the bootstrap is skipped (see :func:`bootstrap_lr_test`).
DEFAULT_SCREEN = 0.25


@dataclass(frozen=True)
class BootstrapLRTest:
    """A likelihood-ratio test whose null distribution is a parametric bootstrap.

    Attributes:
        restricted: The null family.
        general: The alternative families (one, or several tested jointly by the
            largest of their statistics).
        statistic: The observed statistic: the likelihood-ratio statistic of
            :func:`~subrational_gym.inference.lr_test`, the largest over ``general``.
        statistics: The observed statistic of each general family.
        p_value: ``(1 + #{T* >= T}) / (1 + n_boot)`` over the bootstrap draws ``T*``;
            where the draws stopped early (``stop_after`` exceedances reached) the
            Besag-Clifford sequential p ``stop_after / n_boot``; for a screened test
            (``screened`` True: no draw was made) the asymptotic p below.
        asymptotic_p: The chi-bar-squared p of ``lr_test`` for one general family,
            Bonferroni's ``min(1, k min_j p_j)`` over ``k`` of them: the reference
            the bootstrap replaces, kept for comparison.
        asymptotic_p_values: ``lr_test``'s p of each general family.
        n_boot: Bootstrap data sets drawn (0 when screened).
        n_exceed: How many of their statistics were at least ``statistic``.
        n_boot_requested: The ``n_boot`` asked for.
        screened: True when the bootstrap was skipped because the asymptotic p was
            at least ``screen``.
        screen: The asymptotic p from which the bootstrap is skipped (None: never).
        stopped_early: True when the draws stopped at ``stop_after`` exceedances.
        null_family: The family the data sets were simulated from (``restricted``).
        null_params: Its parameters fitted to the data (with its own choice noise).
        n_episodes: Episodes in each simulated data set (as many as in the data).
        seed: The seed the draws were made from: the same seed gives the same p.
        method: How ``p_value`` was computed, in words.
    """

    restricted: str
    general: tuple[str, ...]
    statistic: float
    statistics: dict[str, float]
    p_value: float
    asymptotic_p: float
    asymptotic_p_values: dict[str, float]
    n_boot: int
    n_exceed: int
    n_boot_requested: int
    screened: bool
    screen: float | None
    stopped_early: bool
    null_family: str
    null_params: dict[str, float]
    n_episodes: int
    seed: int
    method: str
    boot_statistics: tuple[float, ...] = field(default=(), repr=False)

    def rejects(self, level: float = 0.05) -> bool:
        """Whether the null family is rejected at ``level``.

        Raises:
            ParameterError: for a level outside (0, 1), or one at or above the screen
                of a screened test (its p is then only known to be at least the screen).
        """
        if isinstance(level, bool) or not isinstance(level, numbers.Real) \
                or not 0 < level < 1:
            raise ParameterError(f"level must be in (0, 1), got {level!r}; e.g. level=0.05")
        if self.screened and self.screen is not None and level >= self.screen:
            raise ParameterError(
                f"this test was screened at asymptotic p >= {self.screen:g} (no bootstrap "
                f"draw was made), so it cannot be read at level {level:g}; rerun "
                f"bootstrap_lr_test with screen=None or a screen above {level:g}")
        return self.p_value < level

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the individual bootstrap statistics)."""
        out = asdict(self)
        out["general"] = list(self.general)
        del out["boot_statistics"]
        return out


def count_episodes(counts: ActionCounts) -> int:
    """How many episodes the counts hold: the counts of the states an episode starts in.

    Every transition moves forward in time, so an episode passes exactly one of the
    states with a positive initial probability, once, and acts there (in a game with
    one start state: that state). Works for counts of whole episodes
    (:meth:`ActionCounts.sample`, :meth:`ActionCounts.from_trajectories`); not for
    aggregate counts that skip the start states or expected (fractional) counts.

    Raises:
        ParameterError: when the start states hold no counts, a fractional count, or
            start states lie at different time steps; pass the number of episodes
            yourself (``n_episodes=...``).
    """
    if not isinstance(counts, ActionCounts):
        raise ParameterError(
            f"expected ActionCounts, got {type(counts).__name__}; build them with "
            f"ActionCounts.from_trajectories / sample")
    model = counts.model
    start = np.flatnonzero(np.asarray(model.initial_distribution) > 0)
    times = np.unique(np.asarray(model.times)[start])
    if len(times) != 1:
        raise ParameterError(
            f"{counts.env_id} starts episodes at several time steps ({times.tolist()}), so "
            f"the episodes cannot be read off the counts; pass n_episodes=...")
    total = float(counts.counts[start].sum())
    n = round(total)
    if n <= 0 or not math.isclose(total, n, abs_tol=1e-6):
        raise ParameterError(
            f"the start states of {counts.env_id} hold {total:g} counts, not a positive "
            f"whole number of episodes (aggregate or expected counts?); pass the number "
            f"of episodes the data came from as n_episodes=...")
    return int(n)


def bootstrap_lr_test(
    counts: ActionCounts,
    restricted: str,
    general: str | Sequence[str],
    *,
    n_boot: int = 99,
    seed: int = 0,
    n_episodes: int | None = None,
    screen: float | None = DEFAULT_SCREEN,
    stop_after: int | None = None,
) -> BootstrapLRTest:
    """Likelihood-ratio test of ``restricted`` inside ``general`` by a parametric bootstrap.

    1. The statistic ``T`` is that of :func:`~subrational_gym.inference.lr_test` (for
       several general families, the largest of theirs).
    2. The restricted family, with its own choice noise, is fitted to the counts; its
       policy is the null model.
    3. ``n_boot`` data sets of as many episodes as the data are drawn from it
       (:meth:`ActionCounts.sample`, seeds spawned from ``seed``) and ``T*`` is
       recomputed on each by the same fits (without intervals).
    4. ``p = (1 + #{T* >= T}) / (1 + n_boot)``.

    The draws are the expensive part (three fits each per general family). Two
    shortcuts:

    - ``screen``: when the asymptotic p is at least ``screen`` no draw is made and the
      record keeps the asymptotic p (``screened=True``): the test does not reject. A
      screen can only turn a bootstrap rejection into a non-rejection, so the size
      stays at most the full bootstrap's. Where the asymptotic reference is
      anti-conservative (a nuisance parameter on its bound: its p *smaller* than the
      bootstrap's) nothing is lost; where it is conservative (for example an exponential
      agent with gamma 0.6, T 0.2, whose statistic is 0 in 95% of noise-only data
      sets) a screened case could have had a bootstrap p below 0.05, and some power
      is lost. ``benchmarks/model_recovery.py --no-screen-every K`` measures this.
      Read a screened test only at levels below the screen
      (:meth:`BootstrapLRTest.rejects` refuses others); ``screen=None`` always draws.
    - ``stop_after``: stop drawing once that many draws reached ``T`` (Besag and
      Clifford 1991); the p is then ``stop_after / draws``. With ``n_boot=99`` and
      ``stop_after=5`` the decision at 0.05 is the same as the full bootstrap's (a
      test that stopped has p >= 5/99 > 0.05; one that did not has the full p).

    Args:
        counts: The data: counts of whole episodes.
        restricted: The null family, e.g. ``"exponential"``.
        general: The alternative, e.g. ``"beta_delta_naive"``, or several (each must
            nest ``restricted`` in :data:`~subrational_gym.inference.NESTINGS`).
        n_boot: Bootstrap data sets, >= 1 (99 or more for a test at 5%).
        seed: Seed of the draws (and nothing else: the fits are deterministic).
        n_episodes: Episodes per simulated data set; default :func:`count_episodes`.
        screen: Asymptotic p from which no draw is made, in (0, 1], or None.
        stop_after: Exceedances after which the draws stop, >= 1, or None.

    Returns:
        A :class:`BootstrapLRTest`.

    Raises:
        ParameterError: for a pair that is not nested, a bad ``n_boot``, ``seed``,
            ``n_episodes``, ``screen`` or ``stop_after``, or counts whose number of
            episodes cannot be read (pass ``n_episodes``).
    """
    generals = (general,) if isinstance(general, str) else tuple(general)
    if not generals or not all(isinstance(g, str) for g in generals):
        raise ParameterError(
            f"general must be a family name or a sequence of them, got {general!r}; e.g. "
            f"'beta_delta_naive'")
    for g in generals:
        if (restricted, g) not in NESTINGS:
            raise ParameterError(
                f"{restricted!r} is not nested in {g!r}; nested pairs are {sorted(NESTINGS)}")
    n_boot = _positive_int("n_boot", n_boot, "n_boot=99")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}; e.g. seed=0")
    if stop_after is not None:
        stop_after = _positive_int("stop_after", stop_after, "stop_after=5 (or None)")
    if screen is not None and (isinstance(screen, bool) or not isinstance(
            screen, numbers.Real) or not 0 < screen <= 1):
        raise ParameterError(
            f"screen must be in (0, 1] or None, got {screen!r}; e.g. screen=0.25, or None "
            f"to always bootstrap")
    n = count_episodes(counts) if n_episodes is None else _positive_int(
        "n_episodes", n_episodes, "the number of episodes the counts hold")

    observed = {g: lr_test(counts, restricted, g) for g in generals}
    stats_obs = {g: t.statistic for g, t in observed.items()}
    t_obs = max(stats_obs.values())
    p_values = {g: t.p_value for g, t in observed.items()}
    p_asym = min(1.0, len(generals) * min(p_values.values()))
    null = fit(restricted, counts, ci=False)
    what = (f"{restricted} inside {generals[0]}" if len(generals) == 1 else
            f"{restricted} inside each of {', '.join(generals)} (largest statistic)")
    common: dict[str, Any] = dict(
        restricted=restricted, general=generals, statistic=t_obs, statistics=stats_obs,
        asymptotic_p=p_asym, asymptotic_p_values=p_values, n_boot_requested=n_boot,
        screen=None if screen is None else float(screen), null_family=restricted,
        null_params=dict(null.params), n_episodes=n, seed=int(seed))
    if screen is not None and p_asym >= screen:
        return BootstrapLRTest(
            **common, p_value=p_asym, n_boot=0, n_exceed=0, screened=True,
            stopped_early=False,
            method=(f"screened: asymptotic p {p_asym:.3g} >= {screen:g}, no bootstrap draw "
                    f"(a screen can only turn a rejection into a non-rejection); p is "
                    f"the asymptotic one, {what}"))

    starts = {restricted: dict(null.params),
              **{g: dict(fit(g, counts, ci=False).params) for g in generals}}
    children = np.random.SeedSequence(int(seed)).spawn(n_boot)
    draws: list[float] = []
    exceed = 0
    stopped = False
    for child in children:
        sample = ActionCounts.sample(null.policy, n, seed=int(child.generate_state(1)[0]))
        t_star = _statistic(sample, restricted, generals, starts)
        draws.append(t_star)
        # A relative tolerance keeps ties (T* = T up to optimiser noise) exceedances.
        exceed += t_star >= t_obs - 1e-8 * max(1.0, abs(t_obs))
        if stop_after is not None and exceed >= stop_after:
            stopped = len(draws) < n_boot
            break
    b = len(draws)
    if stopped:
        p = exceed / b
        how = f"sequential (Besag-Clifford): stopped at {exceed} exceedances in {b} draws"
    else:
        p = (1 + exceed) / (1 + b)
        how = f"(1 + {exceed}) / (1 + {b})"
    return BootstrapLRTest(
        **common, p_value=p, n_boot=b, n_exceed=exceed, screened=False,
        stopped_early=stopped, boot_statistics=tuple(draws),
        method=(f"parametric bootstrap of the likelihood-ratio statistic ({what}): "
                f"{b} data sets of {n} episodes simulated from the fitted {restricted} "
                f"model with its noise; p = {how}"))


def _statistic(counts: ActionCounts, restricted: str, generals: Sequence[str],
               starts: Mapping[str, Mapping[str, float]] | None = None) -> float:
    """The largest statistic of :func:`lr_test` over ``generals`` (same fits and definition).

    With ``starts`` (each family's optimum on the observed data), the restricted fit and
    the pinned general fit start from there and from the family's default point instead
    of a 64-point design (a simulated data set lies near the null model, so these optima
    do too: the same log-likelihood to 1e-6 on 45 null draws of three settings); the free
    general fit keeps the full multi-start search (warm starts alone lost up to 0.19
    log-likelihood there at an exponential gamma 0.6, T 0.2, which would shrink the draws'
    statistics and make the test anti-conservative), and also tries the warm start.
    """
    def fit_(family: str, *, full: bool = False, **kwargs: Any) -> Any:
        if starts is None:
            return fit(family, counts, ci=False, **kwargs)
        warm = fit(family, counts, ci=False, n_starts=0, start=starts[family], **kwargs)
        if not full:
            return warm
        wide = fit(family, counts, ci=False, **kwargs)
        return wide if wide.loglik >= warm.loglik else warm

    r = fit_(restricted)
    out = 0.0
    for general in generals:
        pinned: Mapping[str, float] = NESTINGS[(restricted, general)]
        g = fit_(general, full=True)
        null = fit_(general, fixed=pinned)
        out = max(out, 2.0 * (max(g.loglik, null.loglik) - max(null.loglik, r.loglik)))
    return out


def _positive_int(name: str, value: Any, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}; pass {example}")
    return int(value)
