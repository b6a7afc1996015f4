"""3-D convolution for volumes (CT, MRI), NDHWC, as ``keras.layers.Conv3D`` computes it.

The seed's 2-D formula gains one more sum, over the kernel's depth:

    y[n, d, i, j, f] = bias[f] + sum_{a, p, q, c} x_pad[n, d*sd + a, i*sh + p, j*sw + q, c] * kernel[a, p, q, c, f]

Shapes (Keras's layout): ``x (N, D, H, W, C_in)``, ``kernel (kd, kh, kw, C_in, C_out)``,
``bias (C_out,)``, ``y (N, D_out, H_out, W_out, C_out)``. ``"same"`` padding follows
TensorFlow's rule on each of the three axes, the extra voxel after (back, bottom, right).

``conv3d_naive`` writes the formula as loops; ``conv3d`` computes the same numbers with the
im2col idea in 3-D: every receptive field, a ``kd × kh × kw × C_in`` block, becomes one row
of a matrix, and one matrix product with the flattened kernel does every multiply-add. The
taught pair ``conv3d_forward(...) -> (y, cache)`` / ``conv3d_backward(dout, cache)`` keeps
that matrix for the backward pass, and ``Conv3D`` is the layer.

This module also holds what 3-D pooling shares: ``as_triple`` and ``volume_geometry``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .activations import get_activation
from .initializers import get_initializer, make_rng, zeros
from .layers import ActivatedLayer
from .padding import pad_amounts
from ..checks import (
    as_float_array,
    as_spatial,
    channel_mismatch,
    check_bias,
    check_images,
    check_kernel,
    check_finite,
    check_padding,
    check_positive_int,
)

VOLUME_LAYOUT = "(batch, depth, height, width, channels)"


def as_triple(value, name: str) -> tuple[int, int, int]:
    """``3 -> (3, 3, 3)``; ``(3, 2, 1) -> (3, 2, 1)``: a positive (depth, height, width) triple.

    Used for ``kernel_size``, ``strides`` and ``pool_size``, which Keras's 3-D layers accept
    as an int or as three ints.
    """
    return as_spatial(value, name, 3)


def check_volumes(x, name: str = "x") -> np.ndarray:
    """A finite float batch of volumes of shape ``(N, D, H, W, C)``."""
    return check_images(x, name, spatial=3)


def check_kernel3d(kernel, channels: int, name: str = "kernel") -> np.ndarray:
    """A finite float kernel ``(kd, kh, kw, c_in, c_out)`` whose ``c_in`` equals ``channels``."""
    return check_kernel(kernel, channels, name, spatial=3)


class VolumeGeometry(NamedTuple):
    """A window sliding over volumes of one size: what its forward and backward passes share.

    ``window (kd, kh, kw)``, ``strides (sd, sh, sw)``, ``pads`` three ``(before, after)`` pairs,
    ``input_dhw (D, H, W)``, ``out_dhw (D_out, H_out, W_out)``; made by ``volume_geometry``.
    """

    window: tuple
    strides: tuple
    pads: tuple
    input_dhw: tuple
    out_dhw: tuple

    @property
    def padded_dhw(self) -> tuple:
        """``(D + front + back, H + top + bottom, W + left + right)``."""
        return tuple(length + before + after for length, (before, after) in zip(self.input_dhw, self.pads))

    def offsets(self):
        """``(a, p, q, depths, rows, cols)`` for every window offset: ``x_pad[:, depths, rows, cols, :]``,
        shape ``(N, D_out, H_out, W_out, C)``, holds the voxel at that offset of every window at once."""
        for a, p, q in itertools.product(*(range(k) for k in self.window)):
            yield (a, p, q) + tuple(slice(o, o + (out - 1) * s + 1, s)
                                    for o, out, s in zip((a, p, q), self.out_dhw, self.strides))

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """``x (N, D, H, W, C) -> (N, D_pad, H_pad, W_pad, C)`` filled with ``value``; ``x`` itself when no padding."""
        if all(pair == (0, 0) for pair in self.pads):
            return x
        return np.pad(x, ((0, 0),) + tuple(self.pads) + ((0, 0),), constant_values=value)

    def crop(self, x_padded: np.ndarray) -> np.ndarray:
        """``(N, D_pad, H_pad, W_pad, C) -> (N, D, H, W, C)``: drop the padding (a view)."""
        (front, _), (top, _), (left, _) = self.pads
        depth, height, width = self.input_dhw
        return x_padded[:, front:front + depth, top:top + height, left:left + width, :]

    def check_output_gradient(self, dout, batch: int, channels: int) -> np.ndarray:
        """``dout`` as a float array of the forward output's shape ``(N, D_out, H_out, W_out, C)``, else ``ValueError``."""
        dout = as_float_array(dout, "dout")
        expected = (batch,) + tuple(self.out_dhw) + (channels,)
        if dout.shape != expected:
            raise ValueError(f"dout must have the forward output's shape {expected}, got {dout.shape}")
        check_finite(dout, "dout")
        return dout


def volume_geometry(x_shape, window, strides, padding, name: str = "kernel_size") -> VolumeGeometry:
    """Validate a window sliding over volumes of shape ``x_shape (N, D, H, W, C)``; compute its padding once.

    ``window`` and ``strides`` are an int or a triple; ``padding`` is ``"valid"`` or ``"same"``
    (TensorFlow's rule per axis). ``ValueError`` (naming ``name``) when the window is larger
    than the padded input.
    """
    window, strides = as_triple(window, name), as_triple(strides, "strides")
    padding = check_padding(padding)
    dhw = tuple(int(length) for length in x_shape[1:4])
    pads = tuple(pad_amounts(length, k, s, padding) for length, k, s in zip(dhw, window, strides))
    padded = tuple(length + before + after for length, (before, after) in zip(dhw, pads))
    if any(k > length for k, length in zip(window, padded)):
        raise ValueError(f"{name} {window} is larger than the padded input {padded} "
                         f"(input depth, height and width {dhw}, padding={padding!r})")
    out = tuple((length - k) // s + 1 for length, k, s in zip(padded, window, strides))
    return VolumeGeometry(window, strides, pads, dhw, out)


def _check_conv3d_args(x, kernel, bias, strides, padding):
    """Validated ``x, kernel, bias`` (bias may be None) and the kernel's ``VolumeGeometry`` over ``x``."""
    x = check_volumes(x, "x")
    kernel = check_kernel3d(kernel, x.shape[4])
    if bias is not None:
        bias = check_bias(bias, kernel.shape[4])
    geometry = volume_geometry(x.shape, kernel.shape[:3], strides, padding, name="kernel")
    return x, kernel, bias, geometry


def conv3d_naive(x, kernel, bias=None, strides=1, padding="valid"):
    """The 3-D formula as explicit loops over output voxels and kernel offsets.

    Loops run over the volume ``n``, the output position ``(d, i, j)`` and the kernel offset
    ``(a, p, q)``; only the channels ride along, as a ``(C_in,) @ (C_in, C_out)`` product.
    Slow on purpose: it is the reference ``conv3d`` is tested against.

    Parameters
    ----------
    x : array ``(N, D, H, W, C_in)``
    kernel : array ``(kd, kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int, int)
    padding : "valid" or "same" (TensorFlow's rule, the extra voxel at the back/bottom/right)

    Returns
    -------
    y : array ``(N, D_out, H_out, W_out, C_out)``
    """
    x, kernel, bias, geometry = _check_conv3d_args(x, kernel, bias, strides, padding)
    (sd, sh, sw), (out_d, out_h, out_w) = geometry.strides, geometry.out_dhw
    kd, kh, kw, _, c_out = kernel.shape
    x_pad = geometry.pad(x)
    y = np.zeros((x.shape[0], out_d, out_h, out_w, c_out), dtype=np.result_type(x, kernel))
    for n in range(x.shape[0]):
        for d in range(out_d):
            for i in range(out_h):
                for j in range(out_w):
                    for a in range(kd):
                        for p in range(kh):
                            for q in range(kw):
                                y[n, d, i, j, :] += x_pad[n, d * sd + a, i * sh + p, j * sw + q, :] @ kernel[a, p, q]
    if bias is not None:
        y += bias
    return y


def im2col3d(x_padded: np.ndarray, geometry: VolumeGeometry) -> np.ndarray:
    """Every receptive field of a padded batch of volumes, as a strided view (no copy).

    Parameters
    ----------
    x_padded : array ``(N, D_pad, H_pad, W_pad, C)``
    geometry : the ``VolumeGeometry`` of the kernel

    Returns
    -------
    windows : view ``(N, D_out, H_out, W_out, kd, kh, kw, C)``, the kernel's own axis order, so
        ``windows.reshape(-1, kd * kh * kw * C) @ kernel.reshape(-1, C_out)`` is the convolution.
    """
    (sd, sh, sw), (out_d, out_h, out_w) = geometry.strides, geometry.out_dhw
    windows = sliding_window_view(x_padded, geometry.window, axis=(1, 2, 3))  # (N, ., ., ., C, kd, kh, kw)
    windows = windows[:, : (out_d - 1) * sd + 1 : sd, : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw]
    return windows.transpose(0, 1, 2, 3, 5, 6, 7, 4)


def col2im3d(dwindows: np.ndarray, geometry: VolumeGeometry) -> np.ndarray:
    """The adjoint of ``im2col3d``: add every window's gradient back onto the padded input.

    Parameters
    ----------
    dwindows : array ``(N, D_out, H_out, W_out, kd, kh, kw, C)``
    geometry : the ``VolumeGeometry`` of the kernel

    Returns
    -------
    dx_padded : array ``(N, D_pad, H_pad, W_pad, C)``; overlapping windows add up, so this is
        a loop of ``kd * kh * kw`` vectorised additions, one strided slice per kernel offset.
    """
    n, channels = dwindows.shape[0], dwindows.shape[-1]
    dx_padded = np.zeros((n,) + geometry.padded_dhw + (channels,), dtype=dwindows.dtype)
    for a, p, q, depths, rows, cols in geometry.offsets():
        dx_padded[:, depths, rows, cols, :] += dwindows[:, :, :, :, a, p, q, :]
    return dx_padded


def conv3d_forward(x, kernel, bias=None, strides=1, padding="valid"):
    """``conv3d`` that also returns what its backward pass needs, in the style of cs231n's layers.

    Parameters
    ----------
    x : array ``(N, D, H, W, C_in)``
    kernel : array ``(kd, kh, kw, C_in, C_out)``
    bias : array ``(C_out,)`` or None
    strides : int or (int, int, int)
    padding : "valid" or "same"

    Returns
    -------
    y : array ``(N, D_out, H_out, W_out, C_out)``, the same numbers as ``conv3d_naive``
    cache : dict for ``conv3d_backward``: ``cols (N * D_out * H_out * W_out, kd * kh * kw * C_in)``,
        the receptive fields, one per row; ``kernel``; ``x_shape``; ``y_shape``; ``geometry``
        (the ``VolumeGeometry``)
    """
    x, kernel, bias, geometry = _check_conv3d_args(x, kernel, bias, strides, padding)
    dtype = np.result_type(x, kernel)
    x, kernel = x.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
    kd, kh, kw, c_in, c_out = kernel.shape
    # im2col in 3-D: row (n, d, i, j) holds the block x_pad[n, d*sd : d*sd + kd, i*sh : ..., j*sw : ..., :]
    cols = im2col3d(geometry.pad(x), geometry).reshape(-1, kd * kh * kw * c_in)  # the one copy
    y = cols @ kernel.reshape(-1, c_out)  # every window times every filter
    if bias is not None:
        y += bias
    y = y.reshape((x.shape[0],) + geometry.out_dhw + (c_out,))
    cache = {"cols": cols, "kernel": kernel, "x_shape": x.shape, "y_shape": y.shape, "geometry": geometry}
    return y, cache


def _conv3d_weight_gradients(dout, cache):
    """``conv3d_backward``'s first half: ``(dout_rows, dkernel, dbias)``, ``dout_rows`` of shape
    ``(N * D_out * H_out * W_out, C_out)``. The Conv3D layer calls it alone for a network's first layer,
    which needs no ``dx``."""
    if not isinstance(cache, dict) or not {"cols", "kernel", "x_shape", "y_shape", "geometry"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by conv3d_forward, got {type(cache).__name__}")
    cols, kernel, geometry = cache["cols"], cache["kernel"], cache["geometry"]
    c_out = kernel.shape[-1]
    dout = geometry.check_output_gradient(dout, cache["y_shape"][0], c_out).astype(cols.dtype, copy=False)
    dout_rows = dout.reshape(-1, c_out)                       # one row per window
    dkernel = (cols.T @ dout_rows).reshape(kernel.shape)
    dbias = dout_rows.sum(axis=0)
    return dout_rows, dkernel, dbias


def conv3d_backward(dout, cache):
    """The backward pass of ``conv3d_forward``: gradients of a scalar loss from ``dout = dL/dy``.

    Parameters
    ----------
    dout : array ``(N, D_out, H_out, W_out, C_out)``, the forward output's shape
    cache : the dict returned by ``conv3d_forward``

    Returns
    -------
    dx : array ``(N, D, H, W, C_in)``: each window's gradient, ``dout @ kernel.T``, added back
        where the window was taken (col2im in 3-D); overlapping windows add up
    dkernel : array ``(kd, kh, kw, C_in, C_out)``: ``cols.T @ dout``, the input correlated with ``dout``
    dbias : array ``(C_out,)``: ``dout`` summed over the batch and every position
    """
    dout_rows, dkernel, dbias = _conv3d_weight_gradients(dout, cache)  # cols.T @ dout and dout's sum
    kernel, geometry = cache["kernel"], cache["geometry"]
    kd, kh, kw, c_in, c_out = kernel.shape
    dcols = dout_rows @ kernel.reshape(-1, c_out).T            # each window's gradient
    dwindows = dcols.reshape((cache["x_shape"][0],) + geometry.out_dhw + (kd, kh, kw, c_in))
    return geometry.crop(col2im3d(dwindows, geometry)), dkernel, dbias


def conv3d(x, kernel, bias=None, strides=1, padding="valid"):
    """Vectorised 3-D convolution (im2col + one matrix product); the same results as ``conv3d_naive``.

    ``x (N, D, H, W, C_in)``, ``kernel (kd, kh, kw, C_in, C_out)``, ``bias (C_out,)`` or None;
    returns ``y (N, D_out, H_out, W_out, C_out)``.
    """
    return conv3d_forward(x, kernel, bias, strides, padding)[0]


_counters: dict = defaultdict(itertools.count)


def default_layer_name(prefix: str) -> str:
    """Keras-style unique names for the 3-D layers: ``conv3d``, ``conv3d_1``, ``max_pooling3d``, ..."""
    index = next(_counters[prefix])
    return prefix if index == 0 else f"{prefix}_{index}"


class Conv3D(ActivatedLayer):
    """3-D convolution layer, ``keras.layers.Conv3D``'s twin.

    ``x (N, D, H, W, C_in) -> y (N, D_out, H_out, W_out, filters)``,
    ``y = activation(conv3d(x, kernel) + bias)``.

    Weights: ``kernel (kd, kh, kw, C_in, filters)``, ``kernel_initializer`` (Glorot uniform);
    ``bias (filters,)``, zeros. The arithmetic is ``conv3d_forward`` / ``conv3d_backward``.
    """

    weight_names = ("kernel", "bias")
    expected_rank = 5
    layout = VOLUME_LAYOUT

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", input_shape=None, seed=None, name=None, dtype="float32"):
        # Validate every argument before anything is built (a bad one changes nothing).
        filters = check_positive_int(filters, "filters")
        kernel_size, strides = as_triple(kernel_size, "kernel_size"), as_triple(strides, "strides")
        padding, activation = check_padding(padding), get_activation(activation)
        kernel_initializer = get_initializer(kernel_initializer)
        super().__init__(input_shape, name or default_layer_name("conv3d"), dtype)
        self.filters, self.kernel_size, self.strides, self.padding = filters, kernel_size, strides, padding
        self.activation, self.use_bias, self.kernel_initializer = activation, bool(use_bias), kernel_initializer
        self._rng = make_rng(seed)
        self._cache = None

    def _output_shape(self, input_shape):
        geometry = volume_geometry((None,) + tuple(input_shape), self.kernel_size, self.strides, self.padding)
        return geometry.out_dhw + (self.filters,)

    def _build(self, input_shape):
        self.params["kernel"] = self.kernel_initializer(self.kernel_size + (input_shape[3], self.filters),
                                                        self._rng, self.dtype)
        if self.use_bias:
            self.params["bias"] = zeros((self.filters,), self.dtype)

    def _check_compatible(self, shape):
        channels = self.params["kernel"].shape[3]
        if shape[3] != channels:
            raise ValueError(f"{self.name}: " + channel_mismatch(self.params["kernel"].shape, channels, shape[3]))
        # A new depth, height or width must still fit the kernel.
        volume_geometry((None,) + tuple(shape), self.kernel_size, self.strides, self.padding)

    def _forward(self, x, training=False):
        z, self._cache = conv3d_forward(x, self.params["kernel"], self.params.get("bias"), self.strides, self.padding)
        return self._activate(z)

    def backward_pre_activation(self, dz, need_dx=True):
        if need_dx:
            dx, dkernel, dbias = conv3d_backward(dz, self._cache)
        else:  # a first layer: its input gradient is not needed, so col2im is skipped
            dx, (_, dkernel, dbias) = None, _conv3d_weight_gradients(dz, self._cache)
        self.grads["kernel"] = dkernel
        if self.use_bias:
            self.grads["bias"] = dbias
        return dx
