"""Max and average pooling, NHWC, with Keras's ``pool_size``, ``strides`` and ``padding``.

The seed's formulas (section 3.2) are

    y(i, j) = max_{p, q} x(i + p, j + q)            y(i, j) = 1/(P Q) sum_{p, q} x(i + p, j + q)

Pooling has no kernel weights, and Keras's ``MaxPooling2D((2, 2))`` slides by the pool
size (``strides=None``), not by 1. With strides ``(sh, sw)``:

    y[n, i, j, c] = max_{p < ph, q < pw} x_pad[n, i*sh + p, j*sw + q, c]

Each channel is pooled on its own: ``x (N, H, W, C) -> y (N, H_out, W_out, C)``.

``"same"`` padding follows TensorFlow: max pooling ignores the padded pixels (they are
-inf), and average pooling divides by the number of real pixels in each window.

The vectorised versions loop over the ``ph * pw`` offsets ``(p, q)`` of the window, each
step a whole-array operation on the strided slice ``x_pad[:, p::sh, q::sw, :]``.
"""

from __future__ import annotations

import numpy as np

from .padding import check_window_fits, pad_amounts, pad_images
from .validation import as_float_array, as_pair, check_images, check_padding


def _check_pool_args(x, pool_size, strides, padding):
    """Validated ``x, (ph, pw), (sh, sw), padding, (out_h, out_w)``; strides default to the pool size."""
    x = check_images(x, "x")
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    padding = check_padding(padding)
    out_hw = check_window_fits(x.shape, pool_size, strides, padding, name="pool_size")
    return x, pool_size, strides, padding, out_hw


def _offsets(pool_size, strides, out_hw):
    """``(p, q, rows, cols)`` for each window offset: the slices of ``x_pad`` it touches."""
    (ph, pw), (sh, sw), (out_h, out_w) = pool_size, strides, out_hw
    for p in range(ph):
        for q in range(pw):
            yield p, q, slice(p, p + (out_h - 1) * sh + 1, sh), slice(q, q + (out_w - 1) * sw + 1, sw)


def _check_dy(dy, x, out_hw):
    dy = as_float_array(dy, "dy")
    expected = (x.shape[0], out_hw[0], out_hw[1], x.shape[3])
    if dy.shape != expected:
        raise ValueError(f"dy must have the forward output's shape {expected}, got {dy.shape}")
    return dy


# ----------------------------------------------------------------------------- max pooling


def _max_pool_forward(x, pool_size, strides, padding, out_hw):
    """Unchecked forward. Returns ``y (N, out_h, out_w, C)`` and the padded input."""
    x_pad, _ = pad_images(x, pool_size, strides, padding, value=-np.inf)
    y = None
    for _, _, rows, cols in _offsets(pool_size, strides, out_hw):
        y = x_pad[:, rows, cols, :].copy() if y is None else np.maximum(y, x_pad[:, rows, cols, :], out=y)
    return y, x_pad


def _max_pool_backward(dy, x_shape, x_pad, y, pool_size, strides, padding):
    """Unchecked backward: each window sends ``dy`` to its maximum.

    When a window holds the maximum more than once (e.g. several zeros after a ReLU),
    only the first one in row-major order gets the gradient, as in TensorFlow.
    """
    out_hw = y.shape[1:3]
    dx_pad = np.zeros(x_pad.shape, dtype=dy.dtype)
    remaining = dy.copy()  # gradient not yet handed to a maximum of its window
    overlapping = strides[0] < pool_size[0] or strides[1] < pool_size[1]
    for _, _, rows, cols in _offsets(pool_size, strides, out_hw):
        hit = x_pad[:, rows, cols, :] == y
        if overlapping:
            dx_pad[:, rows, cols, :] += hit * remaining
        else:  # disjoint windows: each input pixel is written once (in place, no temporaries)
            np.multiply(hit, remaining, out=dx_pad[:, rows, cols, :])
        remaining *= ~hit  # a tie later in the window gets nothing
    top = pad_amounts(x_shape[1], pool_size[0], strides[0], padding)[0]
    left = pad_amounts(x_shape[2], pool_size[1], strides[1], padding)[0]
    return dx_pad[:, top : top + x_shape[1], left : left + x_shape[2], :]


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling.

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    pool_size : int or (int, int)
    strides : int, (int, int) or None (None: the pool size, as in Keras)
    padding : "valid" or "same"

    Returns
    -------
    y : array ``(N, H_out, W_out, C)``
    """
    x, pool_size, strides, padding, out_hw = _check_pool_args(x, pool_size, strides, padding)
    return _max_pool_forward(x, pool_size, strides, padding, out_hw)[0]


def max_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid"):
    """Gradient of a scalar loss through ``y = max_pool2d(x, ...)``.

    Parameters
    ----------
    dy : array ``(N, H_out, W_out, C)``
    x : array ``(N, H, W, C)``, the forward input
    pool_size, strides, padding : as in the forward pass

    Returns
    -------
    dx : array ``(N, H, W, C)``: ``dy`` routed to the position of each window's maximum,
        zero elsewhere.
    """
    x, pool_size, strides, padding, out_hw = _check_pool_args(x, pool_size, strides, padding)
    dy = _check_dy(dy, x, out_hw)
    y, x_pad = _max_pool_forward(x, pool_size, strides, padding, out_hw)
    return _max_pool_backward(dy.astype(np.result_type(x, dy), copy=False), x.shape, x_pad, y, pool_size, strides, padding)


def max_pool2d_naive(x, pool_size=2, strides=None, padding="valid"):
    """The seed's max formula as loops over output pixels; same arguments and result as ``max_pool2d``."""
    x, (ph, pw), (sh, sw), padding, (out_h, out_w) = _check_pool_args(x, pool_size, strides, padding)
    x_pad, _ = pad_images(x, (ph, pw), (sh, sw), padding, value=-np.inf)
    y = np.empty((x.shape[0], out_h, out_w, x.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[:, i, j, :] = x_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :].max(axis=(1, 2))
    return y


# ------------------------------------------------------------------------- average pooling


def _window_counts(x_shape, pool_size, strides, padding, out_hw, dtype):
    """Real (unpadded) pixels in each window, ``(1, out_h, out_w, 1)``: TensorFlow's divisor."""
    counts = []
    for axis in (0, 1):
        length, size, stride, out = x_shape[1 + axis], pool_size[axis], strides[axis], out_hw[axis]
        before = pad_amounts(length, size, stride, padding)[0]
        start = np.arange(out) * stride - before
        counts.append(np.minimum(start + size, length) - np.maximum(start, 0))
    return np.outer(counts[0], counts[1]).astype(dtype)[None, :, :, None]


def _avg_pool_forward(x, pool_size, strides, padding, out_hw):
    """Unchecked forward. Returns ``y (N, out_h, out_w, C)``."""
    x_pad, _ = pad_images(x, pool_size, strides, padding)
    total = None
    for _, _, rows, cols in _offsets(pool_size, strides, out_hw):
        total = x_pad[:, rows, cols, :].copy() if total is None else np.add(total, x_pad[:, rows, cols, :], out=total)
    return total / _window_counts(x.shape, pool_size, strides, padding, out_hw, x.dtype)


def _avg_pool_backward(dy, x_shape, pool_size, strides, padding):
    """Unchecked backward: each window shares ``dy`` equally among its real pixels."""
    out_hw = dy.shape[1:3]
    share = dy / _window_counts(x_shape, pool_size, strides, padding, out_hw, dy.dtype)
    (top, bottom) = pad_amounts(x_shape[1], pool_size[0], strides[0], padding)
    (left, right) = pad_amounts(x_shape[2], pool_size[1], strides[1], padding)
    dx_pad = np.zeros((x_shape[0], x_shape[1] + top + bottom, x_shape[2] + left + right, x_shape[3]), dy.dtype)
    for _, _, rows, cols in _offsets(pool_size, strides, out_hw):
        dx_pad[:, rows, cols, :] += share
    return dx_pad[:, top : top + x_shape[1], left : left + x_shape[2], :]


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling.

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    pool_size : int or (int, int)
    strides : int, (int, int) or None (None: the pool size)
    padding : "valid" or "same" (same: the mean over the real pixels of each window)

    Returns
    -------
    y : array ``(N, H_out, W_out, C)``
    """
    x, pool_size, strides, padding, out_hw = _check_pool_args(x, pool_size, strides, padding)
    return _avg_pool_forward(x, pool_size, strides, padding, out_hw)


def avg_pool2d_backward(dy, x, pool_size=2, strides=None, padding="valid"):
    """Gradient of a scalar loss through ``y = avg_pool2d(x, ...)``.

    Parameters
    ----------
    dy : array ``(N, H_out, W_out, C)``
    x : array ``(N, H, W, C)``, the forward input (only its shape matters)
    pool_size, strides, padding : as in the forward pass

    Returns
    -------
    dx : array ``(N, H, W, C)``
    """
    x, pool_size, strides, padding, out_hw = _check_pool_args(x, pool_size, strides, padding)
    dy = _check_dy(dy, x, out_hw)
    return _avg_pool_backward(dy.astype(np.result_type(x, dy), copy=False), x.shape, pool_size, strides, padding)


def avg_pool2d_naive(x, pool_size=2, strides=None, padding="valid"):
    """The seed's mean formula as loops over output pixels; same arguments and result as ``avg_pool2d``."""
    x, (ph, pw), (sh, sw), padding, (out_h, out_w) = _check_pool_args(x, pool_size, strides, padding)
    x_pad, _ = pad_images(x, (ph, pw), (sh, sw), padding, value=np.nan)
    y = np.empty((x.shape[0], out_h, out_w, x.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            # padded pixels are NaN, and nanmean skips them: the mean over real pixels
            y[:, i, j, :] = np.nanmean(x_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :], axis=(1, 2))
    return y
