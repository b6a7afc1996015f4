"""2-D convolution (cross-correlation, as in every deep learning framework), NHWC.

The seed's formula (section 3.1) is

    y(i, j) = sum_{p=0}^{P-1} sum_{q=0}^{Q-1} x(i + p, j + q) * k(p, q)

with no kernel flip, so it is a cross-correlation. Here it grows channels, a bias,
strides and padding, exactly as ``keras.layers.Conv2D`` computes it:

    y[n, i, j, f] = bias[f] + sum_{p, q, c} x_pad[n, i*sh + p, j*sw + q, c] * kernel[p, q, c, f]

Shapes (Keras's layout): ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_in, C_out)``,
``bias (C_out,)``, ``y (N, H_out, W_out, C_out)``.

``conv2d_naive`` writes the formula as loops; ``conv2d`` computes the same numbers with
im2col: every receptive field becomes one row of a matrix, and one matrix product with
the flattened kernel does all the multiply-adds at once. ``conv2d_forward(x, kernel, ...) ->
(y, cache)`` and ``conv2d_backward(dout, cache) -> (dx, dkernel, dbias)`` are the same as a
cs231n-style pair, which the ``Conv2D`` layer calls; ``conv2d_backward_naive`` is the backward
pass as loops.
"""

from __future__ import annotations

import numpy as np

from .padding import window_geometry
from ..checks import check_bias, check_images, check_kernel


def _check_conv_args(x, kernel, bias, strides, padding):
    """Validated ``x, kernel, bias`` and the kernel's ``WindowGeometry`` over ``x``; ``bias`` may be None."""
    x = check_images(x, "x")
    kernel = check_kernel(kernel, x.shape[3])
    if bias is not None:
        bias = check_bias(bias, kernel.shape[3])
    geometry = window_geometry(x.shape, kernel.shape[:2], strides, padding, name="kernel")
    return x, kernel, bias, geometry


def conv2d_naive(x, kernel, bias=None, strides=1, padding="valid"):
    """The seed's formula as explicit loops over output pixels and kernel offsets.

    The loops run over the image ``n``, the output position ``(i, j)`` and the kernel
    offset ``(p, q)``, as in the seed's double sum. Only the channels ride along as
    vectors: at each step the ``C_in`` values of one input pixel meet the
    ``(C_in, C_out)`` kernel slice ``k(p, q)`` in a small vector-matrix product. It is
    slow on purpose: it is the reference that ``conv2d`` is tested against.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same" (TensorFlow's rule, extra pixel at the bottom/right)

    Returns
    -------
    y : array ``(N, H_out, W_out, C_out)``
    """
    x, kernel, bias, geometry = _check_conv_args(x, kernel, bias, strides, padding)
    (sh, sw), (out_h, out_w) = geometry.strides, geometry.out_hw
    kh, kw, _, c_out = kernel.shape
    x_pad = geometry.pad(x)
    y = np.zeros((x.shape[0], out_h, out_w, c_out), dtype=np.result_type(x, kernel))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                for p in range(kh):
                    for q in range(kw):
                        # x(i + p, j + q) * k(p, q): a (C_in,) pixel times a (C_in, C_out) kernel slice
                        y[n, i, j, :] += x_pad[n, i * sh + p, j * sw + q, :] @ kernel[p, q]
    if bias is not None:
        y += bias
    return y


def im2col(x, geometry) -> np.ndarray:
    """The im2col matrix: every window of ``x`` (its receptive field) copied into one row.

    Parameters
    ----------
    x : array ``(N, H, W, C)``, not padded (the padding comes from ``geometry``)
    geometry : the ``WindowGeometry`` of the kernel over ``x`` (``window_geometry``)

    Returns
    -------
    cols : array ``(N * out_h * out_w, kh * kw * C)``; row ``(n, i, j)`` holds the window
        ``x_pad[n, i*sh : i*sh + kh, j*sw : j*sw + kw, :]`` in the kernel's order ``(p, q, c)``,
        so ``cols @ kernel.reshape(kh * kw * C, C_out)`` is the convolution
    """
    (kh, kw), (out_h, out_w) = geometry.window, geometry.out_hw
    n, channels = x.shape[0], x.shape[3]
    x_pad = geometry.pad(x)
    windows = np.empty((n, out_h, out_w, kh, kw, channels), dtype=x.dtype)
    for p, q, rows, cols in geometry.offsets():
        # the pixel at offset (p, q) of every window at once: x_pad[n, i*sh + p, j*sw + q, :]
        windows[:, :, :, p, q, :] = x_pad[:, rows, cols, :]
    return windows.reshape(-1, kh * kw * channels)


def col2im(dcols, geometry, x_shape) -> np.ndarray:
    """The adjoint of ``im2col``: add every window's gradient back onto the pixels it was copied from.

    Parameters
    ----------
    dcols : array ``(N * out_h * out_w, kh * kw * C)``, one window's gradient per row
    geometry : the ``WindowGeometry`` that ``im2col`` used
    x_shape : ``(N, H, W, C)``, the shape of ``im2col``'s input

    Returns
    -------
    dx : array ``(N, H, W, C)``. Overlapping windows add up, which is why this is a loop of
        ``kh * kw`` additions (one strided slice per kernel offset) rather than a reshape.
    """
    (kh, kw), (out_h, out_w) = geometry.window, geometry.out_hw
    n, channels = x_shape[0], x_shape[3]
    dwindows = dcols.reshape(n, out_h, out_w, kh, kw, channels)
    dx_pad = geometry.zeros_padded(n, channels, dcols.dtype)
    for p, q, rows, cols in geometry.offsets():
        dx_pad[:, rows, cols, :] += dwindows[:, :, :, p, q, :]
    return geometry.crop(dx_pad)


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    """Vectorised 2-D convolution (im2col + one matrix product); same results as ``conv2d_naive``.

    ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_in, C_out)``, ``bias (C_out,)`` or None,
    ``strides`` and ``padding`` as in ``conv2d_forward``; returns ``y (N, H_out, W_out, C_out)``.
    """
    y, _ = conv2d_forward(x, kernel, bias, strides, padding)
    return y


def conv2d_backward_naive(dy, x, kernel, strides=1, padding="valid"):
    """The backward pass as loops: each forward multiply-add sends ``dy`` back to both factors.

    ``dy (N, H_out, W_out, C_out)``, and the forward's ``x (N, H, W, C_in)``, ``kernel
    (kh, kw, C_in, C_out)``, ``strides`` and ``padding``; returns ``(dx, dkernel, dbias)``, shaped
    like ``x``, ``kernel`` and ``(C_out,)``, the same numbers as ``conv2d_backward``.
    """
    x, kernel, _, geometry = _check_conv_args(x, kernel, None, strides, padding)
    dy = geometry.check_output_gradient(dy, x.shape[0], kernel.shape[3], name="dy")
    (sh, sw), (out_h, out_w) = geometry.strides, geometry.out_hw
    kh, kw, _, _ = kernel.shape
    x_pad = geometry.pad(x)
    dx_pad = np.zeros(x_pad.shape, dtype=np.result_type(x, kernel, dy))
    dkernel = np.zeros(kernel.shape, dtype=dx_pad.dtype)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(kh):
                for q in range(kw):
                    # forward: y[:, i, j, :] += x_pad[:, i*sh+p, j*sw+q, :] @ kernel[p, q]
                    dx_pad[:, i * sh + p, j * sw + q, :] += dy[:, i, j, :] @ kernel[p, q].T
                    dkernel[p, q] += x_pad[:, i * sh + p, j * sw + q, :].T @ dy[:, i, j, :]
    dbias = dy.sum(axis=(0, 1, 2))
    return geometry.crop(dx_pad), dkernel, dbias


def conv2d_forward(x, kernel, bias=None, strides=1, padding="valid"):
    """The convolution, and what its backward pass needs (a cs231n-style pair with ``conv2d_backward``).

    Every window is copied into one row of a matrix (``im2col``), so that the forward pass
    is one matrix product; the backward pass reuses that matrix for ``dkernel``.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same"

    Returns
    -------
    y : array ``(N, H_out, W_out, C_out)``, the same numbers as ``conv2d_naive``
    cache : dict for ``conv2d_backward``: ``cols (N * H_out * W_out, kh * kw * C_in)``, the
        windows, one per row; ``kernel``; ``x_shape``; ``geometry`` (the ``WindowGeometry``:
        strides, padding, output size)
    """
    x, kernel, bias, geometry = _check_conv_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    x, kernel = x.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
    c_out = kernel.shape[3]
    cols = im2col(x, geometry)              # (N * H_out * W_out, kh * kw * C_in), one window per row
    y = cols @ kernel.reshape(-1, c_out)    # every window times every filter
    if bias is not None:
        y += bias
    y = y.reshape((x.shape[0],) + geometry.out_hw + (c_out,))
    cache = {"cols": cols, "kernel": kernel, "x_shape": x.shape, "geometry": geometry}
    return y, cache


def conv2d_backward(dout, cache):
    """The backward pass of ``conv2d_forward``: gradients of a scalar loss from ``dout = dL/dy``.

    Parameters
    ----------
    dout : array ``(N, H_out, W_out, C_out)``, the forward output's shape
    cache : the dict returned by ``conv2d_forward``

    Returns
    -------
    dx : array ``(N, H, W, C_in)``: every window's gradient, ``dout @ kernel.T``, added back
        where the window was taken (``col2im``); overlapping windows add up
    dkernel : array ``(kh, kw, C_in, C_out)``: ``cols.T @ dout``, the input correlated with ``dout``
    dbias : array ``(C_out,)``: ``dout`` summed over the batch and all positions
    """
    if not isinstance(cache, dict) or not {"cols", "kernel", "x_shape", "geometry"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by conv2d_forward, got {type(cache).__name__}")
    cols, kernel, geometry = cache["cols"], cache["kernel"], cache["geometry"]
    c_out = kernel.shape[3]
    dout = geometry.check_output_gradient(dout, cache["x_shape"][0], c_out, cols.dtype)
    dout_rows = dout.reshape(-1, c_out)                        # (N * H_out * W_out, C_out), one row per window
    dkernel = (cols.T @ dout_rows).reshape(kernel.shape)
    dbias = dout_rows.sum(axis=0)
    dcols = dout_rows @ kernel.reshape(-1, c_out).T            # each window's gradient
    dx = col2im(dcols, geometry, cache["x_shape"])
    return dx, dkernel, dbias
