"""The planners and likelihoods at a batch of parameters, and the optimiser that uses them."""

from __future__ import annotations

import numpy as np
import pytest

from subrational_gym import planning, policies
from subrational_gym.controls import uniform_policy
from subrational_gym.inference import ActionCounts, fit
from subrational_gym.inference.optimiser import Objective, forward_steps

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


def test_the_gradient_is_the_one_scipy_would_take():
    """One batch (the centre and its forward points) gives scipy's own forward difference,
    to the last bit, inside the box and at both bounds; the fit is the one L-BFGS-B finds
    with scipy's differences; every batch holds the centre and one point per coordinate."""
    from scipy import optimize
    from scipy.optimize._numdiff import approx_derivative

    lower, upper = np.array([-1.0, 0.0]), np.array([1.0, 2.0])
    sizes = []

    def f(x):
        return float((x[0] - 0.3) ** 2 + (x[1] - 2.0) ** 2 + x[0] * x[1] + np.sin(3 * x[0]))

    def many(xs):
        sizes.append(len(xs))
        return np.array([f(x) for x in xs])

    objective = Objective(f, many)
    for x in ([0.5, 1.0], [1.0, 2.0], [-1.0, 0.0], [0.0, 2.0 - 1e-9]):
        x = np.array(x)
        value, grad = objective.value_and_grad(x, lower, upper)
        theirs = approx_derivative(f, x, method="2-point", f0=f(x), abs_step=1e-8,
                                   bounds=(lower, upper))
        assert value == f(x)
        np.testing.assert_array_equal(grad, theirs)
    ours = optimize.minimize(objective.value_and_grad, np.array([0.5, 1.0]),
                             args=(lower, upper), jac=True, method="L-BFGS-B",
                             bounds=list(zip(lower, upper, strict=True)))
    plain = optimize.minimize(f, np.array([0.5, 1.0]), method="L-BFGS-B",
                              bounds=list(zip(lower, upper, strict=True)))
    np.testing.assert_array_equal(ours.x, plain.x)
    assert set(sizes) == {3}
    steps = forward_steps(np.array([0.0, 2.0]), lower, upper)
    assert steps[0] > 0 > steps[1]  # backwards at the upper bound


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
