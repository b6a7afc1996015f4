"""Nearest-neighbour upsampling (``keras.layers.UpSampling2D``): every pixel becomes a block of copies.

With ``size = (sh, sw)``::

    y[n, i, j, c] = x[n, i // sh, j // sw, c]          x (N, H, W, C) -> y (N, H*sh, W*sw, C)

It has no weights. Each input pixel is copied to ``sh * sw`` output pixels, so its gradient
is the sum of theirs::

    dx[n, a, b, c] = sum_{u < sh, v < sw} dy[n, a*sh + u, b*sw + v, c]

(the backward pass of upsampling is sum pooling). A U-Net can upsample this way, followed
by a convolution, instead of learning the upsampling with a ``Conv2DTranspose``.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer
from ..checks import as_float_array, as_pair, check_finite, check_images


def upsampling2d_forward(x, size=2):
    """Nearest-neighbour upsampling.

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    size : int or (int, int), the factors ``(sh, sw)``

    Returns
    -------
    y : array ``(N, H * sh, W * sw, C)``, ``y[n, i, j, c] = x[n, i // sh, j // sw, c]``
    cache : dict for ``upsampling2d_backward``: ``x_shape``, ``size``
    """
    x = check_images(x, "x")
    sh, sw = as_pair(size, "size")
    y = np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)
    return y, {"x_shape": x.shape, "size": (sh, sw)}


def upsampling2d_backward(dout, cache):
    """Gradient of ``upsampling2d_forward``: each input pixel collects its block of ``sh x sw`` output gradients.

    Parameters
    ----------
    dout : array ``(N, H * sh, W * sw, C)``
    cache : the dict returned by ``upsampling2d_forward``

    Returns
    -------
    dx : array ``(N, H, W, C)``
    """
    if not isinstance(cache, dict) or not {"x_shape", "size"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by upsampling2d_forward, got {type(cache).__name__}")
    n, height, width, channels = cache["x_shape"]
    sh, sw = cache["size"]
    dout = as_float_array(dout, "dout")
    if dout.shape != (n, height * sh, width * sw, channels):
        raise ValueError(f"dout must have the forward output's shape {(n, height * sh, width * sw, channels)}, "
                         f"got {dout.shape}")
    check_finite(dout, "dout")
    return dout.reshape(n, height, sh, width, sw, channels).sum(axis=(2, 4))


class UpSampling2D(Layer):
    """``keras.layers.UpSampling2D(size, interpolation="nearest")``'s twin: ``x (N, H, W, C) -> y (N, H*sh, W*sw, C)``.

    No weights. The arithmetic is ``upsampling2d_forward`` / ``upsampling2d_backward``.
    """

    expected_rank = 4
    layout = "(batch, height, width, channels)"

    def __init__(self, size=(2, 2), interpolation="nearest", input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        self.size = as_pair(size, "size")
        if interpolation != "nearest":
            raise ValueError(f"{self.name}: interpolation must be 'nearest' (the only one built here), "
                             f"got {interpolation!r}")
        self.interpolation = interpolation

    def _output_shape(self, input_shape):
        return (input_shape[0] * self.size[0], input_shape[1] * self.size[1], input_shape[2])

    def _forward(self, x, training=False):
        y, self._cache = upsampling2d_forward(x, self.size)
        return y

    def _backward(self, dy, need_dx=True):
        return upsampling2d_backward(dy, self._cache) if need_dx else None
