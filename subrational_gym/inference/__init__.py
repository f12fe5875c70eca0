"""Which behavioural model explains a policy? Structural fits with choice noise.

Behavioural economists tell structure from noise by structural estimation: fit each
candidate model, with its own choice noise, to the observed choices by maximum
likelihood, and compare the fits. This package does that for the four games, for
demonstrations (an LLM persona's or anyone's), for any policy's expected choices and
for aggregate human data entered as weighted observations.

>>> from subrational_gym import policies
>>> from subrational_gym.inference import ActionCounts, FAMILIES, compare, fit, lr_test
>>> student = policies.beta_delta("Subrational/Procrastination-v0", beta=0.5,
...                               sophisticated=True, temperature=0.3,
...                               env_kwargs={"self_imposed_deadline": True})
>>> counts = ActionCounts.sample(student, 500, seed=0)
>>> result = fit("beta_delta_sophisticated", counts)
>>> lo, hi = result.ci["beta"]
>>> # Present bias is credited by the test against every exponential model with its own
>>> # noise (an interval of beta alone does not rule the exponential family out):
>>> lr_test(counts, "exponential", "beta_delta_sophisticated").rejects()
True
>>> FAMILIES[counts.game.game]   # the families the game's study fits
('exponential', 'beta_delta_naive', 'beta_delta_sophisticated')

The families (:data:`FAMILIES`), their parameters and nestings are listed in
:mod:`subrational_gym.inference.families`; the fitting, intervals and tests in
:mod:`subrational_gym.inference.fitting` (its optimiser in
:mod:`subrational_gym.inference.optimiser`, its records in
:mod:`subrational_gym.inference.results`). ``python -m subrational_gym.inference
DEMOS --env-id ID`` prints the comparison for saved demonstrations.
"""

from __future__ import annotations

from subrational_gym.inference.bootstrap import (
    BootstrapLRTest,
    bootstrap_lr_test,
    count_episodes,
)
from subrational_gym.inference.counts import ActionCounts
from subrational_gym.inference.families import (
    FAMILIES,
    NESTINGS,
    TEMPERATURE_RANGE,
    Family,
    Parameter,
    get_family,
)
from subrational_gym.inference.fitting import (
    Comparison,
    FitResult,
    LRTest,
    chi_bar_squared_sf,
    compare,
    fit,
    log_likelihood,
    lr_test,
)

__all__ = [
    "FAMILIES",
    "NESTINGS",
    "TEMPERATURE_RANGE",
    "ActionCounts",
    "BootstrapLRTest",
    "Comparison",
    "Family",
    "FitResult",
    "LRTest",
    "Parameter",
    "bootstrap_lr_test",
    "chi_bar_squared_sf",
    "compare",
    "count_episodes",
    "fit",
    "get_family",
    "log_likelihood",
    "lr_test",
]
