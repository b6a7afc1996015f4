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

import numpy as np

from .layers import Layer
from ..checks import check_finite, check_float, check_int


def _broadcast(values, ndim, axis):
    """``(C,) -> (1, ..., C, ..., 1)``, to broadcast along ``axis`` of an ``ndim``-dimensional array."""
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def batch_statistics(x, axis=-1):
    """The batch's per-channel mean and (biased) variance.

    x : any shape, with ``C`` channels on ``axis`` (e.g. NHWC images ``(N, H, W, C)``)
    Returns ``(mean, variance)``, each ``(C,)``, over every other axis.
    """
    axis = axis % x.ndim
    reduce = tuple(a for a in range(x.ndim) if a != axis)
    mean = x.mean(axis=reduce)
    variance = np.square(x - _broadcast(mean, x.ndim, axis)).mean(axis=reduce)
    return mean, variance


def batch_normalization_forward(x, mean, variance, gamma, beta, epsilon, axis=-1, training=True):
    """``y = gamma * (x - mean) / sqrt(variance + epsilon) + beta``, per channel.

    x : any shape, with ``C`` channels on ``axis``
    mean, variance : ``(C,)``: the batch's statistics (training) or the moving ones (inference)
    gamma, beta : ``(C,)`` scale and offset, or None for none
    training : whether ``mean`` and ``variance`` are the batch's own, so that the backward
        pass differentiates through them
    Returns ``(y, cache)``: ``y`` has x's shape; ``cache`` is the dict that
    ``batch_normalization_backward`` needs: ``x_hat`` (x's shape), ``inv_std (C,)``, ``gamma``,
    ``has_beta``, ``axis``, ``training``.
    """
    axis = axis % x.ndim
    inv_std = 1.0 / np.sqrt(variance + epsilon)  # (C,)
    x_hat = (x - _broadcast(mean, x.ndim, axis)) * _broadcast(inv_std, x.ndim, axis)  # x's shape
    y = x_hat
    if gamma is not None:
        y = y * _broadcast(gamma, x.ndim, axis)
    if beta is not None:
        y = y + _broadcast(beta, x.ndim, axis)
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma, "has_beta": beta is not None, "axis": axis,
             "training": bool(training)}
    return y, cache


def batch_normalization_backward(dout, cache):
    """The backward pass of ``batch_normalization_forward``.

    dout : the upstream gradient, x's shape; cache : the dict returned by the forward pass
    Returns ``(dx, dgamma, dbeta, dmean, dvariance)``: ``dx`` has x's shape; the others are
    ``(C,)`` (``dgamma`` / ``dbeta`` None without a scale / offset). In training the batch
    statistics depend on x, so ``dx`` subtracts the mean gradient and its projection on
    ``x_hat``, and ``dmean`` / ``dvariance`` are zeros; in inference ``dmean`` /
    ``dvariance`` are the gradients with respect to the moving statistics.
    """
    if not isinstance(cache, dict) or not {"x_hat", "inv_std", "gamma", "has_beta", "axis", "training"} <= cache.keys():
        raise TypeError(f"cache must be the dict returned by batch_normalization_forward, got {type(cache).__name__}")
    x_hat, inv_std, gamma, axis = cache["x_hat"], cache["inv_std"], cache["gamma"], cache["axis"]
    ndim = dout.ndim
    reduce = tuple(a for a in range(ndim) if a != axis)
    dbeta = dout.sum(axis=reduce) if cache["has_beta"] else None  # (C,)
    dgamma = (dout * x_hat).sum(axis=reduce) if gamma is not None else None  # (C,)
    dx_hat = dout * _broadcast(gamma, ndim, axis) if gamma is not None else dout  # dL/dx_hat, x's shape
    if cache["training"]:
        zeros = np.zeros_like(inv_std)
        mean_dx_hat = dx_hat.mean(axis=reduce, keepdims=True)
        mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=reduce, keepdims=True)
        dx = _broadcast(inv_std, ndim, axis) * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)
        return dx, dgamma, dbeta, zeros, zeros.copy()
    # inference: an affine map per channel
    dx = dx_hat * _broadcast(inv_std, ndim, axis)
    dmean = -dx.sum(axis=reduce)
    dvariance = -0.5 * (dx_hat * x_hat).sum(axis=reduce) * np.square(inv_std)
    return dx, dgamma, dbeta, dmean, dvariance


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
        self.axis = check_int(axis, "axis")  # the channel axis, e.g. -1
        self.momentum = check_float(momentum, "momentum", 0.0, 1.0, high_inclusive=True)
        self.epsilon = check_float(epsilon, "epsilon")
        if self.epsilon == 0.0:
            raise ValueError("epsilon must be positive (it keeps 1 / sqrt(var + epsilon) finite), got 0.0")
        self.center, self.scale = bool(center), bool(scale)

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
    def _forward(self, x, training=False):
        axis = self._channel_axis(x.ndim)
        if training:
            mean, variance = batch_statistics(x, axis)
            # validate first, then change state: a batch that gives NaN statistics updates nothing
            check_finite(variance, f"{self.name}: batch variance")
            self.params["moving_mean"][...] = self.params["moving_mean"] * self.momentum + mean * (1.0 - self.momentum)
            self.params["moving_variance"][...] = (self.params["moving_variance"] * self.momentum
                                                   + variance * (1.0 - self.momentum))
        else:
            mean, variance = self.params["moving_mean"], self.params["moving_variance"]
        gamma = self.params["gamma"] if self.scale else None
        beta = self.params["beta"] if self.center else None
        y, self._cache = batch_normalization_forward(x, mean, variance, gamma, beta, self.epsilon, axis, training)
        return y.astype(self.dtype, copy=False)

    def _backward(self, dy, need_dx=True):
        dx, dgamma, dbeta, dmean, dvariance = batch_normalization_backward(dy, self._cache)
        if self.center:
            self.grads["beta"] = dbeta
        if self.scale:
            self.grads["gamma"] = dgamma
        # the moving statistics are not trained; in inference their gradients serve gradient checks
        self.grads["moving_mean"], self.grads["moving_variance"] = dmean, dvariance
        return dx if need_dx else None

    def __repr__(self):
        return (f"BatchNormalization(name={self.name!r}, axis={self.axis}, momentum={self.momentum}, "
                f"epsilon={self.epsilon}, input_shape={self.input_shape})")
