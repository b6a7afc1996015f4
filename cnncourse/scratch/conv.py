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
the flattened kernel does all the multiply-adds at once.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .padding import window_geometry, window_offsets
from .validation import check_bias, check_images, check_kernel


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


def im2col(x_padded: np.ndarray, kernel_size, strides, out_hw) -> np.ndarray:
    """Every receptive field of a padded batch, as a strided view (no copy).

    Parameters
    ----------
    x_padded : array ``(N, H_pad, W_pad, C)``
    kernel_size, strides : (int, int)
    out_hw : (out_h, out_w)

    Returns
    -------
    windows : view ``(N, out_h, out_w, kh, kw, C)``, the kernel's own axis order, so
        ``windows.reshape(-1, kh * kw * C) @ kernel.reshape(kh * kw * C, C_out)`` is the
        convolution.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, strides, out_hw
    windows = sliding_window_view(x_padded, (kh, kw), axis=(1, 2))  # (N, H_pad-kh+1, W_pad-kw+1, C, kh, kw)
    windows = windows[:, : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw]
    return windows.transpose(0, 1, 2, 4, 5, 3)


def col2im(dwindows: np.ndarray, padded_shape, strides) -> np.ndarray:
    """The adjoint of ``im2col``: add every window's gradient back onto the padded input.

    Parameters
    ----------
    dwindows : array ``(N, out_h, out_w, kh, kw, C)``
    padded_shape : ``(N, H_pad, W_pad, C)``
    strides : (int, int)

    Returns
    -------
    dx_padded : array ``padded_shape``. Overlapping windows add up, which is why this is
        a loop of ``kh * kw`` vectorised additions (one strided slice per kernel offset)
        rather than a reshape.
    """
    _, out_h, out_w, kh, kw, _ = dwindows.shape
    stride_one = tuple(strides) == (1, 1)
    dx_padded = (np.empty if stride_one else np.zeros)(padded_shape, dtype=dwindows.dtype)
    for p, q, rows, cols in window_offsets((kh, kw), strides, (out_h, out_w)):
        if stride_one and p == q == 0:
            # Stride 1: offset (0, 0) is one block; assign it and zero the strips beside it (no full pass of zeros).
            dx_padded[:, out_h:] = 0
            dx_padded[:, :out_h, out_w:] = 0
            dx_padded[:, :out_h, :out_w] = dwindows[:, :, :, 0, 0, :]
        else:
            dx_padded[:, rows, cols, :] += dwindows[:, :, :, p, q, :]
    return dx_padded


def _buffer(buffers, key, shape, dtype):
    """``buffers[key]`` when it has this shape and dtype (memory reused across batches), else a new empty array."""
    old = buffers.get(key) if isinstance(buffers, dict) else None
    if old is not None and old.shape == shape and old.dtype == dtype:
        return old
    return np.empty(shape, dtype)


def receptive_fields(x, geometry, out=None) -> np.ndarray:
    """The im2col matrix: every receptive field of ``x``, copied once into one row.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``, not padded: the padding is written into the matrix
    geometry : the ``WindowGeometry`` of the kernel over ``x``
    out : optional array ``(N, out_h, out_w, kh, kw, C_in)`` to write into (a buffer reused across batches)

    Returns
    -------
    cols : array ``(N * out_h * out_w, kh * kw * C_in)``; row ``(n, i, j)`` holds the window
        ``x_pad[n, i*sh : i*sh + kh, j*sw : j*sw + kw, :]`` in the kernel's order ``(p, q, c)``
    """
    (kh, kw), (out_h, out_w), c_in = geometry.window, geometry.out_hw, x.shape[3]
    shape = (x.shape[0], out_h, out_w, kh, kw, c_in)
    cols = np.empty(shape, x.dtype) if out is None else out
    if c_in >= 8 and geometry.pads == ((0, 0), (0, 0)):
        # Many channels: one copy of the 6-D strided view is fastest.
        cols[...] = im2col(x, geometry.window, geometry.strides, geometry.out_hw)
    else:
        # Few channels (or padding): one strided copy per kernel offset, with the padding
        # written as zeros where the window hangs over the edge, so x is never padded.
        for p, q, (i0, i1, rows), (j0, j1, columns) in _clipped_offsets(geometry):
            if i0 > 0 or i1 < out_h or j0 > 0 or j1 < out_w:
                cols[:, :, :, p, q, :] = 0
            cols[:, i0:i1, j0:j1, p, q, :] = x[:, rows, columns, :]
    return cols.reshape(-1, kh * kw * c_in)


def _clipped_offsets(geometry):
    """Per kernel offset ``(p, q)``: the output rows ``i0:i1`` (and columns ``j0:j1``) whose
    pixel at that offset lies inside the unpadded input, and the input slices they read."""
    for p, q, _, _ in geometry.offsets():
        yield p, q, _clip(p, 0, geometry), _clip(q, 1, geometry)


def _clip(offset, axis, geometry):
    before, stride = geometry.pads[axis][0], geometry.strides[axis]
    length, out = geometry.input_hw[axis], geometry.out_hw[axis]
    start = max(-(-(before - offset) // stride), 0)         # first i with i*s + offset - before >= 0
    stop = min((length - 1 + before - offset) // stride + 1, out)  # one past the last i inside
    first = start * stride + offset - before
    return start, max(stop, start), slice(first, first + (max(stop, start) - start - 1) * stride + 1, stride)


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    """Vectorised 2-D convolution (im2col + one matrix product); same results as ``conv2d_naive``.

    ``x (N, H, W, C_in)``, ``kernel (kh, kw, C_in, C_out)``, ``bias (C_out,)`` or None,
    ``strides`` and ``padding`` as in ``conv2d_forward``; returns ``y (N, H_out, W_out, C_out)``.
    """
    y, _ = conv2d_forward(x, kernel, bias, strides, padding)
    return y


def conv2d_backward(dy, x, kernel, strides=1, padding="valid"):
    """Gradients of a scalar loss through ``y = conv2d(x, kernel, bias, strides, padding)``.

    Parameters
    ----------
    dy : array ``(N, H_out, W_out, C_out)``, the gradient of the loss w.r.t. ``y``
    x : array ``(N, H, W, C_in)``, the forward input
    kernel : array ``(kh, kw, C_in, C_out)``
    strides, padding : as in the forward pass

    Returns
    -------
    dx : array ``(N, H, W, C_in)``
    dkernel : array ``(kh, kw, C_in, C_out)``; ``dkernel[p, q, c, f] = sum dy[n, i, j, f] * x_pad[n, i*sh+p, j*sw+q, c]``
    dbias : array ``(C_out,)``; the sum of ``dy`` over batch and pixels
    """
    _, cache = conv2d_forward(x, kernel, None, strides, padding)
    return conv2d_backward_from_cache(dy, cache)


def conv2d_backward_naive(dy, x, kernel, strides=1, padding="valid"):
    """``conv2d_backward`` as loops: each forward multiply-add sends ``dy`` back to both factors.

    Shapes as in ``conv2d_backward``; returns ``(dx, dkernel, dbias)``.
    """
    x, kernel, _, geometry = _check_conv_args(x, kernel, None, strides, padding)
    dy = geometry.check_output_gradient(dy, x.shape[0], kernel.shape[3])
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



def conv2d_forward(x, kernel, bias=None, strides=1, padding="valid", buffers=None):
    """``conv2d`` that also returns what its backward pass needs, in the style of cs231n's layers.

    The receptive fields are copied into one matrix (im2col), so that the forward pass is
    one matrix product; the backward pass reuses that matrix for ``dkernel``.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same"
    buffers : optional, the cache of an earlier call, whose im2col matrix this call may
        overwrite (a layer saves allocating it again on every batch); that cache is then spent

    Returns
    -------
    y : array ``(N, H_out, W_out, C_out)``, the same numbers as ``conv2d``
    cache : dict for ``conv2d_backward_from_cache``: ``cols (N * H_out * W_out, kh * kw * C_in)``,
        the receptive fields, one per row; ``extended``, the same with a column of ones
        ``(N * H_out * W_out, kh * kw * C_in + 1)``; ``kernel``; ``x_shape``; ``y_shape``;
        ``geometry`` (the ``WindowGeometry``: strides, padding, output size)
    """
    x, kernel, bias, geometry = _check_conv_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    x, kernel = x.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
    kh, kw, c_in, c_out = kernel.shape
    (out_h, out_w), n = geometry.out_hw, x.shape[0]
    width = kh * kw * c_in
    # The bias trick: the im2col matrix gets a last column of ones and the kernel matrix a last
    # row, the bias, so one product adds the bias, and in the backward pass one product gives
    # dbias along with dkernel. Its memory is lent by the last batch's cache when it fits.
    extended = _buffer(buffers, "extended", (n * out_h * out_w, width + 1), dtype)
    extended[:, width] = 1
    # im2col: row (n, i, j) holds the window x_pad[n, i*sh : i*sh + kh, j*sw : j*sw + kw, :]
    cols = receptive_fields(x, geometry, out=extended[:, :width].reshape(n, out_h, out_w, kh, kw, c_in))
    weights = np.empty((width + 1, c_out), dtype)
    weights[:width] = kernel.reshape(width, c_out)
    weights[width] = 0 if bias is None else bias
    y = (extended @ weights).reshape(n, out_h, out_w, c_out)  # every window times every filter, plus the bias
    cache = {"cols": cols, "extended": extended, "kernel": kernel, "x_shape": x.shape, "y_shape": y.shape,
             "geometry": geometry}
    if isinstance(buffers, dict) and "dcols" in buffers:
        cache["dcols"] = buffers["dcols"]  # the backward pass's scratch memory, passed on too
    return y, cache


def conv2d_backward_from_cache(dy, cache, need_dx=True):
    """The backward pass of ``conv2d_forward``: gradients of a scalar loss from ``dy = dL/dy``.

    Parameters
    ----------
    dy : array ``(N, H_out, W_out, C_out)``, the forward output's shape
    cache : the dict returned by ``conv2d_forward``
    need_dx : False skips ``dx`` (a network's first layer needs no input gradient)

    Returns
    -------
    dx : array ``(N, H, W, C_in)``, or None when ``need_dx`` is False; every window's
        gradient, ``dy @ kernel.T``, added back where the window was taken (col2im);
        overlapping windows add up
    dkernel : array ``(kh, kw, C_in, C_out)``; ``cols.T @ dy``: the input correlated with ``dy``
    dbias : array ``(C_out,)``; ``dy`` summed over the batch and all positions (``ones.T @ dy``)
    """
    if not isinstance(cache, dict) or not {"cols", "extended", "kernel", "x_shape", "y_shape", "geometry"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by conv2d_forward, got {type(cache).__name__}")
    cols, kernel, geometry = cache["cols"], cache["kernel"], cache["geometry"]
    kh, kw, c_in, c_out = kernel.shape
    n, out_h, out_w, _ = cache["y_shape"]
    dy = geometry.check_output_gradient(dy, n, c_out).astype(cols.dtype, copy=False)
    dy_rows = dy.reshape(-1, c_out)                                  # (N * H_out * W_out, C_out), one row per window
    dweights = cache["extended"].T @ dy_rows                         # sum over windows of [window, 1] x dy
    dkernel = dweights[:-1].reshape(kernel.shape)                    # cols.T @ dy
    dbias = dweights[-1]                                             # the column of ones: dy summed over batch and positions
    if not need_dx:
        return None, dkernel, dbias
    dcols = _buffer(cache, "dcols", cols.shape, cols.dtype)          # scratch memory, kept for the next batch
    cache["dcols"] = np.matmul(dy_rows, kernel.reshape(kh * kw * c_in, c_out).T, out=dcols)  # each window's gradient
    dx_pad = col2im(dcols.reshape(n, out_h, out_w, kh, kw, c_in), (n,) + geometry.padded_hw + (c_in,), geometry.strides)
    return geometry.crop(dx_pad), dkernel, dbias
