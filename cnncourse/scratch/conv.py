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

from .padding import check_window_fits, pad_amounts, pad_images
from .validation import as_float_array, as_pair, check_bias, check_images, check_kernel, check_padding


def _check_conv_args(x, kernel, bias, strides, padding):
    """Validated ``x, kernel, bias, (sh, sw), padding, (out_h, out_w)``; ``bias`` may be None."""
    x = check_images(x, "x")
    kernel = check_kernel(kernel, x.shape[3])
    if bias is not None:
        bias = check_bias(bias, kernel.shape[3])
    strides = as_pair(strides, "strides")
    padding = check_padding(padding)
    out_hw = check_window_fits(x.shape, kernel.shape[:2], strides, padding, name="kernel")
    return x, kernel, bias, strides, padding, out_hw


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
    x, kernel, bias, (sh, sw), padding, (out_h, out_w) = _check_conv_args(x, kernel, bias, strides, padding)
    kh, kw, _, c_out = kernel.shape
    x_pad, _ = pad_images(x, (kh, kw), (sh, sw), padding)
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


def _offsets(kernel_size, strides, out_hw):
    """``(p, q, rows, cols)`` per kernel offset: the slices of ``x_pad`` that offset touches."""
    (kh, kw), (sh, sw), (out_h, out_w) = kernel_size, strides, out_hw
    for p in range(kh):
        for q in range(kw):
            yield p, q, slice(p, p + (out_h - 1) * sh + 1, sh), slice(q, q + (out_w - 1) * sw + 1, sw)


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
        a loop of ``kh * kw`` vectorised additions rather than a reshape.
    """
    _, out_h, out_w, kh, kw, _ = dwindows.shape
    dx_padded = np.zeros(padded_shape, dtype=dwindows.dtype)
    for p, q, rows, cols in _offsets((kh, kw), strides, (out_h, out_w)):
        dx_padded[:, rows, cols, :] += dwindows[:, :, :, p, q, :]
    return dx_padded


def _conv_forward(x, kernel, bias, strides, padding, out_hw):
    """Unchecked vectorised forward; also returns the im2col matrix for the backward pass.

    Returns ``y (N, out_h, out_w, C_out)`` and ``cols (N * out_h * out_w, kh * kw * C_in)``.
    """
    kh, kw, c_in, c_out = kernel.shape
    x_pad, _ = pad_images(x, (kh, kw), strides, padding)
    if c_in >= 8:
        # The reshape copies the strided view into one contiguous matrix: this is im2col.
        cols = im2col(x_pad, (kh, kw), strides, out_hw).reshape(-1, kh * kw * c_in)
    else:
        # Few channels: copying one kernel offset at a time is about 3x faster than the 6-D transpose.
        cols = np.empty((x.shape[0], out_hw[0], out_hw[1], kh, kw, c_in), dtype=x_pad.dtype)
        for p, q, rows, columns in _offsets((kh, kw), strides, out_hw):
            cols[:, :, :, p, q, :] = x_pad[:, rows, columns, :]
        cols = cols.reshape(-1, kh * kw * c_in)
    y = cols @ kernel.reshape(kh * kw * c_in, c_out)
    if bias is not None:
        y += bias
    return y.reshape(x.shape[0], out_hw[0], out_hw[1], c_out), cols


def _conv_backward(dy, x_shape, kernel, strides, padding, cols, need_dx=True):
    """Unchecked backward pass from the im2col matrix ``cols`` saved by ``_conv_forward``.

    Returns ``dx (x_shape)`` (None when ``need_dx`` is False), ``dkernel`` and ``dbias``.
    """
    kh, kw, c_in, c_out = kernel.shape
    n, out_h, out_w, _ = dy.shape
    dy_rows = dy.reshape(-1, c_out)  # (N * out_h * out_w, C_out)
    dkernel = (cols.T @ dy_rows).reshape(kernel.shape)
    dbias = np.ones(len(dy_rows), dy.dtype) @ dy_rows  # the column sums, several times faster than .sum(0)
    if not need_dx:
        return None, dkernel, dbias
    (top, bottom), (left, right) = _pads(x_shape, (kh, kw), strides, padding)
    dx_padded = np.zeros((n, x_shape[1] + top + bottom, x_shape[2] + left + right, c_in), dtype=dy.dtype)
    # col2im, one kernel offset at a time: each offset's (C_out -> C_in) product is a
    # contiguous block, so the strided additions stay cheap.
    for p, q, rows, columns in _offsets((kh, kw), strides, (out_h, out_w)):
        dx_padded[:, rows, columns, :] += (dy_rows @ kernel[p, q].T).reshape(n, out_h, out_w, c_in)
    return dx_padded[:, top : top + x_shape[1], left : left + x_shape[2], :], dkernel, dbias


def _pads(x_shape, kernel_size, strides, padding):
    """``((top, bottom), (left, right))`` padding of an input of shape ``x_shape``."""
    return (
        pad_amounts(x_shape[1], kernel_size[0], strides[0], padding),
        pad_amounts(x_shape[2], kernel_size[1], strides[1], padding),
    )


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    """Vectorised 2-D convolution (im2col + one matrix product); same results as ``conv2d_naive``.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same"

    Returns
    -------
    y : array ``(N, H_out, W_out, C_out)``
    """
    x, kernel, bias, strides, padding, out_hw = _check_conv_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    y, _ = _conv_forward(x.astype(dtype, copy=False), kernel.astype(dtype, copy=False), bias, strides, padding, out_hw)
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
    x, kernel, _, strides, padding, out_hw = _check_conv_args(x, kernel, None, strides, padding)
    dy = as_float_array(dy, "dy")
    expected = (x.shape[0], out_hw[0], out_hw[1], kernel.shape[3])
    if dy.shape != expected:
        raise ValueError(f"dy must have the forward output's shape {expected}, got {dy.shape}")
    dtype = np.result_type(x, kernel, dy)
    x, kernel, dy = (a.astype(dtype, copy=False) for a in (x, kernel, dy))
    _, cols = _conv_forward(x, kernel, None, strides, padding, out_hw)
    dx, dkernel, dbias = _conv_backward(dy, x.shape, kernel, strides, padding, cols)
    return dx, dkernel, dbias


def conv2d_backward_naive(dy, x, kernel, strides=1, padding="valid"):
    """``conv2d_backward`` as loops: each forward multiply-add sends ``dy`` back to both factors.

    Shapes as in ``conv2d_backward``; returns ``(dx, dkernel, dbias)``.
    """
    x, kernel, _, (sh, sw), padding, (out_h, out_w) = _check_conv_args(x, kernel, None, strides, padding)
    dy = as_float_array(dy, "dy")
    expected = (x.shape[0], out_h, out_w, kernel.shape[3])
    if dy.shape != expected:
        raise ValueError(f"dy must have the forward output's shape {expected}, got {dy.shape}")
    kh, kw, _, _ = kernel.shape
    x_pad, ((top, _), (left, _)) = pad_images(x, (kh, kw), (sh, sw), padding)
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
    return dx_pad[:, top : top + x.shape[1], left : left + x.shape[2], :], dkernel, dbias


def conv2d_forward(x, kernel, bias=None, strides=1, padding="valid"):
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

    Returns
    -------
    y : array ``(N, H_out, W_out, C_out)``, the same numbers as ``conv2d``
    cache : dict for ``conv2d_backward_from_cache``: ``cols (N * H_out * W_out, kh * kw * C_in)``,
        the receptive fields, one per row; ``kernel``; ``x_shape``; ``y_shape``; ``padded_shape``
        ``(N, H_pad, W_pad, C_in)``; ``pads ((top, bottom), (left, right))``; ``strides (sh, sw)``
    """
    x, kernel, bias, strides, padding, (out_h, out_w) = _check_conv_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    x, kernel = x.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
    kh, kw, c_in, c_out = kernel.shape
    x_pad, pads = pad_images(x, (kh, kw), strides, padding)
    # im2col: row (n, i, j) holds the window x_pad[n, i*sh : i*sh + kh, j*sw : j*sw + kw, :]
    cols = im2col(x_pad, (kh, kw), strides, (out_h, out_w)).reshape(-1, kh * kw * c_in)
    y = cols @ kernel.reshape(kh * kw * c_in, c_out)  # (N * H_out * W_out, C_out): every window times every filter
    if bias is not None:
        y += bias
    y = y.reshape(x.shape[0], out_h, out_w, c_out)
    cache = {"cols": cols, "kernel": kernel, "x_shape": x.shape, "y_shape": y.shape,
             "padded_shape": x_pad.shape, "pads": pads, "strides": strides}
    return y, cache


def conv2d_backward_from_cache(dy, cache):
    """The backward pass of ``conv2d_forward``: gradients of a scalar loss from ``dy = dL/dy``.

    Parameters
    ----------
    dy : array ``(N, H_out, W_out, C_out)``, the forward output's shape
    cache : the dict returned by ``conv2d_forward``

    Returns
    -------
    dx : array ``(N, H, W, C_in)``; every window's gradient, ``dy @ kernel.T``, added back
        where the window was taken (col2im); overlapping windows add up
    dkernel : array ``(kh, kw, C_in, C_out)``; ``cols.T @ dy``: the input correlated with ``dy``
    dbias : array ``(C_out,)``; ``dy`` summed over the batch and all positions
    """
    if not isinstance(cache, dict) or not {"cols", "kernel", "x_shape", "y_shape"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by conv2d_forward, got {type(cache).__name__}")
    cols, kernel = cache["cols"], cache["kernel"]
    kh, kw, c_in, c_out = kernel.shape
    n, height, width, _ = cache["x_shape"]
    dy = as_float_array(dy, "dy")
    if dy.shape != cache["y_shape"]:
        raise ValueError(f"dy must have the forward output's shape {cache['y_shape']}, got {dy.shape}")
    dy_rows = dy.reshape(-1, c_out)                                  # (N * H_out * W_out, C_out), one row per window
    dkernel = (cols.T @ dy_rows).reshape(kernel.shape)               # sum over windows of window x dy
    dbias = dy_rows.sum(axis=0)                                      # sum over batch and positions
    dcols = dy_rows @ kernel.reshape(kh * kw * c_in, c_out).T        # each window's gradient, (N * H_out * W_out, kh * kw * C_in)
    dx_pad = col2im(dcols.reshape(n, dy.shape[1], dy.shape[2], kh, kw, c_in), cache["padded_shape"], cache["strides"])
    (top, _), (left, _) = cache["pads"]
    return dx_pad[:, top : top + height, left : left + width, :], dkernel, dbias
