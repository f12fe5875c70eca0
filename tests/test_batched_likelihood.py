"""The planners and likelihoods at a batch of parameters, and the optimiser that uses them."""

from __future__ import annotations

import numpy as np
import pytest

from subrational_gym import planning, policies
from subrational_gym.controls import uniform_policy
from subrational_gym.inference import ActionCounts, fit
from subrational_gym.inference.optimiser import Objective, _forward_points

pytestmark = pytest.mark.core

MARSH, PROC, DON = ("Subrational/Marshmallow-v0", "Subrational/Procrastination-v0",
                    "Subrational/DoubleOrNothing-v0")


def _model(env_id):
    import gymnasium as gym

    return gym.make(env_id).unwrapped.tabular_model()


@pytest.mark.parametrize("env_id", [MARSH, PROC, DON])
@pytest.mark.parametrize("sophisticated", [True, False])
def test_a_batch_sweep_gives_each_point_its_own_sweep(env_id, sophisticated):
    model = _model(env_id)
    betas, deltas, temps = [0.5, 0.9, 1.0], [0.8, 0.97, 1.0], [0.0, 0.3, 2.0]
    values, probs = planning.quasi_hyperbolic_many(model, betas=betas, deltas=deltas,
                                                   sophisticated=sophisticated,
                                                   temperatures=temps)
    for i in range(3):
        one, p = planning.quasi_hyperbolic(model, beta=betas[i], delta=deltas[i],
                                           sophisticated=sophisticated, temperature=temps[i])
        np.testing.assert_allclose(values.q[i], one.q, rtol=0, atol=1e-12)
        np.testing.assert_allclose(values.v[i], one.v, rtol=0, atol=1e-12)
        np.testing.assert_allclose(probs[i], p, rtol=0, atol=1e-12)
    many = planning.value_iteration_many(model, deltas)
    for i, d in enumerate(deltas):
        np.testing.assert_allclose(many.q[i], planning.value_iteration(model, d).q, atol=1e-12)


def test_a_batch_sweep_checks_its_parameters():
    model = _model(PROC)
    with pytest.raises(ValueError, match="beta"):
        planning.quasi_hyperbolic_many(model, betas=[1.5], deltas=[0.9], sophisticated=True,
                                       temperatures=[0.1])
    with pytest.raises(ValueError, match="as long as each other"):
        planning.quasi_hyperbolic_many(model, betas=[0.5, 0.6], deltas=[0.9],
                                       sophisticated=True, temperatures=[0.1])


@pytest.mark.parametrize(("env_id", "family", "params"), [
    (PROC, "beta_delta_sophisticated", {"beta": 0.7, "delta": 0.95}),
    (PROC, "beta_delta_naive", {"beta": 0.7, "delta": 0.95}),
    (MARSH, "exponential", {"gamma": 0.9}),
    (DON, "prospect_theory", {"curvature": 0.8, "loss_aversion": 2.0, "weighting": 0.7}),
    (DON, "prospect_theory_naive", {"curvature": 0.8, "loss_aversion": 2.0,
                                    "weighting": 0.7}),
])
def test_batch_likelihoods_equal_the_point_by_point_ones(env_id, family, params):
    counts = ActionCounts.sample(uniform_policy(env_id), 300, seed=0)
    fam = _family(counts, family)
    points = [{**params, "temperature": t} for t in (0.2, 0.5, 1.5)]
    batch = fam.log_likelihoods(counts, points)
    single = [fam.log_likelihood(counts, p) for p in points]
    np.testing.assert_allclose(batch, single, rtol=1e-12)


def _family(counts, name):
    from subrational_gym.inference.fitting import _resolve

    return _resolve(name, counts)


def test_points_evaluated_ahead_are_the_ones_scipy_asks_for():
    """Every finite-difference point L-BFGS-B asks for was computed with its centre (no
    second pass), and the fit is the one scipy's own differences give."""
    from scipy import optimize

    lower, upper = np.array([-1.0, 0.0]), np.array([1.0, 2.0])
    asked, computed = [], []

    def f(x):
        return float((x[0] - 0.3) ** 2 + (x[1] - 2.0) ** 2 + x[0] * x[1])

    def many(xs):
        computed.extend(map(tuple, xs))
        return np.array([f(x) for x in xs])

    objective = Objective(f, many)
    objective.bounded(lower, upper)
    original = objective.map

    def spy(func, points):
        points = list(points)
        asked.extend(map(tuple, points))
        return original(func, points)

    res = optimize.minimize(objective, np.array([0.5, 1.0]), method="L-BFGS-B",
                            bounds=list(zip(lower, upper, strict=True)),
                            options={"workers": spy})
    plain = optimize.minimize(f, np.array([0.5, 1.0]), method="L-BFGS-B",
                              bounds=list(zip(lower, upper, strict=True)))
    assert asked and set(asked) <= set(computed)
    # Nothing computed twice: each point once, with its centre.
    assert len(computed) == 3 * len(asked) // 2
    np.testing.assert_array_equal(res.x, plain.x)
    # At the upper bound the step is taken backwards, as scipy does.
    points = _forward_points(np.array([0.0, 2.0]), lower, upper)
    assert points[1][1] < 2.0 and points[0][0] > 0.0


def test_a_fit_is_the_same_with_and_without_the_batch(monkeypatch):
    student = policies.beta_delta(PROC, beta=0.6, sophisticated=True, temperature=0.5)
    counts = ActionCounts.sample(student, 300, seed=3)
    batched = fit("beta_delta_sophisticated", counts, ci=False)
    fam = _family(counts, "beta_delta_sophisticated")
    monkeypatch.setattr(fam, "_utilities_many", None)
    plain = fit("beta_delta_sophisticated", counts, ci=False)
    for k, v in plain.params.items():
        assert batched.params[k] == pytest.approx(v, rel=1e-4, abs=1e-6)  # optimiser tolerance
    assert batched.loglik == pytest.approx(plain.loglik, rel=1e-10)
