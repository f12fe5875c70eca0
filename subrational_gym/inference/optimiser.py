"""The likelihood optimiser behind :func:`~subrational_gym.inference.fitting.fit`.

:class:`LikelihoodProblem` holds one family, its counts and its fixed parameters: a
multi-start L-BFGS-B maximisation in the family's box-bounded coordinates, and
profile-likelihood intervals by likelihood-ratio inversion, guarded against the local
optima of ridged likelihoods by restarts and by every point visited on the way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import optimize, stats

from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import Coordinates, Family

#: The absolute finite-difference step of scipy's L-BFGS-B (its ``eps`` default).
FD_STEP = 1e-8
#: L-BFGS-B's options by purpose: "loose" for the starts of a search and the interval
#: search's profile points, "firm" for the points of a profile walk (on the known answers
#: of seeds 20-21, loose climbs fell up to 0.06 short of a whole fit within 5 of a
#: profile's top, firm ones 0.0002), "tight" (run twice) for an optimum.
PRECISION: dict[str, dict[str, Any]] = {
    "loose": {"maxiter": 500},
    "firm": {"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8},
    "tight": {"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-10},
}


class Objective:
    """A function to minimise, with its gradient from one batch of evaluations.

    L-BFGS-B asks for the value and the gradient together at every point. The gradient
    is the forward difference scipy would take itself (:func:`forward_steps`: L-BFGS-B's
    absolute step, turned back at a bound), with ``x`` and its ``x + h e_i`` evaluated in
    one batch (``many``): a family that sweeps a batch in one pass pays little more
    than for one point.

    Args:
        one: ``x -> f(x)``.
        many: ``[x, ...] -> [f(x), ...]`` at once.
    """

    def __init__(self, one: Callable[[np.ndarray], float],
                 many: Callable[[list[np.ndarray]], np.ndarray]) -> None:
        self.one, self.many = one, many

    def __call__(self, x: np.ndarray) -> float:
        """``f(x)``."""
        return self.one(x)

    def value_and_grad(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray
                       ) -> tuple[float, np.ndarray]:
        """``f(x)`` and its forward-difference gradient inside the box ``[lower, upper]``."""
        x = np.asarray(x, dtype=float)
        h = forward_steps(x, lower, upper)
        points = []
        for i in range(len(x)):
            point = np.copy(x)
            point[i] = x[i] + h[i]
            points.append(point)
        values = np.asarray(self.many([x, *points]), dtype=float)
        dx = np.array([p[i] - x[i] for i, p in enumerate(points)])
        return float(values[0]), (values[1:] - values[0]) / dx


def forward_steps(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The steps of scipy's forward differences at ``x`` with L-BFGS-B's absolute step.

    As ``scipy.optimize.approx_derivative`` takes them (``abs_step=1e-8``, one-sided,
    within bounds): a step too small to move ``x`` falls back to the relative one; a step
    that would leave the box is turned back when the backward one fits, else shortened
    to the room on the wider side.
    """
    sign = (x >= 0).astype(float) * 2 - 1
    h = np.full(len(x), FD_STEP)
    h = np.where((x + h) - x == 0, np.finfo(float).eps ** 0.5 * sign * np.maximum(1.0, np.abs(x)),
                 h)
    below, above = x - lower, upper - x
    ahead = x + h
    fitting = np.abs(h) <= np.maximum(below, above)
    h = np.where(((ahead < lower) | (ahead > upper)) & fitting, -h, h)
    h = np.where(~fitting & (above >= below), above, h)
    return np.where(~fitting & (above < below), -below, h)


class LikelihoodProblem:
    """The optimisation problem of one family, counts and fixed parameters.

    Args:
        fam: The family.
        counts: The data.
        fixed: Parameters held at given values (already checked against their ranges).
    """

    def __init__(self, fam: Family, counts: ActionCounts, fixed: Mapping[str, float]) -> None:
        self.fam, self.counts, self.fixed = fam, counts, dict(fixed)
        focus = next(iter(k for k in fixed if k.startswith("share_")), None)
        self.coords = fam.coordinates(counts, focus)
        self.scale = 1.0 / max(counts.n_obs, 1e-12)
        pinned = self._pinned_coordinates(self.coords)
        self.free = np.array([i for i in range(len(self.coords.names)) if i not in pinned],
                             dtype=int)
        self.pinned = pinned
        self.free_names = [self.coords.names[i] for i in self.free]
        self.param_names = [p.name for p in fam.parameters(counts)]
        self.visited: list[list[float]] = []
        self.visited_ll: list[float] = []

    def _pinned_coordinates(self, coords: Coordinates) -> dict[int, float]:
        out: dict[int, float] = {}
        for k, v in self.fixed.items():
            if k in coords.names:
                i = coords.names.index(k)
                out[i] = coords.parameters[i].to_internal(v) if v > 0 or not \
                    coords.parameters[i].log else coords.lower[i]
            else:  # a share: the focus share is the first stick
                out[0] = v
        return out

    def full(self, u_free: np.ndarray, coords: Coordinates | None = None,
             pinned: Mapping[int, float] | None = None,
             free: np.ndarray | None = None) -> np.ndarray:
        """All internal coordinates: the pinned ones and ``u_free`` in the free slots."""
        coords = coords or self.coords
        pinned = self.pinned if pinned is None else pinned
        free = self.free if free is None else free
        u = np.zeros(len(coords.names))
        for i, v in pinned.items():
            u[i] = v
        u[free] = u_free
        return u

    def loglik(self, u: np.ndarray, coords: Coordinates | None = None) -> float:
        """Log-likelihood at internal coordinates ``u`` (-1e300 where not finite)."""
        coords = coords or self.coords
        params = coords.to_params(u)
        ll = self.fam.log_likelihood(self.counts, params)
        ll = ll if np.isfinite(ll) else -1e300
        # Every point visited is kept: the profile likelihood at a parameter value is at
        # least the likelihood of any visited point with that value (see intervals()).
        self.visited.append([params[n] for n in self.param_names])
        self.visited_ll.append(ll)
        return ll

    def logliks(self, us: list[np.ndarray], coords: Coordinates | None = None) -> np.ndarray:
        """:meth:`loglik` at several internal points, in one pass where the family can."""
        coords = coords or self.coords
        params = [coords.to_params(u) for u in us]
        ll = self.fam.log_likelihoods(self.counts, params)
        ll = np.where(np.isfinite(ll), ll, -1e300)
        self.visited += [[p[n] for n in self.param_names] for p in params]
        self.visited_ll += ll.tolist()
        return ll

    def objective(self, coords: Coordinates | None = None,
                  pinned: Mapping[int, float] | None = None,
                  free: np.ndarray | None = None) -> Objective:
        """The scaled negative log-likelihood over the ``free`` coordinates.

        Args:
            coords: The coordinates (default the problem's).
            pinned: Coordinates held fixed (default the problem's).
            free: The coordinates the optimiser moves (default the problem's).
        """
        def one(x: np.ndarray) -> float:
            return -self.loglik(self.full(x, coords, pinned, free), coords) * self.scale

        def many(xs: list[np.ndarray]) -> np.ndarray:
            us = [self.full(x, coords, pinned, free) for x in xs]
            return -self.logliks(us, coords) * self.scale

        return Objective(one, many)

    def _minimise(self, fun: Objective, x0: np.ndarray, lower: np.ndarray,
                  upper: np.ndarray, *, precision: str = "loose") -> tuple[np.ndarray, float]:
        if len(x0) == 0:
            return x0, fun(x0)
        # scipy's own forward differences, their points evaluated in one batch with the
        # centre: see Objective and Family.log_likelihoods.
        bounds = list(zip(lower, upper, strict=True))
        res = optimize.minimize(fun.value_and_grad, np.clip(x0, lower, upper),
                                args=(lower, upper), jac=True, method="L-BFGS-B",
                                bounds=bounds, options=PRECISION[precision])
        if precision == "tight":  # a second pass restarts the curvature estimate on a ridge
            res = optimize.minimize(fun.value_and_grad, res.x, args=(lower, upper), jac=True,
                                    method="L-BFGS-B", bounds=bounds,
                                    options=PRECISION[precision])
        return res.x, float(res.fun)

    def maximise(self, *, seed: int, n_starts: int,
                 start: Mapping[str, float] | None = None) -> tuple[np.ndarray, float]:
        """Best optimum from the default point, ``start`` and a seeded Sobol design.

        Returns the free coordinates and the log-likelihood there.
        """
        lower, upper = self.coords.lower[self.free], self.coords.upper[self.free]

        objective = self.objective()
        starts = [self.coords.start()[self.free]]
        if start is not None:
            starts.append(self._internal(start))
        if len(self.free) and n_starts > 0:
            design = stats.qmc.Sobol(len(self.free), scramble=True, seed=seed).random(64)
            points = lower + design * (upper - lower)
            values = objective.many(list(points))
            starts += [points[i] for i in np.argsort(values)[:n_starts]]
        best_x, best_f = None, np.inf
        for x0 in starts:
            x, f = self._minimise(objective, x0, lower, upper)
            if f < best_f:
                best_x, best_f = x, f
        best_x, best_f = self._minimise(objective, best_x, lower, upper, precision="tight")
        return best_x, -best_f / self.scale

    def climb(self, start: Mapping[str, float], *, also_default: bool = False
              ) -> tuple[dict[str, float], float]:
        """A local maximisation from ``start``: the parameters and log-likelihood there.

        One firm L-BFGS-B run, with no design and no tight second pass: for a walk along a
        profile, where each point starts from its neighbour's optimum (see
        :func:`subrational_gym.inference.joint.attribute_effect`).

        Args:
            start: Parameter values (missing ones take their defaults; the fixed ones are
                kept).
            also_default: Also climb from the family's default point and keep the better
                optimum (a neighbour far away can lie in another basin).
        """
        lower, upper = self.coords.lower[self.free], self.coords.upper[self.free]
        objective = self.objective()
        x, f = self._minimise(objective, self._internal(start), lower, upper, precision="firm")
        if also_default:  # loosely, and firmly only where it leads
            x2, f2 = self._minimise(objective, self.coords.start()[self.free], lower, upper)
            if f2 < f:
                x, f = self._minimise(objective, x2, lower, upper, precision="firm")
        return self.coords.to_params(self.full(x)), -f / self.scale

    def _internal(self, start: Mapping[str, float]) -> np.ndarray:
        """The free internal coordinates of the parameter point ``start``."""
        given = {p.name: p.start for p in self.fam.parameters(self.counts)}
        given.update({k: v for k, v in start.items() if k in given})
        given.update(self.fixed)
        return self.coords.from_params(given)[self.free]

    def polish(self, u_full: np.ndarray) -> tuple[np.ndarray, float]:
        """A tight local maximisation from the full coordinates ``u_full``."""
        lower, upper = self.coords.lower[self.free], self.coords.upper[self.free]
        x, f = self._minimise(self.objective(), u_full[self.free], lower, upper,
                              precision="tight")
        return x, -f / self.scale

    def intervals(self, u_hat: np.ndarray, ll_hat: float, level: float
                  ) -> tuple[dict[str, tuple[float, float]], np.ndarray | None]:
        """Profile-likelihood interval of every free parameter.

        Also returns a better optimum if one turned up while profiling (else None).
        """
        crit = float(stats.chi2.ppf(level, 1)) / 2.0
        params_hat = self.coords.to_params(self.full(u_hat))
        out: dict[str, tuple[float, float]] = {}
        names = [p.name for p in self.fam.parameters(self.counts) if p.name not in self.fixed]
        better: list[tuple[float, np.ndarray]] = []
        for name in names:
            coords = self.fam.coordinates(self.counts, focus=name) if name.startswith(
                "share_") else self.coords
            j = 0 if name.startswith("share_") else coords.names.index(name)
            pinned = self._pinned_coordinates(coords) if coords is not self.coords \
                else dict(self.pinned)
            if name.startswith("share_") and any(k.startswith("share_") for k in self.fixed):
                continue  # the focus stick is pinned: one share fixed fixes this profile
            others = np.array([i for i in range(len(coords.names))
                               if i != j and i not in pinned], dtype=int)
            u0 = coords.from_params(params_hat)
            x_hat = u0[j]
            lower, upper = coords.lower[others], coords.upper[others]
            warm = {"x": u0[others]}
            # Restarts from a small design over the other coordinates guard the profile
            # against the local optima of ridged likelihoods (prospect theory, mixtures).
            design = (lower + stats.qmc.Sobol(len(others), scramble=True, seed=len(out))
                      .random(16) * (upper - lower)) if len(others) >= 2 else None

            def profile(x: float, coords: Coordinates = coords, j: int = j,
                        others: np.ndarray = others, pinned: dict[int, float] = pinned,
                        lower: np.ndarray = lower, upper: np.ndarray = upper,
                        warm: dict[str, np.ndarray] = warm,
                        design: np.ndarray | None = design) -> float:
                base = dict(pinned)
                base[j] = x
                objective = self.objective(coords, base, others)
                y, f = self._minimise(objective, warm["x"], lower, upper)
                # A local optimum matters only where it would put the value outside.
                if design is not None and -f / self.scale < ll_hat - crit:
                    start = design[int(np.argmin(objective.many(list(design))))]
                    y2, f2 = self._minimise(objective, start, lower, upper)
                    if f2 < f:
                        y, f = y2, f2
                ll = -f / self.scale
                if ll > ll_hat + 1e-6 * max(1.0, abs(ll_hat)):
                    u = self.full(y, coords, base, others)
                    better.append((ll, self.coords.from_params(coords.to_params(u))))
                return ll - (ll_hat - crit)

            ends = []
            for bound in (coords.lower[j], coords.upper[j]):
                warm["x"] = u0[others]
                if math.isclose(x_hat, bound, abs_tol=1e-9):
                    ends.append(bound)
                    continue
                if profile(bound) > 0:
                    ends.append(bound)
                    continue
                warm["x"] = u0[others]
                tol = 2e-4 * (coords.upper[j] - coords.lower[j])
                ends.append(optimize.brentq(profile, x_hat, bound, xtol=tol, maxiter=60))
            param = coords.parameters[j]
            lo, hi = sorted((param.to_external(ends[0]), param.to_external(ends[1])))
            # The focus stick of a share is the share itself.
            out[name] = (lo, hi)
        # The profile at a value is at least the likelihood of any point visited with that
        # value: widen each interval to every visited point above the threshold, so a
        # profile optimisation stuck in a local optimum cannot make an interval too short.
        lls = np.asarray(self.visited_ll)
        points = np.asarray(self.visited)
        inside = points[lls >= ll_hat - crit]
        for name, (lo, hi) in out.items():
            if len(inside):
                col = inside[:, self.param_names.index(name)]
                out[name] = (min(lo, float(col.min())), max(hi, float(col.max())))
        top = int(np.argmax(lls))
        if lls[top] > ll_hat + 1e-6 * max(1.0, abs(ll_hat)):
            best = dict(zip(self.param_names, points[top], strict=True))
            better.append((float(lls[top]), self.coords.from_params(best)))
        if better:
            ll, u = max(better, key=lambda b: b[0])
            return out, u[self.free]
        return out, None
