"""Transposed convolution (``cnncourse.scratch.transpose``) against Keras's Conv2DTranspose, in float64.

Forward and gradients (``tf.GradientTape``) for strides 1 and 2 (and a mixed pair), both
paddings, odd and even sizes, kernels smaller and larger than the stride, several channels,
with and without a bias; the loops against the vectorised version; a gradient check; and
the identity that makes it a "transpose": <conv2d(u, K), x> = <u, conv2d_transpose(x, K)>.
"""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import keras_values_and_gradients  # noqa: E402

from cnncourse import scratch  # noqa: E402
from cnncourse.scratch.transpose import (  # noqa: E402
    Conv2DTranspose,
    conv2d_transpose,
    conv2d_transpose_backward,
    conv2d_transpose_forward,
    conv2d_transpose_naive,
    conv2d_transpose_output_length,
)

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

# (x_shape, kernel_size, strides, padding, filters, use_bias)
CASES = [
    ((2, 4, 4, 3), (2, 2), (2, 2), "same", 2, True),     # the U-Net's up-step
    ((2, 4, 4, 3), (2, 2), (2, 2), "valid", 2, True),
    ((1, 5, 3, 2), (3, 3), (2, 2), "same", 4, True),     # odd sizes, kernel larger than the stride
    ((1, 5, 3, 2), (3, 3), (2, 2), "valid", 4, False),
    ((2, 3, 4, 1), (3, 2), (1, 1), "same", 3, True),     # stride 1, rectangular kernel
    ((2, 3, 4, 1), (3, 2), (1, 1), "valid", 3, True),
    ((1, 4, 5, 3), (1, 1), (2, 2), "valid", 2, True),    # kernel smaller than the stride: gaps of zeros
    ((1, 4, 5, 3), (1, 1), (2, 2), "same", 2, True),
    ((2, 3, 3, 2), (4, 3), (2, 1), "same", 1, True),     # mixed strides, even kernel height
    ((2, 3, 3, 2), (4, 3), (1, 2), "valid", 2, False),
]
IDS = [f"x{c[0][1]}x{c[0][2]}c{c[0][3]}-k{c[1][0]}{c[1][1]}-s{c[2][0]}{c[2][1]}-{c[3]}-f{c[4]}-bias{int(c[5])}"
       for c in CASES]


def _keras_layer(filters, kernel_size, strides, padding, use_bias, activation=None):
    return keras.layers.Conv2DTranspose(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                                        activation=activation, dtype="float64")


@pytest.mark.parametrize("x_shape, kernel_size, strides, padding, filters, use_bias", CASES, ids=IDS)
def test_forward_and_backward_match_keras(x_shape, kernel_size, strides, padding, filters, use_bias):
    rng = np.random.default_rng(0)
    x = rng.normal(size=x_shape)
    kernel = rng.normal(size=kernel_size + (filters, x_shape[3]))
    bias = rng.normal(size=filters) if use_bias else None
    layer = _keras_layer(filters, kernel_size, strides, padding, use_bias)
    layer.build((None,) + x_shape[1:])
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    y, cache = conv2d_transpose_forward(x, kernel, bias, strides, padding)
    projection = rng.normal(size=y.shape)
    keras_y, keras_grads = keras_values_and_gradients(layer, x, projection)
    assert y.shape == keras_y.shape == (x_shape[0], conv2d_transpose_output_length(x_shape[1], kernel_size[0], strides[0], padding),
                                        conv2d_transpose_output_length(x_shape[2], kernel_size[1], strides[1], padding), filters)
    np.testing.assert_allclose(y, keras_y, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(conv2d_transpose_naive(x, kernel, bias, strides, padding), y, rtol=1e-12, atol=1e-12)
    dx, dkernel, dbias = conv2d_transpose_backward(projection, cache)
    np.testing.assert_allclose(dx, keras_grads[0], rtol=1e-10, atol=1e-11, err_msg="dx")
    np.testing.assert_allclose(dkernel, keras_grads[1], rtol=1e-10, atol=1e-11, err_msg="dkernel")
    if use_bias:
        np.testing.assert_allclose(dbias, keras_grads[2], rtol=1e-10, atol=1e-11, err_msg="dbias")
    else:
        assert dbias is None


@pytest.mark.parametrize("activation", ["relu", "linear"])
@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[8]], ids=[IDS[0], IDS[3], IDS[8]])
def test_layer_matches_keras_with_the_same_weights(case, activation):
    x_shape, kernel_size, strides, padding, filters, use_bias = case
    x = np.random.default_rng(1).normal(size=x_shape)
    ours = Conv2DTranspose(filters, kernel_size, strides, padding, activation=activation, use_bias=use_bias,
                           seed=0, dtype="float64")
    y = ours.forward(x)
    theirs = _keras_layer(filters, kernel_size, strides, padding, use_bias, activation)
    theirs.build((None,) + x_shape[1:])
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())
    projection = np.random.default_rng(2).normal(size=y.shape)
    keras_y, keras_grads = keras_values_and_gradients(theirs, x, projection)
    np.testing.assert_allclose(y, keras_y, rtol=1e-10, atol=1e-11)
    assert ours.output_shape == keras_y.shape[1:] == tuple(theirs.compute_output_shape((None,) + x_shape[1:])[1:])
    np.testing.assert_allclose(ours.backward(projection), keras_grads[0], rtol=1e-10, atol=1e-11)
    for name, keras_grad in zip(["kernel", "bias"], keras_grads[1:]):
        np.testing.assert_allclose(ours.grads[name], keras_grad, rtol=1e-10, atol=1e-11)


def test_glorot_initialisation_has_keras_limits():
    ours = Conv2DTranspose(16, 2, strides=2, padding="same", input_shape=(8, 8, 32), seed=0).params["kernel"]
    theirs = keras.layers.Conv2DTranspose(16, 2, strides=2, padding="same")
    theirs.build((None, 8, 8, 32))
    limit = np.sqrt(6 / (2 * 2 * 16 + 2 * 2 * 32))
    assert ours.shape == theirs.get_weights()[0].shape == (2, 2, 16, 32) and ours.dtype == np.float32
    assert np.abs(ours).max() <= limit and np.abs(theirs.get_weights()[0]).max() <= limit
    assert np.abs(ours).max() > 0.9 * limit


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[5]], ids=[IDS[0], IDS[2], IDS[5]])
def test_gradient_check(case):
    x_shape, kernel_size, strides, padding, filters, use_bias = case
    layer = Conv2DTranspose(filters, kernel_size, strides, padding, activation="tanh", use_bias=use_bias, seed=3)
    errors = scratch.check_layer_gradients(layer, np.random.default_rng(4).normal(size=x_shape))
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("strides, padding", [(1, "valid"), (1, "same"), (2, "valid"), (2, "same"), ((2, 3), "same")])
def test_it_is_the_adjoint_of_the_convolution(strides, padding):
    # <conv2d(u, K), x> = <u, conv2d_transpose(x, K)>: the matrix of one is the transpose of the other's.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 3))
    kernel = rng.normal(size=(3, 3, 2, 3))             # a convolution from 2 channels to 3
    y = conv2d_transpose(x, kernel, None, strides, padding)
    u = rng.normal(size=y.shape)
    z = scratch.conv2d(u, kernel, None, strides, padding)
    assert z.shape == x.shape
    np.testing.assert_allclose(np.sum(z * x), np.sum(u * y), rtol=1e-12)
    # and it is conv2d's input gradient, dx, computed by the convolution's own backward pass
    dx, _, _ = scratch.conv2d_backward(x, scratch.conv2d_forward(u, kernel, None, strides, padding)[1])
    np.testing.assert_allclose(dx, y, rtol=1e-12, atol=1e-12)


def test_a_by_hand_example():
    # One 2x2 input, a 2x2 kernel of ones, strides 2: each pixel becomes a 2x2 block of itself.
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    y = conv2d_transpose(x, np.ones((2, 2, 1, 1)), strides=2, padding="same")
    np.testing.assert_array_equal(y[0, :, :, 0], np.kron([[1, 2], [3, 4]], np.ones((2, 2))))
    # a 3x3 kernel with stride 2 ("valid"): neighbouring stamps overlap on every other row and column
    y = conv2d_transpose(x, np.ones((3, 3, 1, 1)), strides=2, padding="valid")
    assert y.shape == (1, 5, 5, 1)
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 1, 3, 2, 2], [1, 1, 3, 2, 2], [4, 4, 10, 6, 6],
                                                  [3, 3, 7, 4, 4], [3, 3, 7, 4, 4]])


@pytest.mark.parametrize(
    "x, kernel, bias, strides, padding, error, match",
    [
        (np.zeros((4, 4, 1)), np.zeros((2, 2, 1, 1)), None, 2, "same", ValueError, "x must have rank 4"),
        (np.zeros((1, 4, 4, 2)), np.zeros((2, 2, 1, 3)), None, 2, "same", ValueError, "channel mismatch"),
        (np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1)), None, 2, "same", ValueError, "kernel must have rank 4"),
        (np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 3, 1)), np.zeros(2), 2, "same", ValueError, "bias must have shape \\(3,\\)"),
        (np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)), None, 2, "full", ValueError, "padding must be one of"),
        (np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)), None, 0, "same", ValueError, "strides must be positive"),
        (np.full((1, 4, 4, 1), np.nan), np.zeros((2, 2, 1, 1)), None, 2, "same", ValueError, "x contains 16 NaN"),
        (np.zeros((1, 4, 4, 1)), np.full((2, 2, 1, 1), np.inf), None, 2, "same", ValueError, "kernel contains"),
        ("image", np.zeros((2, 2, 1, 1)), None, 2, "same", TypeError, "x must hold numbers"),
    ],
)
def test_bad_input(x, kernel, bias, strides, padding, error, match):
    with pytest.raises(error, match=match):
        conv2d_transpose_forward(x, kernel, bias, strides, padding)
    with pytest.raises(error, match=match):
        conv2d_transpose_naive(x, kernel, bias, strides, padding)


def test_bad_backward_and_layer_input():
    _, cache = conv2d_transpose_forward(np.ones((1, 2, 2, 1)), np.ones((2, 2, 3, 1)), None, 2, "same")
    with pytest.raises(ValueError, match="dout must have the forward output's shape \\(1, 4, 4, 3\\)"):
        conv2d_transpose_backward(np.ones((1, 4, 4, 1)), cache)
    with pytest.raises(TypeError, match="cache must be the dict"):
        conv2d_transpose_backward(np.ones((1, 4, 4, 3)), None)
    layer = Conv2DTranspose(3, 2, strides=2, padding="same", input_shape=(4, 4, 2))
    assert layer.output_shape == (8, 8, 3) and layer.params["kernel"].shape == (2, 2, 3, 2)
    with pytest.raises(ValueError, match="channel mismatch.*expects 2 input channels"):
        layer.forward(np.ones((1, 4, 4, 5)))
    with pytest.raises(ValueError, match="rank 4"):
        layer.forward(np.ones((4, 4, 2)))
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv2DTranspose(3, 2, padding="full")
    with pytest.raises(ValueError, match="filters"):
        Conv2DTranspose(0, 2)
