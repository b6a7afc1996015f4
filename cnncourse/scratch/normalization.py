"""Batch normalisation, ``keras.layers.BatchNormalization``'s twin (Ioffe and Szegedy, 2015).

For each channel ``c`` (the ``axis``, by default the last: NHWC images or ``(N, C)``
features), over the ``M`` values of that channel in the batch (``M = N*H*W`` for images):

    training:   mu = mean(x),  var = mean((x - mu)**2)        (the batch's, biased)
                moving_mean     = moving_mean * momentum     + mu  * (1 - momentum)
                moving_variance = moving_variance * momentum + var * (1 - momentum)
    inference:  mu, var = moving_mean, moving_variance

    x_hat = (x - mu) / sqrt(var + epsilon),    y = gamma * x_hat + beta

The backward pass in training mode goes through ``mu`` and ``var`` too:

    dx = gamma / sqrt(var + epsilon) * (dy - mean(dy) - x_hat * mean(dy * x_hat))

Weights, in Keras's order: ``gamma (C,)`` ones, ``beta (C,)`` zeros, ``moving_mean (C,)``
zeros, ``moving_variance (C,)`` ones. Only ``gamma`` and ``beta`` are trainable; the
moving statistics are updated by ``forward(x, training=True)`` and never by an optimizer.
"""

from __future__ import annotations

import numbers

import numpy as np

from .layers import Layer
from .validation import check_finite


def _check_unit_float(value, name, low, high, high_inclusive=False):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (low <= value and (value <= high if high_inclusive else value < high)):
        raise ValueError(f"{name} must be in [{low}, {high}{']' if high_inclusive else ')'}, got {value!r}")
    return value


class BatchNormalization(Layer):
    """Batch normalisation over every axis but ``axis``: ``x (N, ..., C) -> y (N, ..., C)``.

    Parameters
    ----------
    axis : int, the channel axis (``-1``: the last, Keras's default for NHWC)
    momentum : float in [0, 1], the moving statistics' decay (Keras: 0.99)
    epsilon : float > 0, added to the variance (Keras: 1e-3)
    center, scale : bools; without them there is no ``beta`` / ``gamma``

    ``training=True`` normalises with the batch's statistics and updates the moving ones;
    ``training=False`` (``predict``, ``evaluate``) uses the moving statistics.

    ``grads`` holds ``gamma (C,)``, ``beta (C,)`` and, for gradient checks of the inference
    pass, the gradients of the moving statistics (zero after a training pass, where the
    output does not depend on them). ``trainable_pairs()`` gives only gamma and beta.
    """

    weight_names = ("gamma", "beta", "moving_mean", "moving_variance")
    non_trainable_names = ("moving_mean", "moving_variance")

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, input_shape=None,
                 name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"axis must be an int (the channel axis, e.g. -1), got {type(axis).__name__} {axis!r}")
        self.axis = int(axis)
        self.momentum = _check_unit_float(momentum, "momentum", 0.0, 1.0, high_inclusive=True)
        self.epsilon = _check_unit_float(epsilon, "epsilon", 0.0, np.inf)
        if self.epsilon == 0.0:
            raise ValueError("epsilon must be positive (it keeps 1 / sqrt(var + epsilon) finite), got 0.0")
        self.center, self.scale = bool(center), bool(scale)
        self._finish_init()

    # ------------------------------------------------------------------ building
    def _channel_axis(self, rank):
        """The channel axis of an input of rank ``rank`` (batch included), as a non-negative int."""
        if not -rank < self.axis < rank or self.axis % rank == 0:
            raise ValueError(f"{self.name}: axis={self.axis} must name a non-batch axis of x of rank {rank}, "
                             f"i.e. one of 1..{rank - 1} or -1..-{rank - 1}")
        return self.axis % rank

    def _build(self, input_shape):
        channels = input_shape[self._channel_axis(len(input_shape) + 1) - 1]
        if self.scale:
            self.params["gamma"] = np.ones(channels, self.dtype)
        if self.center:
            self.params["beta"] = np.zeros(channels, self.dtype)
        self.params["moving_mean"] = np.zeros(channels, self.dtype)
        self.params["moving_variance"] = np.ones(channels, self.dtype)

    def _check_compatible(self, shape):
        channels = self.params["moving_mean"].size
        if len(shape) != len(self.input_shape) or shape[self._channel_axis(len(shape) + 1) - 1] != channels:
            raise ValueError(f"{self.name}: x must have shape (batch,) + {tuple(self.input_shape)} "
                             f"({channels} channels on axis {self.axis}), got (batch,) + {tuple(shape)}")

    # ------------------------------------------------------------------- passes
    def _broadcast(self, values, ndim):
        """``(C,) -> (1, ..., C, ..., 1)`` to broadcast along the channel axis of an ``ndim`` array."""
        shape = [1] * ndim
        shape[self._channel_axis(ndim)] = -1
        return values.reshape(shape)

    def _forward(self, x, training=False):
        reduce = tuple(a for a in range(x.ndim) if a != self._channel_axis(x.ndim))
        if training:
            mean = x.mean(axis=reduce)  # (C,)
            variance = np.square(x - self._broadcast(mean, x.ndim)).mean(axis=reduce)  # (C,), biased
            # validate first, then change state: a batch that gives NaN statistics updates nothing
            check_finite(variance, f"{self.name}: batch variance")
            self.params["moving_mean"][...] = self.params["moving_mean"] * self.momentum + mean * (1.0 - self.momentum)
            self.params["moving_variance"][...] = (self.params["moving_variance"] * self.momentum
                                                   + variance * (1.0 - self.momentum))
        else:
            mean, variance = self.params["moving_mean"], self.params["moving_variance"]
        inv_std = 1.0 / np.sqrt(variance + self.epsilon)  # (C,)
        x_hat = (x - self._broadcast(mean, x.ndim)) * self._broadcast(inv_std, x.ndim)  # x's shape
        y = x_hat
        if self.scale:
            y = y * self._broadcast(self.params["gamma"], x.ndim)
        if self.center:
            y = y + self._broadcast(self.params["beta"], x.ndim)
        self._training, self._x_hat, self._inv_std, self._reduce = bool(training), x_hat, inv_std, reduce
        self._last_output_shape = y.shape
        return y.astype(self.dtype, copy=False)

    def _backward(self, dy, need_dx=True):
        ndim, reduce, x_hat = dy.ndim, self._reduce, self._x_hat
        if self.center:
            self.grads["beta"] = dy.sum(axis=reduce)  # (C,)
        if self.scale:
            self.grads["gamma"] = (dy * x_hat).sum(axis=reduce)  # (C,)
        gamma = self.params["gamma"] if self.scale else np.ones_like(self._inv_std)
        dx_hat = dy * self._broadcast(gamma, ndim)  # dL/dx_hat, x's shape
        if self._training:
            self.grads["moving_mean"] = np.zeros_like(self.params["moving_mean"])
            self.grads["moving_variance"] = np.zeros_like(self.params["moving_variance"])
            if not need_dx:
                return None
            # the batch statistics depend on x: subtract the mean gradient and its projection on x_hat
            mean_dx_hat = dx_hat.mean(axis=reduce, keepdims=True)
            mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=reduce, keepdims=True)
            return self._broadcast(self._inv_std, ndim) * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)
        # inference: an affine map per channel; the moving statistics' gradients serve gradient checks
        dx = dx_hat * self._broadcast(self._inv_std, ndim)
        self.grads["moving_mean"] = -dx.sum(axis=reduce)
        self.grads["moving_variance"] = -0.5 * (dx_hat * x_hat).sum(axis=reduce) * np.square(self._inv_std)
        return dx

    def __repr__(self):
        return (f"BatchNormalization(name={self.name!r}, axis={self.axis}, momentum={self.momentum}, "
                f"epsilon={self.epsilon}, input_shape={self.input_shape})")
