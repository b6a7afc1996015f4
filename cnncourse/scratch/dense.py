"""The fully connected (dense) layer's arithmetic, as a cs231n-style pair of functions.

The seed's formula (section 3.3) is ``z = W x + b`` for one column vector ``x``. Keras
stores the kernel ``K = W^T`` and works on a batch of row vectors, so for ``X (N, n)``

    Z = X @ K + b            K (n, m), b (m,), Z (N, m)

and, given ``dZ = dL/dZ`` from the layer above,

    dK = X^T @ dZ  (n, m)     db = sum_n dZ[n]  (m,)     dX = dZ @ K^T  (N, n)

The activation ``y = g(z)`` is applied by the layer (see ``activations``); these two
functions are the affine part only.
"""

from __future__ import annotations

import numpy as np

from .validation import as_float_array, check_bias, check_finite, check_rank


def dense_forward(x, kernel, bias=None):
    """``Z = x @ kernel + bias`` and what the backward pass needs.

    Parameters
    ----------
    x : array ``(N, n)``, one sample per row
    kernel : array ``(n, m)``
    bias : array ``(m,)`` or None

    Returns
    -------
    z : array ``(N, m)``, the pre-activation
    cache : dict for ``dense_backward_from_cache``: ``x (N, n)``, ``kernel (n, m)``
    """
    x = as_float_array(x, "x")
    kernel = as_float_array(kernel, "kernel")
    check_rank(x, "x", 2, "(batch, features)")
    check_rank(kernel, "kernel", 2, "(in_features, units)")
    if x.shape[1] != kernel.shape[0]:
        raise ValueError(f"x has {x.shape[1]} features but kernel {kernel.shape} expects {kernel.shape[0]}")
    check_finite(x, "x")
    z = x @ kernel
    if bias is not None:
        z += check_bias(bias, kernel.shape[1])
    return z, {"x": x, "kernel": kernel}


def dense_backward_from_cache(dz, cache, need_dx=True):
    """Gradients of a scalar loss through ``Z = x @ kernel + bias``, from ``dz = dL/dZ``.

    Parameters
    ----------
    dz : array ``(N, m)``, the pre-activation's gradient
    cache : the dict returned by ``dense_forward``
    need_dx : False skips ``dx`` (a network's first layer needs no input gradient)

    Returns
    -------
    dx : array ``(N, n)``, ``dz @ kernel.T`` (None when ``need_dx`` is False)
    dkernel : array ``(n, m)``, ``x.T @ dz``: every sample's outer product, summed
    dbias : array ``(m,)``, ``dz`` summed over the batch
    """
    if not isinstance(cache, dict) or not {"x", "kernel"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by dense_forward, got {type(cache).__name__}")
    x, kernel = cache["x"], cache["kernel"]
    dz = as_float_array(dz, "dz")
    expected = (x.shape[0], kernel.shape[1])
    if dz.shape != expected:
        raise ValueError(f"dz must have the forward output's shape {expected}, got {dz.shape}")
    dkernel = x.T @ dz
    dbias = dz.sum(axis=0)
    dx = dz @ kernel.T if need_dx else None
    return dx, dkernel, dbias
