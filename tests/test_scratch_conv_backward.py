"""The cs231n-style pair ``conv2d_forward`` / ``conv2d_backward``: shapes, gradients, parity, bad input."""

import numpy as np
import pytest

from cnncourse.scratch import conv2d, conv2d_backward, conv2d_backward_naive, conv2d_forward
from cnncourse.scratch.gradcheck import numerical_gradient, relative_error
from conftest import random_conv_cases

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


CASES = random_conv_cases(14, seed=11, max_size=9, max_kernel=4, max_channels=3, max_batch=2)


def _arrays(x_shape, kernel_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=x_shape), rng.normal(size=kernel_shape), rng.normal(size=kernel_shape[3])


def test_shapes_and_forward_equals_conv2d():
    x, kernel, bias = _arrays((2, 7, 6, 3), (3, 2, 3, 4))
    y, cache = conv2d_forward(x, kernel, bias, strides=2, padding="same")
    assert y.shape == (2, 4, 3, 4) and y.dtype == np.float64
    np.testing.assert_array_equal(y, conv2d(x, kernel, bias, strides=2, padding="same"))
    assert cache["cols"].shape == (2 * 4 * 3, 3 * 2 * 3) and cache["x_shape"] == x.shape
    dx, dkernel, dbias = conv2d_backward(np.ones_like(y), cache)
    assert dx.shape == x.shape and dkernel.shape == kernel.shape and dbias.shape == (4,)
    np.testing.assert_array_equal(dbias, np.full(4, 2 * 4 * 3.0))  # sum of ones over batch and positions


def test_float32_stays_float32_and_bias_is_optional():
    x, kernel, _ = _arrays((1, 5, 5, 2), (3, 3, 2, 2))
    y, cache = conv2d_forward(x.astype(np.float32), kernel.astype(np.float32))
    assert y.dtype == np.float32
    dx, dkernel, dbias = conv2d_backward(np.ones_like(y), cache)
    assert dx.dtype == dkernel.dtype == dbias.dtype == np.float32


def test_chapter_example_by_hand():
    # the chapter's 5x5 image and Sobel kernel; dy one-hot at output (1, 2)
    x = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 2, 1], [2, 0, 1, 0, 2], [1, 3, 2, 1, 0], [0, 1, 0, 2, 1]], float)
    k = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    _, cache = conv2d_forward(x[None, :, :, None], k[:, :, None, None])
    dy = np.zeros((1, 3, 3, 1))
    dy[0, 1, 2, 0] = 1.0
    dx, dkernel, dbias = conv2d_backward(dy, cache)
    expected_dx = np.zeros((5, 5))
    expected_dx[1:4, 2:5] = k  # y(1, 2) used k on the window at rows 1-3, columns 2-4
    np.testing.assert_array_equal(dx[0, :, :, 0], expected_dx)
    np.testing.assert_array_equal(dkernel[:, :, 0, 0], x[1:4, 2:5])
    np.testing.assert_array_equal(dbias, [1.0])


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CASES)
def test_parity_with_naive_backward(x_shape, kernel_shape, strides, padding):
    x, kernel, bias = _arrays(x_shape, kernel_shape, seed=1)
    y, cache = conv2d_forward(x, kernel, bias, strides, padding)
    np.testing.assert_allclose(y, conv2d(x, kernel, bias, strides, padding), rtol=0, atol=1e-12)
    dy = np.random.default_rng(2).normal(size=y.shape)
    received = conv2d_backward(dy, cache)
    for name, got, naive in zip(("dx", "dkernel", "dbias"), received, conv2d_backward_naive(dy, x, kernel, strides, padding)):
        assert got.shape == naive.shape, name
        np.testing.assert_allclose(got, naive, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CASES[:6])
def test_gradient_check(x_shape, kernel_shape, strides, padding):
    x, kernel, bias = _arrays(x_shape, kernel_shape, seed=3)
    y, cache = conv2d_forward(x, kernel, bias, strides, padding)
    projection = np.random.default_rng(4).normal(size=y.shape)  # L = sum(y * r), so dL/dy = r

    def loss():
        return float(np.sum(conv2d_forward(x, kernel, bias, strides, padding)[0] * projection))

    dx, dkernel, dbias = conv2d_backward(projection, cache)
    for analytic, array in ((dx, x), (dkernel, kernel), (dbias, bias)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-7


def test_backward_does_not_modify_its_inputs():
    x, kernel, bias = _arrays((2, 6, 6, 2), (3, 3, 2, 3))
    copies = x.copy(), kernel.copy(), bias.copy()
    y, cache = conv2d_forward(x, kernel, bias, strides=2, padding="same")
    dy = np.ones_like(y)
    first = conv2d_backward(dy, cache)
    second = conv2d_backward(dy, cache)  # the cache can be used twice
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    for original, copy in zip((x, kernel, bias), copies):
        np.testing.assert_array_equal(original, copy)
    np.testing.assert_array_equal(dy, np.ones_like(y))


def test_bad_dy_shape_is_a_clear_error():
    x, kernel, _ = _arrays((1, 5, 5, 1), (3, 3, 1, 2))
    _, cache = conv2d_forward(x, kernel)
    for wrong in ((1, 3, 3, 1), (1, 5, 5, 2), (3, 3, 2), (2, 3, 3, 2), (1, 9, 1, 2)):
        with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 3, 3, 2\), got"):
            conv2d_backward(np.zeros(wrong), cache)


def test_bad_cache_and_bad_forward_input():
    with pytest.raises(TypeError, match="cache must be the dict returned by conv2d_forward"):
        conv2d_backward(np.zeros((1, 3, 3, 1)), (np.zeros(3), None))
    with pytest.raises(TypeError, match="dout must hold numbers"):
        _, cache = conv2d_forward(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 1, 1)))
        conv2d_backward(np.array([["a"]]), cache)
    with pytest.raises(ValueError):  # the forward validates as conv2d does: a channel mismatch
        conv2d_forward(np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError):  # a kernel larger than the input
        conv2d_forward(np.zeros((1, 2, 2, 1)), np.zeros((3, 3, 1, 1)))
