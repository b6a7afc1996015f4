"""The functional ops of cnncourse.scratch: naive vs vectorised, gradient checks, padding rules, bad input."""

import numpy as np
import pytest

from cnncourse import scratch
from cnncourse.scratch import gradcheck
from cnncourse.scratch.conv import col2im, im2col
from cnncourse.scratch.padding import pad_amounts

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _random_conv_cases(count, seed):
    """(x_shape, kernel_shape, strides, padding) with odd sizes, non-square kernels, strides 1-3."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = int(rng.integers(3, 12)), int(rng.integers(3, 12))
        kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = ("valid", "same")[len(cases) % 2]
        if padding == "valid" and (kernel[0] > height or kernel[1] > width):
            continue
        channels, filters, batch = int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 4))
        cases.append(((batch, height, width, channels), kernel + (channels, filters), strides, padding))
    return cases


CONV_CASES = _random_conv_cases(16, seed=1)
POOL_CASES = [
    ((2, 7, 9, 3), (2, 2), None, "valid"),
    ((2, 7, 9, 3), (2, 2), None, "same"),
    ((1, 8, 8, 2), (3, 3), (2, 2), "valid"),
    ((1, 8, 7, 2), (3, 2), (1, 2), "same"),
    ((3, 5, 6, 1), (2, 3), (3, 1), "same"),
    ((2, 6, 6, 4), 3, 1, "valid"),
]


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES)
def test_conv2d_matches_naive_loops(x_shape, kernel_shape, strides, padding):
    rng = np.random.default_rng(0)
    x, kernel, bias = rng.normal(size=x_shape), rng.normal(size=kernel_shape), rng.normal(size=kernel_shape[-1])
    naive = scratch.conv2d_naive(x, kernel, bias, strides, padding)
    fast = scratch.conv2d(x, kernel, bias, strides, padding)
    assert fast.shape == naive.shape
    np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12)
    dy = rng.normal(size=naive.shape)
    for fast_grad, naive_grad in zip(scratch.conv2d_backward(dy, x, kernel, strides, padding),
                                     scratch.conv2d_backward_naive(dy, x, kernel, strides, padding)):
        np.testing.assert_allclose(fast_grad, naive_grad, rtol=1e-10, atol=1e-12)


def test_conv2d_is_the_seed_formula_on_a_tiny_example():
    # y(i, j) = sum_p sum_q x(i + p, j + q) k(p, q): a cross-correlation, no kernel flip.
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    kernel = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1)
    expected = np.array([[x[0, i, j, 0] - x[0, i + 1, j + 1, 0] for j in range(3)] for i in range(3)])
    np.testing.assert_array_equal(scratch.conv2d(x, kernel)[0, :, :, 0], expected)
    np.testing.assert_array_equal(scratch.conv2d_naive(x, kernel)[0, :, :, 0], expected)
    assert scratch.conv2d(x, kernel).shape == (1, 3, 3, 1)  # H - P + 1


def test_conv2d_keeps_float32():
    x = np.ones((1, 5, 5, 2), np.float32)
    kernel = np.ones((3, 3, 2, 4), np.float32)
    assert scratch.conv2d(x, kernel).dtype == np.float32
    assert scratch.conv2d(x.astype(np.uint8), kernel.astype(np.int64)).dtype == np.float64


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", POOL_CASES)
def test_pooling_matches_naive_loops(x_shape, pool_size, strides, padding):
    x = np.random.default_rng(2).normal(size=x_shape)
    np.testing.assert_allclose(scratch.max_pool2d(x, pool_size, strides, padding),
                               scratch.max_pool2d_naive(x, pool_size, strides, padding))
    np.testing.assert_allclose(scratch.avg_pool2d(x, pool_size, strides, padding),
                               scratch.avg_pool2d_naive(x, pool_size, strides, padding), rtol=1e-12)


def test_max_pool_default_strides_are_the_pool_size():
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    y = scratch.max_pool2d(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[5, 7], [13, 15]])
    assert scratch.max_pool2d(np.zeros((1, 26, 26, 3))).shape == (1, 13, 13, 3)
    assert scratch.max_pool2d(np.zeros((1, 11, 11, 3))).shape == (1, 5, 5, 3)  # floor, as in the seed model


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    x = np.zeros((1, 2, 2, 1))  # four tied maxima, as after a ReLU
    dx = scratch.max_pool2d_backward(np.ones((1, 1, 1, 1)), x)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


def _numeric_check(forward, backward_grads, arrays, threshold):
    """Gradient check of sum(forward() * r) w.r.t. each array in ``arrays``."""
    projection = np.random.default_rng(3).normal(size=forward().shape)
    analytic = backward_grads(projection)
    for array, grad in zip(arrays, analytic):
        numeric = gradcheck.numerical_gradient(lambda: float(np.sum(forward() * projection)), array)
        assert gradcheck.relative_error(grad, numeric) < threshold


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES[:6])
def test_conv2d_backward_gradient_check(x_shape, kernel_shape, strides, padding):
    rng = np.random.default_rng(4)
    x, kernel, bias = rng.normal(size=x_shape), rng.normal(size=kernel_shape), rng.normal(size=kernel_shape[-1])
    _numeric_check(
        lambda: scratch.conv2d(x, kernel, bias, strides, padding),
        lambda dy: scratch.conv2d_backward(dy, x, kernel, strides, padding),
        [x, kernel, bias],
        threshold=1e-7,
    )


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", POOL_CASES)
def test_pooling_backward_gradient_check(x_shape, pool_size, strides, padding):
    x = np.random.default_rng(5).normal(size=x_shape)
    _numeric_check(lambda: scratch.max_pool2d(x, pool_size, strides, padding),
                   lambda dy: [scratch.max_pool2d_backward(dy, x, pool_size, strides, padding)], [x], 1e-6)
    _numeric_check(lambda: scratch.avg_pool2d(x, pool_size, strides, padding),
                   lambda dy: [scratch.avg_pool2d_backward(dy, x, pool_size, strides, padding)], [x], 1e-7)


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), w> == <x, col2im(w)>: the backward pass of the window extraction.
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 8, 3))
    windows = im2col(x, (3, 2), (2, 3), (3, 3))
    w = rng.normal(size=windows.shape)
    assert np.isclose(np.sum(windows * w), np.sum(x * col2im(w, x.shape, (2, 3))))


@pytest.mark.parametrize("length, kernel, stride", [(28, 3, 1), (7, 2, 2), (8, 3, 3), (5, 5, 2), (6, 1, 3), (3, 5, 1)])
def test_same_padding_follows_tensorflow(length, kernel, stride):
    before, after = pad_amounts(length, kernel, stride, "same")
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    assert (before, after) == (total // 2, total - total // 2)
    assert scratch.output_length(length, kernel, stride, "same") == out
    assert (length + before + after - kernel) // stride + 1 == out


# ------------------------------------------------------------------------------ bad input


def test_conv2d_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"x must have rank 4 .*got rank 3 with shape \(28, 28, 1\)"):
        scratch.conv2d(np.zeros((28, 28, 1)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match=r"kernel must have rank 4.*shape \(3, 3\)"):
        scratch.conv2d(np.zeros((1, 28, 28, 1)), np.zeros((3, 3)))


def test_conv2d_rejects_channel_mismatch():
    with pytest.raises(ValueError, match=r"channel mismatch: kernel has shape \(3, 3, 2, 4\).*expects 2.*x has 3 channels"):
        scratch.conv2d(np.zeros((1, 8, 8, 3)), np.zeros((3, 3, 2, 4)))


def test_conv2d_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"kernel \(5, 5\) is larger than the padded input \(4, 4\)"):
        scratch.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((5, 5, 1, 1)))
    assert scratch.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((5, 5, 1, 1)), padding="same").shape == (1, 4, 4, 1)


def test_pool_rejects_window_larger_than_input():
    with pytest.raises(ValueError, match=r"pool_size \(3, 3\) is larger than the padded input \(2, 2\)"):
        scratch.max_pool2d(np.zeros((1, 2, 2, 1)), 3)


@pytest.mark.parametrize("function", [scratch.conv2d, scratch.conv2d_naive])
def test_unknown_padding_is_rejected(function):
    with pytest.raises(ValueError, match=r"padding must be one of \('valid', 'same'\), got 'full'"):
        function(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1)), padding="full")
    with pytest.raises(ValueError, match="padding must be one of"):
        scratch.avg_pool2d(np.zeros((1, 4, 4, 1)), padding="causal")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected(bad):
    x = np.zeros((1, 4, 4, 1))
    x[0, 1, 2, 0] = bad
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite value"):
        scratch.conv2d(x, np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite value"):
        scratch.max_pool2d(x)


@pytest.mark.parametrize("strides, error, message", [
    (0, ValueError, r"strides must be positive, got 0"),
    ((1, 2, 3), ValueError, r"strides must be an int or a pair \(height, width\), got 3 values"),
    (1.5, TypeError, r"strides must be an int or a pair of ints, got float 1.5"),
])
def test_bad_strides_are_rejected(strides, error, message):
    with pytest.raises(error, match=message):
        scratch.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 1)), strides=strides)


def test_bias_and_dy_shapes_are_checked():
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\), one value per filter, got shape \(3,\)"):
        scratch.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 2)), bias=np.zeros(3))
    with pytest.raises(ValueError, match=r"dy must have the forward output's shape \(1, 2, 2, 2\), got \(1, 3, 3, 2\)"):
        scratch.conv2d_backward(np.zeros((1, 3, 3, 2)), np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(TypeError, match="x must hold numbers"):
        scratch.conv2d(np.array([["a"]]), np.zeros((1, 1, 1, 1)))
