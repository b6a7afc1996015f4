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

Public pairs in the style of cs231n's layers: ``max_pool2d_forward(x, ...) -> (y, cache)``
and ``max_pool2d_backward(dout, cache) -> dx``, and the same for average pooling.
"""

from __future__ import annotations

import numpy as np

from .padding import window_geometry
from ..checks import as_pair, check_images


def _check_pool_args(x, pool_size, strides, padding):
    """Validated ``x`` and the pool's ``WindowGeometry``; strides default to the pool size, as in Keras."""
    x = check_images(x, "x")
    pool_size = as_pair(pool_size, "pool_size")
    strides = pool_size if strides is None else as_pair(strides, "strides")
    return x, window_geometry(x.shape, pool_size, strides, padding, name="pool_size")


def _check_cache(cache, keys, forward_name):
    if not isinstance(cache, dict) or not set(keys) <= cache.keys():
        raise TypeError(f"cache must be the dict returned by {forward_name}, got {type(cache).__name__}")


# ----------------------------------------------------------------------------- max pooling


def max_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling, and what its backward pass needs (a cs231n-style pair with ``max_pool2d_backward``).

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    pool_size : int or (int, int)
    strides : int, (int, int) or None (None: the pool size, as in Keras)
    padding : "valid" or "same" (same: padded pixels are -inf, so they never win)

    Returns
    -------
    y : array ``(N, H_out, W_out, C)``
    cache : dict for ``max_pool2d_backward``: ``x_padded (N, H_pad, W_pad, C)``, ``y``,
        ``geometry`` (the ``WindowGeometry``)
    """
    x, geometry = _check_pool_args(x, pool_size, strides, padding)
    x_pad = geometry.pad(x, value=-np.inf)
    y = np.full((x.shape[0],) + geometry.out_hw + (x.shape[3],), -np.inf, dtype=x.dtype)
    for _, _, rows, cols in geometry.offsets():
        # x_pad[:, rows, cols, :] is the pixel at offset (p, q) of every window at once: (N, H_out, W_out, C)
        y = np.maximum(y, x_pad[:, rows, cols, :])
    return y, {"x_padded": x_pad, "y": y, "geometry": geometry}


def max_pool2d_backward(dout, cache):
    """The backward pass of ``max_pool2d_forward``: each window sends ``dout`` to its maximum.

    When a window holds the maximum more than once (e.g. several zeros after a ReLU),
    only the first one in row-major order gets the gradient, as in TensorFlow.

    Parameters
    ----------
    dout : array ``(N, H_out, W_out, C)``
    cache : the dict returned by ``max_pool2d_forward``

    Returns
    -------
    dx : array ``(N, H, W, C)``: ``dout`` routed to the position of each window's maximum, zero elsewhere
    """
    _check_cache(cache, ("x_padded", "y", "geometry"), "max_pool2d_forward")
    x_pad, y, geometry = cache["x_padded"], cache["y"], cache["geometry"]
    dout = geometry.check_output_gradient(dout, y.shape[0], y.shape[3])
    dx_pad = geometry.zeros_padded(y.shape[0], y.shape[3], np.result_type(y, dout))
    found = np.zeros(y.shape, dtype=bool)  # the window's maximum was found at an earlier offset
    for _, _, rows, cols in geometry.offsets():
        first = (x_pad[:, rows, cols, :] == y) & ~found  # this offset holds the maximum, and no earlier one did
        dx_pad[:, rows, cols, :] += first * dout
        found |= first
    return geometry.crop(dx_pad)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling, ``x (N, H, W, C) -> y (N, H_out, W_out, C)``; arguments as in ``max_pool2d_forward``."""
    return max_pool2d_forward(x, pool_size, strides, padding)[0]


def max_pool2d_naive(x, pool_size=2, strides=None, padding="valid"):
    """The seed's max formula as loops over output pixels; same arguments and result as ``max_pool2d``."""
    x, geometry = _check_pool_args(x, pool_size, strides, padding)
    (ph, pw), (sh, sw), (out_h, out_w) = geometry.window, geometry.strides, geometry.out_hw
    x_pad = geometry.pad(x, value=-np.inf)
    y = np.empty((x.shape[0], out_h, out_w, x.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            y[:, i, j, :] = x_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :].max(axis=(1, 2))
    return y


# ------------------------------------------------------------------------- average pooling


def _window_counts(geometry, dtype):
    """Real (unpadded) pixels in each window, ``(1, out_h, out_w, 1)``: TensorFlow's divisor."""
    counts = []
    for axis in (0, 1):
        start = np.arange(geometry.out_hw[axis]) * geometry.strides[axis] - geometry.pads[axis][0]
        counts.append(np.minimum(start + geometry.window[axis], geometry.input_hw[axis]) - np.maximum(start, 0))
    return np.outer(counts[0], counts[1]).astype(dtype)[None, :, :, None]


def avg_pool2d_forward(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling, and what its backward pass needs (a cs231n-style pair with ``avg_pool2d_backward``).

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    pool_size : int or (int, int)
    strides : int, (int, int) or None (None: the pool size)
    padding : "valid" or "same" (same: the mean over the real pixels of each window)

    Returns
    -------
    y : array ``(N, H_out, W_out, C)``
    cache : dict for ``avg_pool2d_backward``: ``x_shape``, ``dtype``, ``geometry``
    """
    x, geometry = _check_pool_args(x, pool_size, strides, padding)
    x_pad = geometry.pad(x)
    total = np.zeros((x.shape[0],) + geometry.out_hw + (x.shape[3],), dtype=x.dtype)
    for _, _, rows, cols in geometry.offsets():
        total = total + x_pad[:, rows, cols, :]
    y = total / _window_counts(geometry, x.dtype)
    return y, {"x_shape": x.shape, "dtype": y.dtype, "geometry": geometry}


def avg_pool2d_backward(dout, cache):
    """The backward pass of ``avg_pool2d_forward``: each window shares ``dout`` equally among its real pixels.

    Parameters
    ----------
    dout : array ``(N, H_out, W_out, C)``
    cache : the dict returned by ``avg_pool2d_forward``

    Returns
    -------
    dx : array ``(N, H, W, C)``
    """
    _check_cache(cache, ("x_shape", "dtype", "geometry"), "avg_pool2d_forward")
    (n, _, _, channels), geometry = cache["x_shape"], cache["geometry"]
    dout = geometry.check_output_gradient(dout, n, channels)
    dtype = np.result_type(cache["dtype"], dout)
    share = dout.astype(dtype, copy=False) / _window_counts(geometry, dtype)
    dx_pad = geometry.zeros_padded(n, channels, dtype)
    for _, _, rows, cols in geometry.offsets():
        dx_pad[:, rows, cols, :] += share
    return geometry.crop(dx_pad)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling, ``x (N, H, W, C) -> y (N, H_out, W_out, C)``; arguments as in ``avg_pool2d_forward``."""
    return avg_pool2d_forward(x, pool_size, strides, padding)[0]


def avg_pool2d_naive(x, pool_size=2, strides=None, padding="valid"):
    """The seed's mean formula as loops over output pixels; same arguments and result as ``avg_pool2d``."""
    x, geometry = _check_pool_args(x, pool_size, strides, padding)
    (ph, pw), (sh, sw), (out_h, out_w) = geometry.window, geometry.strides, geometry.out_hw
    x_pad = geometry.pad(x, value=np.nan)
    y = np.empty((x.shape[0], out_h, out_w, x.shape[3]), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            # padded pixels are NaN, and nanmean skips them: the mean over real pixels
            y[:, i, j, :] = np.nanmean(x_pad[:, i * sh : i * sh + ph, j * sw : j * sw + pw, :], axis=(1, 2))
    return y
