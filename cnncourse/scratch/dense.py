"""The fully connected (dense) layer's arithmetic, as a cs231n-style pair of functions.

The seed's formula (section 3.3) is ``z = W x + b`` for one column vector ``x``. Keras
stores the kernel ``K = W^T`` and works on a batch of row vectors, so for ``X (N, n)``

    Z = X @ K + b            K (n, m), b (m,), Z (N, m)

and, given ``dZ = dL/dZ`` from the layer above (``dense_backward``),

    dK = X^T @ dZ  (n, m)     db = sum_n dZ[n]  (m,)     dX = dZ @ K^T  (N, n)

The activation ``y = g(z)`` is applied by the layer (see ``activations``); these two
functions are the affine part only.
"""

from __future__ import annotations

from ..checks import as_float_array, check_bias, check_finite, check_rank


def dense_forward(x, kernel, bias=None):
    """``Z = x @ kernel + bias`` and what the backward pass needs (a cs231n-style pair with ``dense_backward``).

    Parameters
    ----------
    x : array ``(N, n)``, one sample per row
    kernel : array ``(n, m)``
    bias : array ``(m,)`` or None

    Returns
    -------
    z : array ``(N, m)``, the pre-activation
    cache : dict for ``dense_backward``: ``x (N, n)``, ``kernel (n, m)``
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


def dense_backward(dout, cache):
    """Gradients of a scalar loss through ``Z = x @ kernel + bias``, from ``dout = dL/dZ``.

    Parameters
    ----------
    dout : array ``(N, m)``, the pre-activation's gradient
    cache : the dict returned by ``dense_forward``

    Returns
    -------
    dx : array ``(N, n)``, ``dout @ kernel.T``
    dkernel : array ``(n, m)``, ``x.T @ dout``: every sample's outer product, summed
    dbias : array ``(m,)``, ``dout`` summed over the batch
    """
    if not isinstance(cache, dict) or not {"x", "kernel"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by dense_forward, got {type(cache).__name__}")
    x, kernel = cache["x"], cache["kernel"]
    dout = as_float_array(dout, "dout")
    expected = (x.shape[0], kernel.shape[1])
    if dout.shape != expected:
        raise ValueError(f"dout must have the forward output's shape {expected}, got {dout.shape}")
    dkernel = x.T @ dout
    dbias = dout.sum(axis=0)
    dx = dout @ kernel.T
    return dx, dkernel, dbias
