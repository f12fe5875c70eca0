"""The records of a fit and of a likelihood-ratio test.

:class:`FitResult` is what :func:`~subrational_gym.inference.fitting.fit` returns,
:class:`LRTest` what :func:`~subrational_gym.inference.fitting.lr_test` returns; both are
re-exported by :mod:`subrational_gym.inference` and :mod:`subrational_gym.inference.fitting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from subrational_gym.policies import TabularPolicy

#: How an interval is computed.
CI_METHOD = "profile likelihood (likelihood-ratio inversion, chi-square with 1 df)"


@dataclass(frozen=True)
class FitResult:
    """A family fitted to action counts by maximum likelihood.

    Attributes:
        family: The family's name.
        game: The game.
        params: Fitted parameters (fixed ones included).
        ci: 95% (or ``level``) interval of each fitted parameter, by profile likelihood;
            an end at the parameter's bound means the data do not bound it there.
        loglik: Maximised log-likelihood.
        n_obs: Number of decisions (sum of the counts in decision states).
        n_params: Number of fitted (free) parameters.
        aic: ``2 k - 2 loglik``.
        bic: ``k ln(n_obs) - 2 loglik``.
        policy: The fitted policy, to evaluate and plot like any other.
        fixed: Parameters held at given values.
        bounds: ``(low, high)`` of each parameter.
        identified: Per fitted parameter, False when its interval spans its whole range
            (the data say nothing about it) or reaches a capped bound (loss aversion 10,
            temperature 1e-3 or 1e3: bounded on one side only); no point estimate of an
            unidentified parameter should be reported.
        level: Confidence level of ``ci``.
        ci_method: How ``ci`` was computed.
        details: Fixed quantities needed to read the parameters (e.g. the envy grid).
    """

    family: str
    game: str
    params: dict[str, float]
    ci: dict[str, tuple[float, float]]
    loglik: float
    n_obs: float
    n_params: int
    aic: float
    bic: float
    policy: TabularPolicy = field(repr=False)
    fixed: dict[str, float] = field(default_factory=dict)
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)
    identified: dict[str, bool] = field(default_factory=dict)
    level: float = 0.95
    ci_method: str = CI_METHOD
    details: dict[str, Any] = field(default_factory=dict)

    def covers(self, name: str, value: float) -> bool:
        """Whether the interval of ``name`` contains ``value`` (a fixed one: equality)."""
        if name in self.fixed:
            return bool(np.isclose(self.fixed[name], value))
        lo, hi = self.ci[name]
        return bool(lo - 1e-9 <= value <= hi + 1e-9)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the policy)."""
        return {
            "family": self.family, "game": self.game, "params": self.params,
            "ci": {k: list(v) for k, v in self.ci.items()}, "loglik": self.loglik,
            "n_obs": self.n_obs, "n_params": self.n_params, "aic": self.aic, "bic": self.bic,
            "fixed": self.fixed, "identified": self.identified, "level": self.level,
            "ci_method": self.ci_method, "details": self.details,
        }


@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio test of a restricted family inside a general one.

    Attributes:
        restricted: The null family.
        general: The alternative.
        pinned: Values of the general family's parameters that make it the null.
        statistic: ``2 (loglik_general - loglik_null)``, >= 0, where the null's
            log-likelihood is the better of the restricted family's fit and the pinned
            general family's fit (the same where the nesting is exact).
        df: Number of parameters pinned.
        n_boundary: How many of them are pinned at a bound of their range.
        p_value: From the chi-bar-squared mixture ``sum_j C(b, j) 2^-b chi2(df - b + j)``
            when ``b`` pinned values lie on a bound (Self and Liang 1987, taking the
            boundary parameters as orthogonal), the plain chi-square otherwise, and a
            conservative chi-square with ``df`` degrees of freedom where the null leaves
            parameters unidentified (mixture shares).
        method: Which of those.
        exact_nesting: Whether the pinned general family reproduces the restricted
            family's fit (False, for example, for the sophisticated beta-delta agent at
            beta = 1, an exponential agent that anticipates its own choice noise).
    """

    restricted: str
    general: str
    pinned: dict[str, float]
    statistic: float
    df: int
    n_boundary: int
    p_value: float
    method: str
    exact_nesting: bool

    def rejects(self, level: float = 0.05) -> bool:
        """Whether the null family is rejected at ``level``."""
        return self.p_value < level

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)
