"""Chapter 3.3's exercise checkers: each passes a correct answer and fails wrong ones readably."""

import numpy as np
import pytest
from scipy.special import softmax as scipy_softmax

from cnncourse.exercises import ExerciseFailed, check, exercises


def correct_dense_backward(x, kernel, dz):
    return dz @ kernel.T, x.T @ dz, dz.sum(axis=0)


def stable_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_chapter_lists_its_checkers():
    assert {exercise.name for exercise in exercises("05_dense")} == {"dense_backward", "softmax", "leaky_relu_backward"}


# dense_backward ----------------------------------------------------------------------------


def test_dense_backward_accepts_matrix_products():
    assert check("dense_backward", correct_dense_backward)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, k, dz: (dz @ k.T, dz.T @ x, dz.sum(axis=0)), r"dz.T @ x, the gradient of the seed's W"),
        (lambda x, k, dz: (dz @ k.T, x.T @ dz, dz), "sum of dz over the batch axis"),
        (lambda x, k, dz: (dz @ k.T, x.T @ dz, dz.mean(axis=0)), "it must be the sum"),
        (lambda x, k, dz: ((dz @ k.T).T, x.T @ dz, dz.sum(axis=0)), "dx must have x.s shape"),
        (lambda x, k, dz: (dz @ k.T, 2 * x.T @ dz, dz.sum(axis=0)), "dkernel: wrong values"),
        (lambda x, k, dz: (dz @ k.T, x.T @ dz), r"expected a tuple \(dx, dkernel, dbias\)"),
        (lambda x, k, dz: (dz @ k.T, x.T @ dz, None), "received None"),
    ],
)
def test_dense_backward_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("dense_backward", wrong)


def test_dense_backward_reports_stub():
    def stub(x, kernel, dz):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="not implemented yet"):
        check("dense_backward", stub)


# softmax -----------------------------------------------------------------------------------


def test_softmax_accepts_stable_versions():
    assert check("softmax", stable_softmax)
    assert check("softmax", lambda z: scipy_softmax(z, axis=-1))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda z: np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True), "overflows"),
        (lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=0, keepdims=True), "first axis"),
        (lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum(), "must sum to 1"),
        (lambda z: stable_softmax(z)[..., :-1], "expected the input's shape"),
        (lambda z: 1 / (1 + np.exp(-z)), "wrong values"),
        (lambda z: None, "received None"),
    ],
)
def test_softmax_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("softmax", wrong)


# leaky_relu_backward -----------------------------------------------------------------------


def test_leaky_relu_backward_accepts_where_and_tensorflow():
    assert check("leaky_relu_backward", lambda dy, z, slope: np.where(z > 0, dy, slope * dy))
    tf = pytest.importorskip("tensorflow")

    def by_gradient_tape(dy, z, slope):
        z_tensor = tf.constant(z)
        with tf.GradientTape() as tape:
            tape.watch(z_tensor)
            y = tf.nn.leaky_relu(z_tensor, alpha=slope)
        return tape.gradient(y, z_tensor, output_gradients=tf.constant(dy)).numpy()

    assert check("leaky_relu_backward", by_gradient_tape)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda dy, z, slope: np.where(z > 0, dy, 0.0), "ReLU's backward pass"),
        (lambda dy, z, slope: np.where(z > 0, 1.0, slope), "derivative g'\\(z\\) alone"),
        (lambda dy, z, slope: np.where(z > 0, slope * dy, dy), "slopes are swapped"),
        (lambda dy, z, slope: np.where(z > 0, dy, -slope * dy), "wrong values"),
        (lambda dy, z, slope: None, "received None"),
    ],
)
def test_leaky_relu_backward_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("leaky_relu_backward", wrong)
