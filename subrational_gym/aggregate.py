"""Aggregate results over seeds the rliable way: interquartile mean and bootstrap CIs.

Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the Statistical
Precipice": report the interquartile mean (IQM, the mean of the middle 50% of runs)
with a stratified percentile-bootstrap confidence interval, not a single run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from subrational_gym.errors import ParameterError


def interquartile_mean(values: Sequence[float]) -> float:
    """Mean of the middle 50% of ``values`` (25% trimmed from each end, fractionally).

    >>> interquartile_mean([0.0, 1.0, 2.0, 100.0])
    1.5
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        raise ParameterError("interquartile_mean needs at least one value, got none")
    # Weight each sorted value by its overlap with the middle half of [0, n].
    lo, hi = 0.25 * n, 0.75 * n
    edges = np.arange(n + 1)
    weights = np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
    return float(weights @ x / weights.sum())


@dataclass(frozen=True)
class Aggregate:
    """IQM of a set of runs with a bootstrap confidence interval."""

    iqm: float
    ci_low: float
    ci_high: float
    n_runs: int

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return asdict(self)


def aggregate(
    values: Sequence[float], *, confidence: float = 0.95, n_bootstrap: int = 2000,
    seed: int = 0,
) -> Aggregate:
    """IQM of ``values`` with a percentile-bootstrap confidence interval.

    With a single run the interval collapses to the value itself.
    """
    x = np.asarray(values, dtype=np.float64)
    point = interquartile_mean(x)
    if len(x) == 1:
        return Aggregate(point, point, point, 1)
    rng = np.random.default_rng(seed)
    samples = rng.choice(x, size=(n_bootstrap, len(x)), replace=True)
    stats = np.array([interquartile_mean(s) for s in samples])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Aggregate(point, float(low), float(high), len(x))
