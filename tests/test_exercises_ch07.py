"""Chapter 3.5's exercise checkers: each passes correct answers and fails wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("07_optimizers")}
    assert names == {"momentum_step", "adam_step", "max_stable_learning_rate", "measured_max_lr"}


# momentum_step -------------------------------------------------------------------------


def keras_momentum(theta, velocity, gradient, learning_rate, momentum):
    velocity = momentum * velocity - learning_rate * gradient
    return theta + velocity, velocity


def test_momentum_step_accepts_keras_rule_and_keras_itself():
    assert check("momentum_step", keras_momentum)

    from cnncourse.backend import import_keras

    keras = import_keras()

    def with_keras(theta, velocity, gradient, learning_rate, momentum):
        # A fresh Keras optimizer per step, its momentum slot set to the velocity carried so far.
        optimizer = keras.optimizers.SGD(learning_rate, momentum=momentum)
        variable = keras.Variable(theta, dtype="float64")
        optimizer.build([variable])
        if momentum:
            optimizer.momentums[0].assign(velocity)
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient, dtype="float64"), variable)])
        new_velocity = optimizer.momentums[0].numpy() if momentum else -learning_rate * gradient
        return variable.numpy(), new_velocity

    assert check("momentum_step", with_keras)


def test_momentum_step_explains_the_pytorch_convention():
    def pytorch(theta, velocity, gradient, learning_rate, momentum):
        velocity = momentum * velocity + gradient
        return theta - learning_rate * velocity, velocity

    with pytest.raises(ExerciseFailed, match=r"PyTorch's convention"):
        check("momentum_step", pytorch)


def test_momentum_step_rejects_forgotten_velocity_and_wrong_return():
    with pytest.raises(ExerciseFailed, match=r"theta.*wrong values"):
        check("momentum_step", lambda t, v, g, lr, m: (t - lr * g, m * v - lr * g))
    with pytest.raises(ExerciseFailed, match=r"return a tuple \(theta, velocity\)"):
        check("momentum_step", lambda t, v, g, lr, m: keras_momentum(t, v, g, lr, m)[0])


# adam_step -----------------------------------------------------------------------------


def keras_adam(theta, m, v, gradient, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient**2
    alpha = learning_rate * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
    return theta - alpha * m / (np.sqrt(v) + epsilon), m, v


def paper_adam(theta, m, v, gradient, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    m = beta_1 * m + (1 - beta_1) * gradient
    v = beta_2 * v + (1 - beta_2) * gradient**2
    m_hat, v_hat = m / (1 - beta_1**step), v / (1 - beta_2**step)
    return theta - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def test_adam_step_accepts_keras_and_paper_forms():
    assert check("adam_step", keras_adam)
    assert check("adam_step", paper_adam)


def test_adam_step_rejects_missing_bias_correction():
    def uncorrected(theta, m, v, gradient, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        m = beta_1 * m + (1 - beta_1) * gradient
        v = beta_2 * v + (1 - beta_2) * gradient**2
        return theta - learning_rate * m / (np.sqrt(v) + epsilon), m, v

    with pytest.raises(ExerciseFailed, match=r"theta \(did you correct m and v"):
        check("adam_step", uncorrected)


def test_adam_step_rejects_corrected_moments_and_swapped_betas():
    def returns_hats(theta, m, v, gradient, step, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        theta, m, v = keras_adam(theta, m, v, gradient, step, learning_rate, beta_1, beta_2, epsilon)
        return theta, m / (1 - beta_1**step), v / (1 - beta_2**step)

    with pytest.raises(ExerciseFailed, match=r"return the raw moment m"):
        check("adam_step", returns_hats)
    with pytest.raises(ExerciseFailed, match=r"moment m.*wrong values"):
        check("adam_step", lambda t, m, v, g, s, lr=0.001, b1=0.9, b2=0.999, e=1e-7: keras_adam(t, m, v, g, s, lr, b2, b1, e))


# max_stable_learning_rate --------------------------------------------------------------


def test_max_stable_learning_rate_accepts_eigenvalues_and_power_iteration():
    assert check("max_stable_learning_rate", lambda hessian: 2 / np.linalg.eigvalsh(hessian).max())

    def power_iteration(hessian):
        vector = np.ones(len(hessian))
        for _ in range(2000):
            vector = hessian @ vector
            vector /= np.linalg.norm(vector)
        return 2 / float(vector @ hessian @ vector)

    assert check("max_stable_learning_rate", power_iteration)


def test_max_stable_learning_rate_names_the_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"smallest eigenvalue"):
        check("max_stable_learning_rate", lambda hessian: 2 / np.linalg.eigvalsh(hessian).min())
    with pytest.raises(ExerciseFailed, match=r"fastest step, not the largest stable one"):
        check("max_stable_learning_rate", lambda hessian: 1 / np.linalg.eigvalsh(hessian).max())
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("max_stable_learning_rate", lambda hessian: 2 / np.trace(hessian))


# measured_max_lr ---------------------------------------------------------------------------


def bisection(loss, gradient, start, high, steps=200, iterations=30):
    """What a student measures: bisection on alpha, stable when GD's loss after `steps` went down."""

    def stable(alpha):
        theta = np.array(start, dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                theta = theta - alpha * gradient(theta)
            return loss(theta) < loss(start)

    low = 0.0
    for _ in range(iterations):
        middle = (low + high) / 2
        low, high = (middle, high) if stable(middle) else (low, middle)
    return low


def test_measured_max_lr_accepts_a_bisection():
    assert check("measured_max_lr", bisection)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda loss, gradient, start, high: bisection(loss, gradient, start, high) / 2, "1 / lambda_max"),
        (lambda loss, gradient, start, high: high, "too large"),
        (lambda loss, gradient, start, high: 1.03 * bisection(loss, gradient, start, high), "too large"),
        (lambda loss, gradient, start, high: bisection(loss, gradient, start, high, steps=3), "too large"),
        (lambda loss, gradient, start, high: bisection(loss, gradient, start, high, iterations=3), "too small"),
        (lambda loss, gradient, start, high: 0.165, "too small"),  # the line fit's number, hard-coded: wrong on the other
        (lambda loss, gradient, start, high: "0.165 or so", "return one number"),
        (lambda loss, gradient, start, high: True, "return the learning rate you measured"),
    ],
)
def test_measured_max_lr_rejects_wrong_numbers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("measured_max_lr", wrong)
