"""Checkers for chapter 3.5, optimization algorithms.

The references are the NumPy engine's optimizers (``cnncourse.scratch.optimizers``),
which the tests compare with Keras step by step, and NumPy's eigenvalues.
"""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "07_optimizers"


def _gradients(steps, size, seed):
    """A sequence of ``steps`` gradients of shape ``(size,)``, some small, some large (drawn from the grading seed)."""
    rng = grading_rng(seed)
    # |g| >= 0.1 of its scale: where |g| is near Adam's epsilon, Keras's and the paper's placements of epsilon differ
    # by much of a step, and a correct answer in either convention must pass.
    gradients = []
    for _ in range(steps):
        magnitude = np.maximum(np.abs(rng.normal(0, 1, size)), 0.1)
        gradients.append(np.copysign(magnitude, rng.choice([-1.0, 1.0], size)) * rng.choice([0.1, 1.0, 10.0]))
    return gradients


def _as_tuple(received, what, names):
    """``received`` as a tuple of ``len(names)`` items, or a readable failure naming them."""
    if not isinstance(received, (tuple, list)) or len(received) != len(names.strip("()").split(",")):
        raise ExerciseFailed(f"{what}: return a tuple {names}, received {type(received).__name__} {received!r}"[:300])
    return received


@register("momentum_step", CHAPTER, "one step of gradient descent with momentum, Keras's rule (theta, velocity)")
def _check_momentum_step(candidate):
    from ..scratch import SGD

    for learning_rate, momentum in ((0.1, 0.9), (0.01, 0.5), (0.3, 0.0)):
        reference = SGD(learning_rate, momentum=momentum)
        expected_theta = np.array([1.0, -2.0, 0.5])
        theta, velocity = expected_theta.copy(), np.zeros(3)
        for step, gradient in enumerate(_gradients(5, 3, seed=11), start=1):
            what = f"momentum_step(..., learning_rate={learning_rate}, momentum={momentum}) at step {step}"
            received = call_candidate(candidate, theta.copy(), velocity.copy(), gradient.copy(), learning_rate, momentum,
                                      what=what)
            theta, velocity = _as_tuple(received, what, "(theta, velocity)")
            before = expected_theta.copy()
            reference.apply_gradients([(gradient, expected_theta)])
            expected_velocity = expected_theta - before  # without Nesterov, theta += v
            if momentum and step == 1 and is_close(velocity, gradient, rtol=1e-7, atol=1e-14):
                raise ExerciseFailed(f"{what}: your velocity is the gradient itself (PyTorch's convention). Keras's "
                                     "velocity includes the step: v = momentum * v - learning_rate * g, then theta += v")
            assert_close(theta, expected_theta, what=f"{what}: theta", rtol=1e-6, atol=1e-8)
            if momentum:
                assert_close(velocity, expected_velocity, what=f"{what}: velocity", rtol=1e-6, atol=1e-8)
            theta, velocity = np.asarray(theta, float), np.asarray(velocity, float)


@register("adam_step", CHAPTER, "one Adam update (theta, m, v) at step t, with bias correction")
def _check_adam_step(candidate):
    from ..scratch import Adam

    for learning_rate, beta_1, beta_2 in ((0.001, 0.9, 0.999), (0.1, 0.8, 0.99)):
        reference = Adam(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=1e-7)
        expected_theta = np.array([0.5, -1.5, 2.0, 0.0])
        theta, m, v = expected_theta.copy(), np.zeros(4), np.zeros(4)
        expected_m, expected_v = np.zeros(4), np.zeros(4)
        for step, gradient in enumerate(_gradients(6, 4, seed=12), start=1):
            what = f"adam_step(..., step={step}, learning_rate={learning_rate}, beta_1={beta_1}, beta_2={beta_2})"
            received = call_candidate(candidate, theta.copy(), m.copy(), v.copy(), gradient.copy(), step, learning_rate,
                                      beta_1, beta_2, 1e-7, what=what)
            theta, m, v = _as_tuple(received, what, "(theta, m, v)")
            reference.apply_gradients([(gradient, expected_theta)])
            expected_m = beta_1 * expected_m + (1 - beta_1) * gradient
            expected_v = beta_2 * expected_v + (1 - beta_2) * gradient**2
            for name, array, raw, bias in (("m", m, expected_m, beta_1), ("v", v, expected_v, beta_2)):
                if is_close(array, raw / (1 - bias**step), rtol=1e-7, atol=1e-14):
                    raise ExerciseFailed(f"{what}: return the raw moment {name}, not its bias-corrected "
                                         f"{name}_hat: the raw one is what the next step updates")
                assert_close(array, raw, what=f"{what}: moment {name}", rtol=1e-7, atol=1e-14)
            # Keras's and the paper's placement of epsilon differ by about epsilon / |g| of a step: both pass.
            assert_close(theta, expected_theta, what=f"{what}: theta (did you correct m and v for their start at zero, "
                         "m_hat = m / (1 - beta_1**t), v_hat = v / (1 - beta_2**t)?)", rtol=1e-5, atol=1e-3 * learning_rate)
            theta, m, v = np.asarray(theta, float), np.asarray(m, float), np.asarray(v, float)


@register("max_stable_learning_rate", CHAPTER, "largest stable gradient-descent step 2 / lambda_max of a Hessian")
def _check_max_stable_learning_rate(candidate):
    rng = grading_rng(13)
    basis = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    eigenvalues = np.array([rng.uniform(0.2, 1.0), rng.uniform(2.0, 5.0), rng.uniform(10.0, 60.0)])  # drawn: no table
    cases = [np.diag([2.0, 10.0]), np.array([[10.67, 4.0], [4.0, 2.0]]), basis @ np.diag(eigenvalues) @ basis.T]
    for hessian in cases:
        expected = 2 / np.linalg.eigvalsh(hessian).max()
        what = f"max_stable_learning_rate(hessian of shape {hessian.shape}, eigenvalues {np.round(np.linalg.eigvalsh(hessian), 3).tolist()})"
        received = call_candidate(candidate, hessian.copy(), what=what)
        smallest = 2 / np.linalg.eigvalsh(hessian).min()
        try:
            value = float(received)
        except (TypeError, ValueError):
            value = None
        if value is not None and np.isclose(value, smallest):
            raise ExerciseFailed(f"{what}: you used the smallest eigenvalue; the steepest direction (largest "
                                 f"eigenvalue) diverges first. Expected {expected:.6g}, received {value:.6g}")
        if value is not None and np.isclose(value, expected / 2):
            raise ExerciseFailed(f"{what}: received 1 / lambda_max = {value:.6g}; that is the fastest step, not the "
                                 f"largest stable one, which is 2 / lambda_max = {expected:.6g}")
        assert_close(received, expected, what=what, rtol=1e-6)



def _quadratic_problems():
    """``(name, loss, gradient, start, high, hessian)``: the chapter's line fit and a rotated quadratic.

    The line fit's 64 points come from ``default_rng(0)`` exactly as in the chapter (fixed,
    independent of any seed offset and of the grading seed: it is the chapter's own problem,
    whose answer the chapter shows); the quadratic, its eigenvalues, rotation and start are
    drawn from the grading seed, so a table of answers cannot pass. ``high`` is a learning
    rate at which GD diverges.
    """
    rng = np.random.default_rng(0)
    x_points = rng.uniform(0, 4, 64)
    y_points = 1.5 * x_points + 0.5 + rng.normal(0, 0.5, 64)

    def line_loss(theta):
        return float(np.mean((theta[0] * x_points + theta[1] - y_points) ** 2))

    def line_gradient(theta):
        residual = theta[0] * x_points + theta[1] - y_points
        return np.array([2 * np.mean(residual * x_points), 2 * np.mean(residual)])

    line_hessian = 2 * np.array([[np.mean(x_points**2), np.mean(x_points)], [np.mean(x_points), 1.0]])
    yield "the line fit", line_loss, line_gradient, np.array([-1.0, 4.0]), 0.2, line_hessian
    rng = grading_rng(17)
    basis = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    # lambda_max in [7, 12], so that high = 0.3 > 2 / lambda_max diverges; the others well below it.
    eigenvalues = np.array([rng.uniform(0.3, 1.0), rng.uniform(1.5, 4.0), rng.uniform(7.0, 12.0)])
    hessian = basis @ np.diag(eigenvalues) @ basis.T
    minimum = np.round(rng.uniform(-2.0, 2.0, 3), 2)
    # The start's error has 1 to 3 units along every eigenvector, the steep one included: without a share
    # there, no number of steps could show GD diverge, and no measurement could find 2 / lambda_max.
    start = minimum + basis @ (rng.uniform(1.0, 3.0, 3) * rng.choice([-1.0, 1.0], 3))

    def bowl_loss(theta):
        return float(0.5 * (theta - minimum) @ hessian @ (theta - minimum))

    def bowl_gradient(theta):
        return hessian @ (theta - minimum)

    name = "a 3-D quadratic with eigenvalues " + ", ".join(f"{value:.3g}" for value in eigenvalues)
    yield name, bowl_loss, bowl_gradient, start, 0.3, hessian


@register("measured_max_lr", CHAPTER, "measure the largest stable learning rate of GD by experiment (a number, ~2 / lambda_max)")
def _check_measured_max_lr(candidate):
    for name, loss, gradient, start, high, hessian in _quadratic_problems():
        eigenvalues = np.linalg.eigvalsh(hessian)
        expected = 2 / eigenvalues.max()
        what = f"measured_max_lr(loss, gradient, start, high={high}) on {name}"
        with np.errstate(over="ignore", invalid="ignore"):  # diverging runs overflow, as they should
            received = call_candidate(candidate, loss, gradient, start.copy(), high, what=what)
        if isinstance(received, (bool, np.bool_)):
            raise ExerciseFailed(f"{what}: return the learning rate you measured, received {received!r}")
        try:
            value = float(received)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}: return one number, received {type(received).__name__} {received!r}"[:300]) from None
        if np.isclose(value, 1 / eigenvalues.max(), rtol=0.01):
            raise ExerciseFailed(f"{what}: {value:.4g} is 1 / lambda_max, the step that removes the steep direction's "
                                 "error at once; GD still converges with larger steps, up to twice that.")
        if value > expected * 1.01:
            raise ExerciseFailed(f"{what}: {value:.4g} is too large: there the steep direction's error grows at every "
                                 "step. Run more steps (a few hundred), and call a rate stable only when the loss went down.")
        if value < expected * 0.99:
            raise ExerciseFailed(f"{what}: {value:.4g} is too small: GD still converges with larger learning rates. "
                                 "Narrow your search further (to 3 significant digits), or run more steps.")
