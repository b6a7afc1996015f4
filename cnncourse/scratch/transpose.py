"""Transposed convolution (``keras.layers.Conv2DTranspose``): the convolution's backward pass, run forward.

A convolution ``z = conv2d(u, kernel)`` with a stride of 2 maps a ``(2H, 2W)`` image to
an ``(H, W)`` one. Its backward pass with respect to its input, ``du = conv2d_backward(dz)``,
goes the other way: from ``(H, W)`` back to ``(2H, 2W)``. Each pixel of ``dz`` sends its
value back to every input pixel its window read, weighted by the kernel:

    du_pad[n, i*sh + p, j*sw + q, :] += kernel[p, q] @ dz[n, i, j, :]      (chapter 3.1)

A transposed convolution is exactly that map, used as a layer: the input ``x`` plays the
role of ``dz`` and the output ``y`` that of ``du``. In the decoder of a U-Net it learns to
upsample. It is also the adjoint (the matrix transpose) of the convolution, hence its name;
it is not the inverse of the convolution, and not a "deconvolution".

Shapes (Keras's layout): ``x (N, H, W, C_in)``, ``kernel (kh, kw, filters, C_in)`` (the
kernel of the convolution it transposes, which maps ``filters`` channels to ``C_in``),
``bias (filters,)``, ``y (N, H_out, W_out, filters)`` with Keras's output sizes:

    "same":  H_out = H * sh
    "valid": H_out = H * sh + max(kh - sh, 0)

These are the sizes whose strided convolution (same stride and padding) gives back ``H``.
Because the transposed convolution *is* the convolution's input gradient, its own backward
pass is the convolution's forward pass: ``dx = conv2d(dy, kernel, strides, padding)``, and
``dkernel`` is the convolution's kernel gradient with the roles of ``x`` and ``dy`` swapped.
``conv2d_transpose_backward`` computes both with ``conv2d_forward`` and
``conv2d_backward`` from ``conv``.
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .conv import col2im, conv2d_backward, conv2d_forward
from .initializers import get_initializer, make_rng, zeros
from .layers import ActivatedLayer
from .padding import window_geometry
from ..checks import (
    as_float_array,
    as_pair,
    channel_mismatch,
    check_bias,
    check_finite,
    check_images,
    check_padding,
    check_positive_int,
    check_rank,
)


def conv2d_transpose_output_length(input_length: int, kernel_length: int, stride: int, padding: str) -> int:
    """Keras's output length along one axis: ``n * s`` ("same"), ``n * s + max(k - s, 0)`` ("valid")."""
    if check_padding(padding) == "same":
        return input_length * stride
    return input_length * stride + max(kernel_length - stride, 0)


def _check_transpose_args(x, kernel, bias, strides, padding):
    """Validated ``x, kernel, bias`` and the ``WindowGeometry`` of the convolution being transposed.

    That geometry describes the convolution from the output ``y (N, H_out, W_out, filters)``
    back to ``x``: its ``out_hw`` is ``x``'s height and width.
    """
    x = check_images(x, "x")
    kernel = as_float_array(kernel, "kernel")
    check_rank(kernel, "kernel", 4, "(kernel_height, kernel_width, filters, in_channels), Keras's Conv2DTranspose layout")
    check_finite(kernel, "kernel")
    if kernel.shape[3] != x.shape[3]:
        raise ValueError(channel_mismatch(kernel.shape, kernel.shape[3], x.shape[3], layout="(kh, kw, filters, in_channels)"))
    if bias is not None:
        bias = check_bias(bias, kernel.shape[2])
    (kh, kw), (sh, sw) = kernel.shape[:2], as_pair(strides, "strides")
    padding = check_padding(padding)
    out_hw = (conv2d_transpose_output_length(x.shape[1], kh, sh, padding),
              conv2d_transpose_output_length(x.shape[2], kw, sw, padding))
    geometry = window_geometry((x.shape[0],) + out_hw + (kernel.shape[2],), (kh, kw), (sh, sw), padding, name="kernel")
    assert geometry.out_hw == x.shape[1:3]  # Keras's sizes are those the convolution maps back to x
    return x, kernel, bias, geometry


def conv2d_transpose_naive(x, kernel, bias=None, strides=1, padding="valid"):
    """The transposed convolution as loops: every input pixel stamps the kernel, scaled, onto the output.

    The loop body is the ``dx`` line of ``conv2d_backward_naive`` with ``dy`` renamed ``x``.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, filters, C_in)``
    bias : array ``(filters,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same"

    Returns
    -------
    y : array ``(N, H_out, W_out, filters)``, sizes as in the module docstring
    """
    x, kernel, bias, geometry = _check_transpose_args(x, kernel, bias, strides, padding)
    (sh, sw), (kh, kw) = geometry.strides, geometry.window
    y_pad = np.zeros((x.shape[0],) + geometry.padded_hw + (kernel.shape[2],), dtype=np.result_type(x, kernel))
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            for p in range(kh):
                for q in range(kw):
                    # (N, C_in) pixels times the (C_in, filters) kernel slice, added where the window sat
                    y_pad[:, i * sh + p, j * sw + q, :] += x[:, i, j, :] @ kernel[p, q].T
    y = geometry.crop(y_pad)
    return y + bias if bias is not None else y.copy()


def conv2d_transpose_forward(x, kernel, bias=None, strides=1, padding="valid"):
    """Transposed convolution, vectorised: every input pixel's ``kh x kw`` stamp in one product, then col2im.

    Parameters
    ----------
    x : array ``(N, H, W, C_in)``
    kernel : array ``(kh, kw, filters, C_in)``, Keras's ``Conv2DTranspose`` layout
    bias : array ``(filters,)`` or None
    strides : int or (int, int)
    padding : "valid" or "same" (Keras's output sizes, see the module docstring)

    Returns
    -------
    y : array ``(N, H_out, W_out, filters)``, the same numbers as ``conv2d_transpose_naive``
    cache : dict for ``conv2d_transpose_backward``: ``x (N, H, W, C_in)``, ``kernel``,
        ``strides``, ``padding``, ``has_bias``, ``y_shape``
    """
    x, kernel, bias, geometry = _check_transpose_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    x, kernel = x.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
    kh, kw, filters, c_in = kernel.shape
    n = x.shape[0]
    # Each pixel's stamp (kh, kw, filters): the convolution's "window gradients" dy @ kernel.T ...
    stamps = x.reshape(-1, c_in) @ kernel.reshape(kh * kw * filters, c_in).T
    # ... added back where each window sits (overlapping stamps add up), then the padding cropped.
    y = col2im(stamps, geometry, (n,) + geometry.input_hw + (filters,))
    y = y + bias if bias is not None else np.ascontiguousarray(y)
    cache = {"x": x, "kernel": kernel, "strides": geometry.strides, "padding": padding.lower(),
             "has_bias": bias is not None, "y_shape": y.shape}
    return y, cache


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid"):
    """``conv2d_transpose_forward`` without the cache: ``x (N, H, W, C_in) -> y (N, H_out, W_out, filters)``."""
    return conv2d_transpose_forward(x, kernel, bias, strides, padding)[0]


def conv2d_transpose_backward(dout, cache):
    """Gradients through ``conv2d_transpose_forward``: the convolution's forward pass, and its kernel gradient.

    Parameters
    ----------
    dout : array ``(N, H_out, W_out, filters)``, the gradient of the loss w.r.t. ``y``
    cache : the dict returned by ``conv2d_transpose_forward``

    Returns
    -------
    dx : array ``(N, H, W, C_in)``; ``conv2d(dout, kernel, strides, padding)``: the transposed
        convolution's transpose is the convolution
    dkernel : array ``(kh, kw, filters, C_in)``; ``dkernel[p, q, f, c] = sum dout_pad[n, i*sh+p, j*sw+q, f] * x[n, i, j, c]``,
        the convolution's kernel gradient with ``dout`` as its input and ``x`` as its output gradient
    dbias : array ``(filters,)``, or None without a bias; ``dout`` summed over batch and pixels
    """
    if not isinstance(cache, dict) or not {"x", "kernel", "strides", "padding", "has_bias", "y_shape"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by conv2d_transpose_forward, got {type(cache).__name__}")
    x, kernel = cache["x"], cache["kernel"]
    dout = as_float_array(dout, "dout")
    if dout.shape != tuple(cache["y_shape"]):
        raise ValueError(f"dout must have the forward output's shape {tuple(cache['y_shape'])}, got {dout.shape}")
    check_finite(dout, "dout")
    dout = dout.astype(x.dtype, copy=False)
    # The convolution with this kernel maps dout (filters channels) to x's shape (C_in channels).
    dx, conv_cache = conv2d_forward(dout, kernel, None, cache["strides"], cache["padding"])
    _, dkernel, _ = conv2d_backward(x, conv_cache)
    dbias = dout.sum(axis=(0, 1, 2)) if cache["has_bias"] else None
    return dx, dkernel, dbias


class Conv2DTranspose(ActivatedLayer):
    """Transposed 2-D convolution layer, ``keras.layers.Conv2DTranspose``'s twin.

    ``x (N, H, W, C_in) -> y (N, H_out, W_out, filters)``,
    ``y = activation(conv2d_transpose(x, kernel) + bias)``; ``H_out = H * sh`` with
    ``padding="same"``, ``H * sh + max(kh - sh, 0)`` with ``"valid"``.

    Weights: ``kernel (kh, kw, filters, C_in)`` (Keras's layout: output channels before
    input channels), ``kernel_initializer`` (Glorot uniform); ``bias (filters,)``, zeros.
    The arithmetic is ``conv2d_transpose_forward`` / ``conv2d_transpose_backward``.
    """

    weight_names = ("kernel", "bias")
    expected_rank = 4
    layout = "(batch, height, width, channels)"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", input_shape=None, seed=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.filters = check_positive_int(filters, "filters")
        self.kernel_size = as_pair(kernel_size, "kernel_size")
        self.strides = as_pair(strides, "strides")
        self.padding = check_padding(padding)
        self.activation = get_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = get_initializer(kernel_initializer)
        self._rng = make_rng(seed)
        self._cache = None

    def _output_shape(self, input_shape):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return (conv2d_transpose_output_length(input_shape[0], kh, sh, self.padding),
                conv2d_transpose_output_length(input_shape[1], kw, sw, self.padding), self.filters)

    def _build(self, input_shape):
        shape = self.kernel_size + (self.filters, input_shape[2])
        self.params["kernel"] = self.kernel_initializer(shape, self._rng, self.dtype)
        if self.use_bias:
            self.params["bias"] = zeros((self.filters,), self.dtype)

    def _check_compatible(self, shape):
        channels = self.params["kernel"].shape[3]
        if shape[2] != channels:
            raise ValueError(f"{self.name}: " + channel_mismatch(self.params["kernel"].shape, channels, shape[2],
                                                                 layout="(kh, kw, filters, in_channels)"))

    def _forward(self, x, training=False):
        z, self._cache = conv2d_transpose_forward(x, self.params["kernel"], self.params.get("bias"), self.strides,
                                                  self.padding)
        return self._activate(z)

    def backward_pre_activation(self, dz, need_dx=True):
        dx, dkernel, dbias = conv2d_transpose_backward(dz, self._cache)
        self.grads["kernel"] = dkernel
        if self.use_bias:
            self.grads["bias"] = dbias
        return dx if need_dx else None
