"""The layers' fast paths: the taught pairs' numbers, computed with fewer passes.

The chapters teach ``conv2d_forward`` / ``conv2d_backward`` and ``max_pool2d_forward`` /
``max_pool2d_backward`` (plain loops over window offsets, arguments checked on every call);
read those. The layers (``Conv2D``, ``MaxPooling2D``) run the functions here instead, on
inputs they have already checked and with the window geometry computed once, when the
layer was built; these functions check nothing. ``tests/test_scratch_fast_paths.py`` proves
each equal to its taught pair (forward outputs and every gradient).

- ``im2col``: every window copied into one row by a single strided copy of a view
  (``as_strided``), instead of one slice assignment per kernel offset; the same matrix.
- ``conv2d_forward``: im2col, one matrix product, the bias and, for ReLU, the activation
  in place (one pass fewer, one array fewer); the taught pair's cache.
- ``conv2d_backward``: the taught pair's arithmetic, without its argument checks, and
  without the input gradient's ``col2im`` when the caller needs no ``dx``; in float32 the
  bias gradient is a matrix-vector product (the same sum, rounded in another order), and for
  stride 1 without padding the input gradient is one product per kernel offset, each added
  into ``dx`` as a contiguous block (``_col2im_by_offset``) instead of ``dcols`` and ``col2im``.
- ``max_pool2d_forward`` / ``max_pool2d_backward`` for windows that tile the input (pool size
  equal to the strides, no padding: Keras's ``MaxPooling2D((2, 2))``): the windows are a
  reshape of ``x``; the backward pass routes each window's gradient to the first maximum in
  row-major order, as ``max_pool2d_backward`` (and TensorFlow) do. The layer runs the taught
  pair for other geometries. After a ReLU (``relu_below``) the backward pass also applies the
  ReLU's mask, on the pooled gradient: ``Sequential`` then skips that layer's activation backward.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .conv import col2im
from .conv import im2col as taught_im2col


def im2col(x, geometry) -> np.ndarray:
    """``im2col(x, geometry)`` of ``conv``, by one copy of a strided view (the taught loop for 1 to 3 channels).

    ``x (N, H, W, C)``; returns ``cols (N * out_h * out_w, kh * kw * C)``, row ``(n, i, j)``
    the window at output position ``(i, j)`` in the kernel's order ``(p, q, c)``.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = geometry.window, geometry.strides, geometry.out_hw
    n, channels = x.shape[0], x.shape[3]
    if channels < 4:  # rows of fewer than 4 contiguous numbers: the taught loop's kh * kw slices copy faster
        return taught_im2col(x, geometry)
    x_pad = geometry.pad(x)
    s_n, s_h, s_w, s_c = x_pad.strides
    windows = as_strided(x_pad, (n, out_h, out_w, kh, kw, channels),
                         (s_n, sh * s_h, sw * s_w, s_h, s_w, s_c), writeable=False)
    return windows.reshape(n * out_h * out_w, kh * kw * channels)  # the one copy


def conv2d_forward(x, kernel, bias, geometry, relu: bool = False):
    """``conv2d_forward`` on checked arrays of one dtype, with the geometry computed at build.

    ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_in, C_out)``, ``bias (C_out,)`` or None.
    Returns ``(z, cache)``, the taught pair's: ``z (N, H_out, W_out, C_out)``, and with
    ``relu`` the activation ``max(z, 0)`` computed in place (``z`` itself is then not kept).
    """
    c_out = kernel.shape[3]
    cols = im2col(x, geometry)
    z = cols @ kernel.reshape(-1, c_out)
    if bias is not None:
        z += bias
    if relu:
        np.maximum(z, 0, out=z)
    z = z.reshape((x.shape[0],) + geometry.out_hw + (c_out,))
    return z, {"cols": cols, "kernel": kernel, "x_shape": x.shape, "geometry": geometry}


@functools.lru_cache(maxsize=16)
def _ones(length: int) -> np.ndarray:
    """A read-only float32 vector of ``length`` ones, made once per length (one per layer and batch size)."""
    ones = np.ones(length, np.float32)
    ones.flags.writeable = False
    return ones


def conv2d_backward(dout, cache, need_dx: bool = True):
    """``conv2d_backward(dout, cache)`` without its checks; ``dx`` is None unless ``need_dx``.

    ``dout (N, H_out, W_out, C_out)``; returns ``(dx (N, H, W, C_in) or None, dkernel, dbias)``.
    """
    cols, kernel, geometry = cache["cols"], cache["kernel"], cache["geometry"]
    c_out = kernel.shape[3]
    dout_rows = dout.reshape(-1, c_out)
    dkernel = (cols.T @ dout_rows).reshape(kernel.shape)
    if dout_rows.dtype == np.float32:  # a matrix-vector product sums the columns ~10x faster than sum(axis=0)
        dbias = _ones(len(dout_rows)) @ dout_rows
    else:  # float64 (gradient checks): the taught pair's sum, bit for bit
        dbias = dout_rows.sum(axis=0)
    if not need_dx:
        return None, dkernel, dbias
    if dout_rows.dtype != np.float32 or geometry.strides != (1, 1) or geometry.pads != ((0, 0), (0, 0)):
        # float64 (gradient checks) and other geometries: the taught pair's products and col2im, bit for bit
        dcols = dout_rows @ kernel.reshape(-1, c_out).T
        return col2im(dcols, geometry, cache["x_shape"]), dkernel, dbias
    return _col2im_by_offset(dout_rows, kernel, geometry, cache["x_shape"]), dkernel, dbias


def _col2im_by_offset(dout_rows, kernel, geometry, x_shape) -> np.ndarray:
    """``col2im(dout_rows @ kernel.reshape(-1, C_out).T, geometry, x_shape)`` for stride 1, no padding, float32.

    One product per kernel offset ``(p, q)``, ``dout_rows @ kernel[p, q].T``: the same dot products as
    the columns of ``dcols`` for that offset, but each a contiguous ``(N, out_h, out_w, C_in)`` block, so
    the ``kh * kw`` additions into ``dx`` read memory in order. ``dout_rows (N * out_h * out_w, C_out)``.
    """
    (kh, kw), (out_h, out_w) = geometry.window, geometry.out_hw
    n, channels = x_shape[0], x_shape[3]
    dx = np.zeros(x_shape, dtype=np.result_type(dout_rows, kernel))
    for p in range(kh):
        for q in range(kw):
            block = (dout_rows @ kernel[p, q].T).reshape(n, out_h, out_w, channels)
            dx[:, p : p + out_h, q : q + out_w, :] += block
    return dx


def tiles(geometry) -> bool:
    """Windows that tile the input: pool size equal to the strides, no padding."""
    return geometry.window == geometry.strides and geometry.pads == ((0, 0), (0, 0))


def max_pool2d_forward(x, geometry):
    """``max_pool2d_forward`` on a checked ``x (N, H, W, C)`` for windows that ``tiles``; returns
    ``(y (N, H_out, W_out, C), cache)``, the cache for ``max_pool2d_backward`` below.
    """
    (ph, pw), (out_h, out_w) = geometry.window, geometry.out_hw
    n, channels = x.shape[0], x.shape[3]
    windows = x[:, : out_h * ph, : out_w * pw, :].reshape(n, out_h, ph, out_w, pw, channels)  # a view
    y = windows[:, :, 0, :, 0, :].copy()
    for p in range(ph):
        for q in range(pw):
            if p or q:
                np.maximum(y, windows[:, :, p, :, q, :], out=y)
    return y, {"windows": windows, "y": y, "x_shape": x.shape}


def max_pool2d_backward(dout, cache, relu_below: bool = False):
    """``max_pool2d_backward``: each window's ``dout`` goes to its first maximum in row-major order.

    ``dout (N, H_out, W_out, C)``; returns ``dx (N, H, W, C)``. The last offset of a window takes
    ``dout`` where no earlier offset held the maximum (a window always holds one), without comparing.

    ``relu_below``: ``x`` was a ReLU's output ``y``, and ``dx`` is returned already through that ReLU,
    ``relu_backward(dx, x)``: ``dx`` is non-zero only at a window's maximum, where ``x > 0`` is ``y > 0``,
    so the mask is applied to the pooled ``dout`` (a quarter of the numbers for 2x2 windows).
    """
    windows, y, (n, height, width, channels) = cache["windows"], cache["y"], cache["x_shape"]
    if relu_below:
        dout = np.multiply(dout, y > 0)
    _, out_h, ph, out_w, pw, _ = windows.shape
    dtype = np.result_type(y, dout)
    tiled = (height, width) == (out_h * ph, out_w * pw)  # every pixel in a window: each is written below
    dx = (np.empty if tiled else np.zeros)((n, height, width, channels), dtype=dtype)
    dwindows = dx[:, : out_h * ph, : out_w * pw, :].reshape(windows.shape)  # a view of dx: splitting axes never copies
    offsets = [(p, q) for p in range(ph) for q in range(pw)]
    found = np.equal(windows[:, :, 0, :, 0, :], y)  # the first offset holds a maximum: it takes it
    np.multiply(found, dout, out=dwindows[:, :, 0, :, 0, :])
    first = np.empty_like(found)
    for index, (p, q) in enumerate(offsets[1:], start=1):
        if index == len(offsets) - 1:
            np.logical_not(found, out=first)  # the last offset: the maximum, when no earlier offset held it
        else:
            np.equal(windows[:, :, p, :, q, :], y, out=first)
            np.greater(first, found, out=first)  # a maximum, and none at an earlier offset
            found |= first
        np.multiply(first, dout, out=dwindows[:, :, p, :, q, :])
    return dx
