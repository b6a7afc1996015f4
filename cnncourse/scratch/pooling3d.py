"""3-D max pooling for volumes, NDHWC, with Keras's ``pool_size``, ``strides`` and ``padding``.

The seed's max pooling (section 3.2) with one more axis:

    y[n, d, i, j, c] = max_{a < pd, p < ph, q < pw} x_pad[n, d*sd + a, i*sh + p, j*sw + q, c]

``x (N, D, H, W, C) -> y (N, D_out, H_out, W_out, C)``, each channel on its own.
``strides=None`` means the pool size, as in ``keras.layers.MaxPooling3D``; ``"same"``
padding pads with -inf, so padded voxels never win.

The taught pair ``max_pool3d_forward(...) -> (y, cache)`` / ``max_pool3d_backward(dout, cache)``
loops over the ``pd * ph * pw`` offsets of the window, each step a whole-array operation on
one strided slice; ``max_pool3d_naive`` loops over every output voxel; ``MaxPooling3D`` is
the layer.
"""

from __future__ import annotations

import numpy as np

from .conv3d import VOLUME_LAYOUT, as_triple, check_volumes, default_layer_name, volume_geometry
from .layers import Layer
from ..checks import check_padding


def _check_pool3d_args(x, pool_size, strides, padding):
    """Validated ``x`` and the pool's ``VolumeGeometry``; strides default to the pool size, as in Keras."""
    x = check_volumes(x, "x")
    pool_size = as_triple(pool_size, "pool_size")
    strides = pool_size if strides is None else as_triple(strides, "strides")
    return x, volume_geometry(x.shape, pool_size, strides, padding, name="pool_size")


def max_pool3d_naive(x, pool_size=2, strides=None, padding="valid"):
    """The max over each window, as loops over the output voxels (the reference for ``max_pool3d``).

    ``x (N, D, H, W, C)``; arguments as in ``max_pool3d_forward``; returns ``(N, D_out, H_out, W_out, C)``.
    """
    x, geometry = _check_pool3d_args(x, pool_size, strides, padding)
    (sd, sh, sw), (pd, ph, pw) = geometry.strides, geometry.window
    x_pad = geometry.pad(x, value=-np.inf)
    y = np.empty((x.shape[0],) + geometry.out_dhw + (x.shape[4],), dtype=x.dtype)
    for d in range(geometry.out_dhw[0]):
        for i in range(geometry.out_dhw[1]):
            for j in range(geometry.out_dhw[2]):
                window = x_pad[:, d * sd:d * sd + pd, i * sh:i * sh + ph, j * sw:j * sw + pw, :]  # (N, pd, ph, pw, C)
                y[:, d, i, j, :] = window.max(axis=(1, 2, 3))
    return y


def max_pool3d_forward(x, pool_size=2, strides=None, padding="valid"):
    """3-D max pooling that also returns what its backward pass needs (cs231n's style).

    Parameters
    ----------
    x : array ``(N, D, H, W, C)``
    pool_size : int or (int, int, int)
    strides : int, (int, int, int) or None (None: the pool size, as in Keras)
    padding : "valid" or "same" (same: padded voxels are -inf, so they never win)

    Returns
    -------
    y : array ``(N, D_out, H_out, W_out, C)``
    cache : dict for ``max_pool3d_backward``: ``x_padded (N, D_pad, H_pad, W_pad, C)``, ``y``,
        ``geometry`` (the ``VolumeGeometry``)
    """
    x, geometry = _check_pool3d_args(x, pool_size, strides, padding)
    x_pad = geometry.pad(x, value=-np.inf)
    y = np.full((x.shape[0],) + geometry.out_dhw + (x.shape[4],), -np.inf, dtype=x.dtype)
    for _, _, _, depths, rows, cols in geometry.offsets():
        # the voxel at offset (a, p, q) of every window at once: (N, D_out, H_out, W_out, C)
        y = np.maximum(y, x_pad[:, depths, rows, cols, :])
    return y, {"x_padded": x_pad, "y": y, "geometry": geometry}


def max_pool3d_backward(dout, cache):
    """The backward pass of ``max_pool3d_forward``: each window sends ``dout`` to its maximum.

    When a window holds its maximum more than once (several zeros after a ReLU), every
    tied voxel gets the window's whole gradient, as TensorFlow's ``MaxPool3D`` gradient
    does (its 2-D pooling, and ``max_pool2d_backward``, give it to the first
    one only). With distinct values, as in a gradient check, there are no ties.

    Parameters
    ----------
    dout : array ``(N, D_out, H_out, W_out, C)``
    cache : the dict returned by ``max_pool3d_forward``

    Returns
    -------
    dx : array ``(N, D, H, W, C)``: ``dout`` routed to each window's maximum, zero elsewhere
    """
    if not isinstance(cache, dict) or not {"x_padded", "y", "geometry"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by max_pool3d_forward, got {type(cache).__name__}")
    x_pad, y, geometry = cache["x_padded"], cache["y"], cache["geometry"]
    dout = geometry.check_output_gradient(dout, y.shape[0], y.shape[4])
    dout = dout.astype(np.result_type(y, dout), copy=False)
    dx_pad = np.zeros(x_pad.shape, dtype=dout.dtype)
    for _, _, _, depths, rows, cols in geometry.offsets():
        # (N, D_out, H_out, W_out, C): does the voxel at this offset hold its window's maximum?
        dx_pad[:, depths, rows, cols, :] += (x_pad[:, depths, rows, cols, :] == y) * dout
    return geometry.crop(dx_pad)


def max_pool3d(x, pool_size=2, strides=None, padding="valid"):
    """3-D max pooling, ``x (N, D, H, W, C) -> y (N, D_out, H_out, W_out, C)``; arguments as in ``max_pool3d_forward``."""
    return max_pool3d_forward(x, pool_size, strides, padding)[0]


class MaxPooling3D(Layer):
    """3-D max pooling, ``keras.layers.MaxPooling3D``'s twin: ``x (N, D, H, W, C) -> y (N, D_out, H_out, W_out, C)``.

    ``strides=None`` means the pool size (2×2×2 windows that do not overlap).
    The arithmetic is ``max_pool3d_forward`` / ``max_pool3d_backward``.
    """

    expected_rank = 5
    layout = VOLUME_LAYOUT

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", input_shape=None, name=None,
                 dtype="float32"):
        pool_size = as_triple(pool_size, "pool_size")
        strides = pool_size if strides is None else as_triple(strides, "strides")
        padding = check_padding(padding)
        super().__init__(input_shape, name or default_layer_name("max_pooling3d"), dtype)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def _output_shape(self, input_shape):
        geometry = volume_geometry((None,) + tuple(input_shape), self.pool_size, self.strides, self.padding,
                                   name="pool_size")
        return geometry.out_dhw + (input_shape[3],)

    def _forward(self, x, training=False):
        y, self._cache = max_pool3d_forward(x, self.pool_size, self.strides, self.padding)
        return y

    def _backward(self, dy, need_dx=True):
        return max_pool3d_backward(dy, self._cache)
