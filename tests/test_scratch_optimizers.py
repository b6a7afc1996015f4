"""Optimizers of cnncourse.scratch: the update rules written out by hand."""

import numpy as np
import pytest
from conftest import optimizer_steps

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


GRADIENTS = [[0.5, -1.0], [0.3, 0.2], [-0.1, 0.4]]


def test_sgd_is_the_seeds_rule():
    theta = optimizer_steps(scratch.SGD(learning_rate=0.1), GRADIENTS[:1], [1.0, 2.0])
    np.testing.assert_allclose(theta, [1.0 - 0.1 * 0.5, 2.0 + 0.1 * 1.0])


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_rule(nesterov):
    lr, mu = 0.1, 0.9
    theta, velocity = np.array([1.0, 2.0]), np.zeros(2)
    for g in map(np.array, GRADIENTS):
        velocity = mu * velocity - lr * g
        theta = theta + (mu * velocity - lr * g if nesterov else velocity)
    result = optimizer_steps(scratch.SGD(lr, momentum=mu, nesterov=nesterov), GRADIENTS, [1.0, 2.0])
    np.testing.assert_allclose(result, theta, rtol=1e-14)


def test_adam_rule_and_defaults():
    adam = scratch.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    theta, m, v = np.array([1.0, 2.0]), np.zeros(2), np.zeros(2)
    for t, g in enumerate(map(np.array, GRADIENTS), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta = theta - 0.001 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(optimizer_steps(scratch.Adam(), GRADIENTS, [1.0, 2.0]), theta, rtol=1e-14)
    assert adam.iterations == 0


def test_full_batch_sgd_descends_a_quadratic():
    # Plain gradient descent (SGD with momentum 0 on the whole batch) on L = mean((X w - y)^2).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    w_true = np.array([1.0, -2.0, 0.5])
    y = X @ w_true
    w = np.zeros(3)
    optimizer = scratch.SGD(learning_rate=0.1)
    losses = []
    for _ in range(200):
        residual = X @ w - y
        losses.append(np.mean(residual**2))
        optimizer.apply_gradients([(2 * X.T @ residual / len(y), w)])
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    np.testing.assert_allclose(w, w_true, atol=1e-6)


def test_state_is_per_parameter_and_updates_are_in_place():
    a, b = np.zeros(2), np.zeros(3)
    sgd = scratch.SGD(0.1, momentum=0.5)
    sgd.apply_gradients([(np.ones(2), a), (np.ones(3), b)])
    sgd.apply_gradients([(np.ones(2), a), (np.ones(3), b)])
    np.testing.assert_allclose(a, [-0.25, -0.25])
    np.testing.assert_allclose(b, -0.25)
    assert sgd.iterations == 2


@pytest.mark.parametrize("make, error, message", [
    (lambda: scratch.SGD(learning_rate=-0.1), ValueError, r"learning_rate must be in \(0.0, inf\), got -0.1"),
    (lambda: scratch.SGD(momentum=1.0), ValueError, r"momentum must be in \[0.0, 1.0\), got 1.0"),
    (lambda: scratch.Adam(beta_1=1.5), ValueError, r"beta_1 must be in \[0.0, 1.0\), got 1.5"),
    (lambda: scratch.Adam(learning_rate="fast"), TypeError, "learning_rate must be a float, got str"),
    (lambda: scratch.get_optimizer("rmsprop"), ValueError, r"optimizer must be an Optimizer object or one of \['adam', 'sgd'\]"),
])
def test_bad_optimizer_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_gradient_shape_is_checked():
    with pytest.raises(ValueError, match=r"gradient must have the parameter's shape \(2,\), got \(3,\)"):
        scratch.SGD().apply_gradients([(np.ones(3), np.zeros(2))])
