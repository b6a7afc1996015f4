"""Activation functions g(z) and their backward passes.

Every backward pass here is written in terms of the *output* ``y = g(z)``, which the
layer keeps from the forward pass:

=========  ===============================  ====================================
name       y = g(z)                         dz = dout * g'(z), from y
=========  ===============================  ====================================
linear     z                                dout
relu       max(z, 0)                        dout * (y > 0)
sigmoid    1 / (1 + exp(-z))                dout * y * (1 - y)
tanh       tanh(z)                          dout * (1 - y**2)
softmax    exp(z) / sum(exp(z)) (last axis) y * (dout - sum(dout * y))  (Jacobian-vector product)
=========  ===============================  ====================================

All functions keep the shape: ``z (..., K) -> y (..., K)``; every backward pass takes
``dout = dL/dy`` and the output ``y``, and returns ``dz`` of the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def linear(z):
    """Identity, ``(...) -> (...)``."""
    return z


def linear_backward(dout, y):
    """``dz = dout``: the identity's derivative is 1."""
    return dout


def relu(z):
    """``max(z, 0)``, ``(...) -> (...)``."""
    return np.maximum(z, 0)


def relu_backward(dout, y):
    """``dz = dout * (y > 0)``; the derivative at exactly 0 is taken as 0, as in TensorFlow."""
    return dout * (y > 0)


def sigmoid(z):
    """``1 / (1 + exp(-z))``, ``(...) -> (...)``, without overflow for large ``|z|``."""
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_backward(dout, y):
    """``dz = dout * y * (1 - y)``: the sigmoid's derivative, from its output ``y``."""
    return dout * y * (1 - y)


def tanh(z):
    """``tanh(z)``, ``(...) -> (...)``."""
    return np.tanh(z)


def tanh_backward(dout, y):
    """``dz = dout * (1 - y**2)``: tanh's derivative, from its output ``y``."""
    return dout * (1 - y * y)


def softmax(z):
    """Softmax over the last axis, ``(..., K) -> (..., K)``; rows sum to 1.

    Subtracting each row's maximum first leaves the result unchanged and keeps ``exp``
    from overflowing.
    """
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(dout, y):
    """``dz = y * (dout - sum(dout * y))``, row by row over the last axis.

    The Jacobian is ``diag(y) - y y^T``; this is its product with ``dout``, without forming it.
    """
    return y * (dout - (dout * y).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class ActivationFunction:
    """A named activation: ``forward(z) -> y`` and ``backward(dout, y) -> dz``."""

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
