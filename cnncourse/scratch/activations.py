"""Activation functions g(z) and their backward passes.

Every backward pass here is written in terms of the *output* ``y = g(z)``, which the
layer keeps from the forward pass:

=========  ===============================  ====================================
name       y = g(z)                         dz = dy * g'(z), from y
=========  ===============================  ====================================
linear     z                                dy
relu       max(z, 0)                        dy * (y > 0)
sigmoid    1 / (1 + exp(-z))                dy * y * (1 - y)
tanh       tanh(z)                          dy * (1 - y**2)
softmax    exp(z) / sum(exp(z)) (last axis) y * (dy - sum(dy * y))  (Jacobian-vector product)
=========  ===============================  ====================================

All functions keep the shape: ``z (..., K) -> y (..., K)``. Every backward pass takes an
optional ``out`` array for ``dz`` (it may be ``dy`` itself, to work in place, as the layers
do with their private copy of ``dy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def linear(z):
    """Identity, ``(...) -> (...)``."""
    return z


def linear_backward(dy, y, out=None):
    if out is None or out is dy:
        return dy
    out[...] = dy
    return out


def relu(z):
    """``max(z, 0)``, ``(...) -> (...)``."""
    return np.maximum(z, 0)


def relu_backward(dy, y, out=None):
    # The derivative at exactly 0 is taken as 0, as in TensorFlow.
    return np.multiply(dy, y > 0, out=out)


def sigmoid(z):
    """``1 / (1 + exp(-z))``, ``(...) -> (...)``, without overflow for large ``|z|``."""
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(dy, y, out=None):
    return np.multiply(dy * y, 1 - y, out=out)


def tanh(z):
    """``tanh(z)``, ``(...) -> (...)``."""
    return np.tanh(z)


def tanh_backward(dy, y, out=None):
    return np.multiply(dy, 1 - y * y, out=out)


def softmax(z):
    """Softmax over the last axis, ``(..., K) -> (..., K)``; rows sum to 1.

    Subtracting each row's maximum first leaves the result unchanged and keeps ``exp``
    from overflowing.
    """
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(dy, y, out=None):
    # The Jacobian is diag(y) - y y^T; its product with dy, row by row, without forming it.
    return np.multiply(y, dy - (dy * y).sum(axis=-1, keepdims=True), out=out)


@dataclass(frozen=True)
class ActivationFunction:
    """A named activation: ``forward(z) -> y`` and ``backward(dy, y, out=None) -> dz``."""

    name: str
    forward: Callable
    backward: Callable


ACTIVATIONS = {
    "linear": ActivationFunction("linear", linear, linear_backward),
    "relu": ActivationFunction("relu", relu, relu_backward),
    "sigmoid": ActivationFunction("sigmoid", sigmoid, sigmoid_backward),
    "tanh": ActivationFunction("tanh", tanh, tanh_backward),
    "softmax": ActivationFunction("softmax", softmax, softmax_backward),
}


def get_activation(name) -> ActivationFunction:
    """The activation called ``name``; ``None`` means linear, as in Keras."""
    if name is None:
        return ACTIVATIONS["linear"]
    if isinstance(name, ActivationFunction):
        return name
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} or None, got {name!r}")
    return ACTIVATIONS[name.lower()]
