"""The functional ops of cnncourse.scratch: naive vs vectorised, gradient checks, padding rules, bad input."""

import numpy as np
import pytest

from cnncourse import scratch
from cnncourse.scratch import gradcheck
from cnncourse.scratch.conv import col2im, im2col
from cnncourse.scratch.padding import pad_amounts
from conftest import POOL_CASES, random_conv_cases

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _conv_backward(dy, x, kernel, strides, padding):
    """``conv2d_backward`` of the cache of ``conv2d_forward(x, kernel, None, strides, padding)``."""
    return scratch.conv2d_backward(dy, scratch.conv2d_forward(x, kernel, None, strides, padding)[1])


def _pool_backward(kind, dy, x, pool_size=2, strides=None, padding="valid"):
    """``{kind}_pool2d_backward`` of the cache of ``{kind}_pool2d_forward(x, ...)``."""
    forward, backward = getattr(scratch, f"{kind}_pool2d_forward"), getattr(scratch, f"{kind}_pool2d_backward")
    return backward(dy, forward(x, pool_size, strides, padding)[1])


CONV_CASES = random_conv_cases(16, seed=1, max_size=11, max_kernel=5, max_channels=4, max_batch=3)


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES)
def test_conv2d_matches_naive_loops(x_shape, kernel_shape, strides, padding):
    rng = np.random.default_rng(0)
    x, kernel, bias = rng.normal(size=x_shape), rng.normal(size=kernel_shape), rng.normal(size=kernel_shape[-1])
    naive = scratch.conv2d_naive(x, kernel, bias, strides, padding)
    fast = scratch.conv2d(x, kernel, bias, strides, padding)
    assert fast.shape == naive.shape
    np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12)
    dy = rng.normal(size=naive.shape)
    for fast_grad, naive_grad in zip(_conv_backward(dy, x, kernel, strides, padding),
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
    dx = _pool_backward("max", np.ones((1, 1, 1, 1)), x)
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
        lambda dy: scratch.conv2d_backward(dy, scratch.conv2d_forward(x, kernel, bias, strides, padding)[1]),
        [x, kernel, bias],
        threshold=1e-7,
    )


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", POOL_CASES)
def test_pooling_backward_gradient_check(x_shape, pool_size, strides, padding):
    x = np.random.default_rng(5).normal(size=x_shape)
    _numeric_check(lambda: scratch.max_pool2d(x, pool_size, strides, padding),
                   lambda dy: [_pool_backward("max", dy, x, pool_size, strides, padding)], [x], 1e-6)
    _numeric_check(lambda: scratch.avg_pool2d(x, pool_size, strides, padding),
                   lambda dy: [_pool_backward("avg", dy, x, pool_size, strides, padding)], [x], 1e-7)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_col2im_is_the_adjoint_of_im2col(padding):
    # <im2col(x), w> == <x, col2im(w)>: the backward pass of the window extraction.
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 7, 8, 3))
    geometry = scratch.window_geometry(x.shape, (3, 2), (2, 3), padding)
    cols = im2col(x, geometry)
    assert cols.shape == (2 * geometry.out_hw[0] * geometry.out_hw[1], 3 * 2 * 3)
    w = rng.normal(size=cols.shape)
    assert np.isclose(np.sum(cols * w), np.sum(x * col2im(w, geometry, x.shape)))


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
    with pytest.raises(ValueError, match=r"channel mismatch: the kernel \(3, 3, 2, 4\) expects 2 input channels, but x has 3 channels"):
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
        scratch.conv2d_backward_naive(np.zeros((1, 3, 3, 2)), np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2, 2, 2\), got \(1, 3, 3, 2\)"):
        scratch.conv2d_backward(np.zeros((1, 3, 3, 2)), scratch.conv2d_forward(np.zeros((1, 4, 4, 1)), np.zeros((3, 3, 1, 2)))[1])
    with pytest.raises(TypeError, match="x must hold numbers"):
        scratch.conv2d(np.array([["a"]]), np.zeros((1, 1, 1, 1)))


# ------------------------------------------------------------------ the public (out, cache) pairs


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", POOL_CASES)
def test_pool_forward_matches_the_plain_functions_and_backward_the_loops(x_shape, pool_size, strides, padding):
    rng = np.random.default_rng(7)
    x = rng.normal(size=x_shape)  # distinct values: no ties
    for kind, plain in (("max", scratch.max_pool2d), ("avg", scratch.avg_pool2d)):
        y, cache = getattr(scratch, f"{kind}_pool2d_forward")(x, pool_size, strides, padding)
        np.testing.assert_array_equal(y, plain(x, pool_size, strides, padding))
        dy = rng.normal(size=y.shape)
        dx = getattr(scratch, f"{kind}_pool2d_backward")(dy, cache)
        # the same gradient from loops over the output pixels, written here from the definition
        geometry = cache["geometry"]
        (ph, pw), (sh, sw) = geometry.window, geometry.strides
        x_pad = geometry.pad(x, value=-np.inf if kind == "max" else np.nan)
        dx_pad = np.zeros(x_pad.shape)
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                window = x_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :]
                if kind == "max":
                    share = window == window.max(axis=(1, 2), keepdims=True)
                else:
                    share = ~np.isnan(window) / (~np.isnan(window)).sum(axis=(1, 2), keepdims=True)
                dx_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :] += share * dy[:, i : i + 1, j : j + 1, :]
        np.testing.assert_allclose(dx, geometry.crop(dx_pad), rtol=1e-12, atol=1e-15)


def test_max_pool_backward_gives_a_tie_to_the_first_maximum_only():
    x = np.zeros((1, 4, 4, 1))  # every 2x2 window is a four-way tie, as after a ReLU
    y, cache = scratch.max_pool2d_forward(x)
    dx = scratch.max_pool2d_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    # overlapping windows (stride 1): each window's gradient still goes to its own first maximum
    y, cache = scratch.max_pool2d_forward(np.zeros((1, 3, 3, 1)), 2, 1)
    dx = scratch.max_pool2d_backward(np.ones_like(y), cache)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("backward, forward", [
    (scratch.max_pool2d_backward, "max_pool2d_forward"),
    (scratch.avg_pool2d_backward, "avg_pool2d_forward"),
])
def test_pool_backward_refuses_a_wrong_cache_or_dout(backward, forward):
    with pytest.raises(TypeError, match=f"cache must be the dict returned by {forward}"):
        backward(np.zeros((1, 2, 2, 1)), None)
    _, cache = getattr(scratch, forward)(np.zeros((1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2, 2, 1\), got \(1, 3, 3, 1\)"):
        backward(np.zeros((1, 3, 3, 1)), cache)


@pytest.mark.parametrize("strides", [(1, 1), (2, 1), (1, 3)])
def test_col2im_is_the_adjoint_of_im2col_for_every_stride(strides):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 7, 8, 3))
    geometry = scratch.window_geometry(x.shape, (3, 2), strides, "valid")
    cols = im2col(x, geometry)
    w = rng.normal(size=cols.shape)
    assert np.isclose(np.sum(cols * w), np.sum(x * col2im(w, geometry, x.shape)))


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES)
def test_im2col_rows_are_the_windows_of_the_padded_input(x_shape, kernel_shape, strides, padding):
    x = np.random.default_rng(9).normal(size=x_shape)
    geometry = scratch.window_geometry(x.shape, kernel_shape[:2], strides, padding)
    (kh, kw), (sh, sw), (out_h, out_w) = geometry.window, geometry.strides, geometry.out_hw
    x_pad = np.pad(x, ((0, 0), geometry.pads[0], geometry.pads[1], (0, 0)))
    expected = [x_pad[n, i * sh : i * sh + kh, j * sw : j * sw + kw, :].ravel()
                for n in range(x.shape[0]) for i in range(out_h) for j in range(out_w)]
    np.testing.assert_array_equal(im2col(x, geometry), np.array(expected))


def test_window_geometry_computes_the_padding_once_and_refuses_bad_windows():
    geometry = scratch.window_geometry((1, 5, 6, 1), 3, 2, "same")
    assert geometry.pads == ((1, 1), (0, 1)) and geometry.out_hw == (3, 3) and geometry.padded_hw == (7, 7)
    assert [(p, q) for p, q, _, _ in geometry.offsets()] == [(p, q) for p in range(3) for q in range(3)]
    assert geometry.crop(np.zeros((1, 7, 7, 1))).shape == (1, 5, 6, 1)
    with pytest.raises(ValueError, match=r"kernel_size \(4, 4\) is larger than the padded input \(3, 3\)"):
        scratch.window_geometry((1, 3, 3, 1), 4, 1, "valid")
    with pytest.raises(ValueError, match="padding must be one of"):
        scratch.window_geometry((1, 3, 3, 1), 2, 1, "full")
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(2, 3, 3, 4\)"):
        geometry.check_output_gradient(np.zeros((2, 3, 3, 5)), 2, 4)


def test_dense_forward_and_backward():
    rng = np.random.default_rng(10)
    x, kernel, bias, dz = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 2))
    z, cache = scratch.dense_forward(x, kernel, bias)
    np.testing.assert_allclose(z, x @ kernel + bias)
    dx, dkernel, dbias = scratch.dense_backward(dz, cache)
    np.testing.assert_allclose(dx, dz @ kernel.T)
    np.testing.assert_allclose(dkernel, x.T @ dz)
    np.testing.assert_allclose(dbias, dz.sum(axis=0))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(4, 2\), got \(4, 3\)"):
        scratch.dense_backward(np.zeros((4, 3)), cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by dense_forward"):
        scratch.dense_backward(dz, [x, kernel])
    with pytest.raises(ValueError, match=r"x has 4 features but kernel \(3, 2\) expects 3"):
        scratch.dense_forward(np.zeros((2, 4)), kernel)
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        scratch.dense_forward(np.array([[np.nan, 0, 0]]), kernel)


def test_the_taught_pairs_leave_their_inputs_and_caches_unchanged():
    # plain functions: no buffers shared between calls, nothing written into an argument
    rng = np.random.default_rng(12)
    x, kernel, bias = rng.normal(size=(2, 6, 6, 2)), rng.normal(size=(3, 3, 2, 4)), rng.normal(size=4)
    first, second = rng.normal(size=(2, 6, 6, 2)), rng.normal(size=(2, 6, 6, 2))
    y1, cache1 = scratch.conv2d_forward(first, kernel, bias)
    cols1 = cache1["cols"].copy()
    y2, cache2 = scratch.conv2d_forward(second, kernel, bias)
    assert not np.shares_memory(cache1["cols"], cache2["cols"])
    np.testing.assert_array_equal(cache1["cols"], cols1)
    dy = rng.normal(size=y1.shape)
    copies = [array.copy() for array in (first, kernel, bias, dy)]
    grads = scratch.conv2d_backward(dy, cache1)
    for a, b in zip(grads, scratch.conv2d_backward(dy, cache1)):
        np.testing.assert_array_equal(a, b)
    for original, copy in zip((first, kernel, bias, dy), copies):
        np.testing.assert_array_equal(original, copy)
    for kind in ("max", "avg"):
        y, cache = getattr(scratch, f"{kind}_pool2d_forward")(x)
        d = np.ones_like(y)
        getattr(scratch, f"{kind}_pool2d_backward")(d, cache)
        np.testing.assert_array_equal(d, np.ones_like(y))
    for name in ("relu", "sigmoid", "tanh", "softmax", "linear"):
        activation = scratch.get_activation(name)
        z = rng.normal(size=(3, 4))
        out = activation.forward(z)
        d = rng.normal(size=z.shape)
        d_copy = d.copy()
        dz = activation.backward(d, out)
        assert dz is not d or name == "linear"
        np.testing.assert_array_equal(d, d_copy)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite_finds_a_single_bad_value_and_lets_overflowing_sums_pass(bad):
    from cnncourse.checks import check_finite

    x = np.zeros((3, 4), np.float32)
    x[1, 2] = bad
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite value"):
        check_finite(x, "x")
    check_finite(np.full(10, 3e38, np.float32), "big")  # the sum overflows, every value is finite
