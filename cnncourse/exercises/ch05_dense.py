"""Checkers for chapter 3.3, fully connected (dense) layers.

Every expected answer comes from ``cnncourse.scratch`` (itself tested against Keras).
The students work in Keras's layout: a batch ``x (N, in)`` as rows, a kernel
``(in, out)``, ``z = x @ kernel + bias``.
"""

import numpy as np

from ..scratch import Dense, softmax
from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "05_dense"


def _dense_cases():
    """``(x, kernel, dz)`` with in != out, so a transposed kernel or gradient shows in its shape."""
    x = np.array([[1.0, 2.0, -1.0]])  # the chapter's worked example
    kernel = np.array([[1.0, 2.0], [-2.0, 1.0], [0.0, 1.0]])
    yield x, kernel, np.array([[0.0, 1.0]])
    rng = grading_rng(6)
    for batch, features, units in ((4, 5, 3), (7, 2, 6), (1, 6, 4)):
        yield rng.normal(size=(batch, features)), rng.normal(size=(features, units)), rng.normal(size=(batch, units))


def _reference_dense_backward(x, kernel, dz):
    """``(dx, dkernel, dbias)`` from the scratch engine's Dense layer (linear activation)."""
    layer = Dense(kernel.shape[1], dtype="float64")
    layer.build((kernel.shape[0],))
    layer.set_weights([kernel, np.zeros(kernel.shape[1])])
    layer.forward(x)
    dx = layer.backward(dz)
    return dx, layer.grads["kernel"], layer.grads["bias"]


@register("dense_backward", CHAPTER, "backward pass of z = x @ kernel + bias: gradients w.r.t. x, kernel and bias")
def _check_dense_backward(candidate):
    for x, kernel, dz in _dense_cases():
        what = f"dense_backward(x {x.shape}, kernel {kernel.shape}, dz {dz.shape})"
        received = call_candidate(candidate, x.copy(), kernel.copy(), dz.copy(), what=what)
        if not isinstance(received, (tuple, list)) or len(received) != 3:
            raise ExerciseFailed(f"{what}: expected a tuple (dx, dkernel, dbias), received {type(received).__name__} {received!r:.120}")
        dx, dkernel, dbias = received
        expected_dx, expected_dkernel, expected_dbias = _reference_dense_backward(x, kernel, dz)

        if dkernel is None or np.shape(dkernel) != expected_dkernel.shape:
            hint = ""
            if is_close(dkernel, expected_dkernel.T):
                hint = (" You computed dz.T @ x, the gradient of the seed's W (out, in). Keras stores the kernel as "
                        "(in, out) = W.T, and its gradient has the kernel's shape: x.T @ dz.")
            raise ExerciseFailed(
                f"{what}: dkernel must have the kernel's shape {expected_dkernel.shape}, received {np.shape(dkernel)}.{hint}"
            )
        assert_close(dkernel, expected_dkernel, what=f"{what}, dkernel")

        if dbias is not None and np.shape(dbias) == dz.shape and dz.shape != expected_dbias.shape:
            raise ExerciseFailed(
                f"{what}: dbias has shape {np.shape(dbias)}, one row per sample. The same bias is added to every "
                f"sample, so its gradient is the sum of dz over the batch axis: shape {expected_dbias.shape}."
            )
        if x.shape[0] > 1 and is_close(dbias, expected_dbias / x.shape[0]):
            raise ExerciseFailed(
                f"{what}: dbias is the mean of dz over the batch; it must be the sum (any averaging is already "
                f"in dz, which comes from the loss)."
            )
        assert_close(dbias, expected_dbias, what=f"{what}, dbias")

        if dx is None or np.shape(dx) != expected_dx.shape:
            raise ExerciseFailed(
                f"{what}: dx must have x's shape {expected_dx.shape}, received {np.shape(dx)}. "
                f"Each input feature gets the sum of dz times the weights it feeds: dz @ kernel.T."
            )
        assert_close(dx, expected_dx, what=f"{what}, dx")


def _softmax_cases():
    yield np.array([2.0, 1.0, 0.1])                              # one vector of 3 logits
    yield np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.0, 5.0, 2.0]])
    yield grading_rng(7).normal(size=(4, 2, 5))        # any number of leading axes
    yield np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]])  # large logits


@register("softmax", CHAPTER, "numerically stable softmax over the last axis")
def _check_softmax(candidate):
    for z in _softmax_cases():
        what = f"softmax(z {z.shape}, values from {z.min():g} to {z.max():g})"
        with np.errstate(all="ignore"):  # a naive answer overflows; we report that ourselves
            received = call_candidate(candidate, z.copy(), what=what)
        expected = softmax(z)
        if received is None:
            raise ExerciseFailed(f"{what}: received None. Does your function `return` its result?")
        try:
            received_array = np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}: expected an array of shape {expected.shape}, received {type(received).__name__}") from None
        if received_array.shape != expected.shape:
            raise ExerciseFailed(f"{what}: expected the input's shape {expected.shape}, received {received_array.shape}")
        if not np.all(np.isfinite(received_array)):
            raise ExerciseFailed(
                f"{what}: your result contains NaN or inf: exp(1000) overflows. Subtract each row's maximum "
                f"from the logits first: softmax(z) = softmax(z - max(z)), and the largest exponent is then exp(0) = 1."
            )
        if z.ndim > 1 and is_close(received_array, np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=0, keepdims=True)):
            raise ExerciseFailed(f"{what}: you normalised over the first axis; softmax works over the last (each row sums to 1).")
        if z.ndim > 1 and not np.allclose(received_array.sum(axis=-1), 1.0, atol=1e-6):
            raise ExerciseFailed(f"{what}: the probabilities over the last axis must sum to 1; yours sum to "
                                 f"{np.array2string(received_array.sum(axis=-1).reshape(-1)[:4], precision=4)}")
        assert_close(received_array, expected, what=what)



@register("leaky_relu_backward", CHAPTER, "backward pass of leaky ReLU: dz = dy where z > 0, negative_slope * dy elsewhere")
def _check_leaky_relu_backward(candidate):
    rng = grading_rng(8)
    for shape, negative_slope in (((7,), 0.2), ((4, 5), 0.01), ((2, 3, 3, 2), 0.3)):
        z = rng.normal(0, 2, shape)
        z[np.abs(z) < 1e-3] = 0.5  # no z = 0 exactly, where the derivative is a convention
        dy = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        expected = np.where(z > 0, dy, negative_slope * dy)
        what = f"leaky_relu_backward(dy {shape}, z {shape}, negative_slope={negative_slope})"
        received = call_candidate(candidate, dy.copy(), z.copy(), negative_slope, what=what)
        if received is None:
            raise ExerciseFailed(f"{what}: received None. Does your function `return` dz?")
        if is_close(received, np.where(z > 0, dy, 0.0)) and (z < 0).any():  # a drawn z may be positive everywhere
            raise ExerciseFailed(f"{what}: that is ReLU's backward pass (0 where z < 0). Leaky ReLU's slope there is "
                                 f"negative_slope = {negative_slope}, so dz = {negative_slope} * dy: the unit keeps learning.")
        if is_close(received, np.where(z > 0, 1.0, negative_slope)):
            raise ExerciseFailed(f"{what}: you returned the derivative g'(z) alone; the chain rule multiplies it by "
                                 "the upstream gradient: dz = g'(z) * dy.")
        if is_close(received, np.where(z > 0, negative_slope * dy, dy)) and not is_close(received, expected):
            raise ExerciseFailed(f"{what}: the two slopes are swapped: 1 where z > 0, negative_slope where z < 0.")
        assert_close(received, expected, what=what)
