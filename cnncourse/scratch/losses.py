"""Loss functions, reduced as Keras reduces them: the mean over the batch.

Each loss is called as ``loss(y_true, y_pred) -> float`` and has
``loss.gradient(y_true, y_pred) -> array``, the gradient of that batch mean w.r.t.
``y_pred`` (same shape as ``y_pred``).

The seed's loss (section 3.4) is the mean absolute error

    L = 1/N sum_i |y_i - y_hat_i|

which suits regression; its own code example classifies with sparse categorical
crossentropy, which is here too.

Crossentropies on probabilities follow Keras's conventions exactly: probabilities are
clipped to ``[epsilon, 1 - epsilon]`` with ``epsilon = 1e-7`` before the log (where the
clip is active the gradient is zero, as TensorFlow's ``clip_by_value`` makes it), and
``CategoricalCrossentropy`` first rescales each row to sum to 1. With
``from_logits=True`` they take the pre-activation ``z`` instead and use the exact,
numerically stable log-sum-exp form.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax
from ..checks import as_float_array, check_finite

EPSILON = 1e-7  # keras.backend.epsilon()


def _clip_bounds(dtype):
    # Keras clips in the prediction's dtype: (1e-7, 1 - 1e-7) rounded to float32 for float32.
    return np.asarray(EPSILON, dtype), np.asarray(1.0 - EPSILON, dtype)


def _logsumexp(z):
    """``log(sum(exp(z)))`` over the last axis, ``(..., K) -> (...)``, without overflow."""
    top = z.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[..., 0]


def _labels_in_unit_interval(y_true, kind):
    """Refuse labels outside [0, 1], which make a crossentropy negative or meaningless."""
    if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
        bad = y_true[(y_true < 0) | (y_true > 1)]
        raise ValueError(f"y_true must hold {kind} labels in [0, 1], got values {bad.ravel()[:5].tolist()}")


def _probabilities(y_pred):
    """Refuse predictions outside [0, 1] where probabilities are expected (logits need from_logits=True)."""
    if y_pred.size and (y_pred.min() < 0 or y_pred.max() > 1):
        bad = y_pred[(y_pred < 0) | (y_pred > 1)]
        raise ValueError(f"y_pred must hold probabilities in [0, 1] (for logits pass from_logits=True), "
                         f"got values {bad.ravel()[:5].tolist()}")


class Loss:
    """Base class: validates the arrays, then ``_values`` (per element or per sample) and ``_gradient``."""

    name = "loss"

    def __call__(self, y_true, y_pred) -> float:
        """The batch-mean loss, a Python float."""
        y_true, y_pred = self._check(y_true, y_pred)
        return float(np.mean(self._values(y_true, y_pred)))

    def per_sample(self, y_true, y_pred) -> np.ndarray:
        """The loss of each sample, before the batch mean: shape ``y_pred.shape[:-1]`` (or ``(N,)`` for rank 1)."""
        y_true, y_pred = self._check(y_true, y_pred)
        values = self._values(y_true, y_pred)
        if values.shape == y_pred.shape and y_pred.ndim > 1:
            values = values.mean(axis=-1)  # element-wise losses: Keras averages the last axis first
        return values

    def check(self, y_true, y_pred):
        """``(y_true, y_pred)`` as checked arrays, or the ``TypeError`` / ``ValueError`` the loss would raise."""
        return self._check(y_true, y_pred)

    def gradient(self, y_true, y_pred) -> np.ndarray:
        """``d mean_loss / d y_pred``, same shape and dtype as ``y_pred``."""
        y_true, y_pred = self._check(y_true, y_pred)
        return self._gradient(y_true, y_pred)

    def value_and_gradient(self, y_true, y_pred):
        """``(self(y_true, y_pred), self.gradient(y_true, y_pred))``, the arrays checked once, not twice.

        What ``fit`` calls once per batch. A subclass that overrides ``__call__`` or ``gradient``
        gets exactly those two calls.
        """
        cls = type(self)
        if cls.__call__ is not Loss.__call__ or cls.gradient is not Loss.gradient:
            return self(y_true, y_pred), self.gradient(y_true, y_pred)
        y_true, y_pred = self._check(y_true, y_pred)
        return float(np.mean(self._values(y_true, y_pred))), self._gradient(y_true, y_pred)

    def for_logits(self, activation: str):
        """This loss computed from the logits ``z`` of ``y_pred = activation(z)``, or None.

        Keras's shortcut, which ``Sequential`` takes when the last layer's activation
        allows it: a crossentropy of softmax (or sigmoid) probabilities, computed from
        ``z``, is exact, never takes the log of a probability that has underflowed to 0,
        and its gradient w.r.t. ``z`` is simply ``(softmax(z) - y_true) / N``.
        ``activation`` is a name such as ``"softmax"``; the base class has no shortcut.
        """
        return None

    def _check(self, y_true, y_pred):
        y_pred = as_float_array(y_pred, "y_pred")
        if y_pred.ndim < 1 or y_pred.shape[0] == 0:
            raise ValueError(f"y_pred must have a batch axis with at least one sample, got shape {y_pred.shape}")
        check_finite(y_pred, "y_pred")
        y_true = as_float_array(y_true, "y_true", dtype=y_pred.dtype)
        if y_true.shape != y_pred.shape:
            # Keras accepts labels (N,) for predictions (N, 1) and the reverse.
            if y_true.size == y_pred.size and abs(y_true.ndim - y_pred.ndim) == 1 and 1 in (y_true.shape[-1:] + y_pred.shape[-1:]):
                y_true = y_true.reshape(y_pred.shape)
            else:
                raise ValueError(f"y_true must have the shape of y_pred {y_pred.shape}, got {y_true.shape}")
        check_finite(y_true, "y_true")
        return y_true, y_pred

    def __repr__(self):
        return f"{type(self).__name__}()"


class MeanAbsoluteError(Loss):
    """The seed's ``L = mean |y - y_hat|``; ``y_true``, ``y_pred`` of the same shape ``(N, ...)``.

    Gradient: ``sign(y_pred - y_true) / y_pred.size`` (0 where they are equal, as in TensorFlow).
    """

    name = "mean_absolute_error"

    def _values(self, y_true, y_pred):
        return np.abs(y_pred - y_true)

    def _gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true) / y_pred.size


class MeanSquaredError(Loss):
    """``L = mean (y - y_hat)^2``; gradient ``2 (y_pred - y_true) / y_pred.size``."""

    name = "mean_squared_error"

    def _values(self, y_true, y_pred):
        return (y_pred - y_true) ** 2

    def _gradient(self, y_true, y_pred):
        return 2 * (y_pred - y_true) / y_pred.size


class BinaryCrossentropy(Loss):
    """``L = -mean[ y log p + (1 - y) log(1 - p) ]``, ``y_true``, ``y_pred`` of shape ``(N, ...)``, e.g. ``(N, 1)``.

    ``y_pred`` holds probabilities (clipped to ``[1e-7, 1 - 1e-7]``), or logits ``z``
    with ``from_logits=True`` (then ``p = sigmoid(z)`` is never formed, and the gradient
    is ``(sigmoid(z) - y) / size``).
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        _labels_in_unit_interval(y_true, "binary")
        if not self.from_logits:
            _probabilities(y_pred)
        return y_true, y_pred

    def _values(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred  # max(z, 0) - z y + log(1 + exp(-|z|)), stable for any z
            return np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        low, high = _clip_bounds(y_pred.dtype)
        p = np.clip(y_pred, low, high)
        return -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))

    def _gradient(self, y_true, y_pred):
        if self.from_logits:
            return (sigmoid(y_pred) - y_true) / y_pred.size
        low, high = _clip_bounds(y_pred.dtype)
        p = np.clip(y_pred, low, high)
        inside = (y_pred >= low) & (y_pred <= high)  # the clip passes gradient only here
        return np.where(inside, (p - y_true) / (p * (1 - p)), 0) / y_pred.size

    def for_logits(self, activation: str):
        if activation == "sigmoid" and not self.from_logits:
            return BinaryCrossentropy(from_logits=True)
        return None

    def __repr__(self):
        return f"BinaryCrossentropy(from_logits={self.from_logits})"


class CategoricalCrossentropy(Loss):
    """``L = -mean_n sum_k y[n, k] log p[n, k]`` with one-hot ``y_true`` and ``y_pred`` of shape ``(N, K)``.

    Probabilities are first rescaled to sum to 1 per row and clipped to
    ``[1e-7, 1 - 1e-7]``, as Keras does. With ``from_logits=True``, ``y_pred`` is the
    logits ``z`` and the gradient is ``(softmax(z) * sum_k y - y) / N``.
    """

    name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def _check(self, y_true, y_pred):
        y_true, y_pred = super()._check(y_true, y_pred)
        if y_pred.ndim < 2:
            raise ValueError(f"y_pred must have shape (batch, classes), got {y_pred.shape}")
        _labels_in_unit_interval(y_true, "one-hot (or soft)")
        if not self.from_logits:
            _probabilities(y_pred)
            totals = y_pred.sum(-1)
            if np.any(totals <= 0):
                row = np.unravel_index(int(np.argmax(totals <= 0)), totals.shape)
                raise ValueError(
                    f"y_pred row {tuple(int(i) for i in row)} sums to 0: a row of zero probabilities cannot be "
                    "rescaled to sum to 1 (Keras returns NaN here); pass probabilities, or logits with from_logits=True"
                )
        return y_true, y_pred

    def _values(self, y_true, y_pred):
        if self.from_logits:
            return y_true.sum(-1) * _logsumexp(y_pred) - (y_true * y_pred).sum(-1)
        low, high = _clip_bounds(y_pred.dtype)
        q = np.clip(y_pred / y_pred.sum(-1, keepdims=True), low, high)
        return -(y_true * np.log(q)).sum(-1)

    def _gradient(self, y_true, y_pred):
        samples = y_pred.size // y_pred.shape[-1]
        if self.from_logits:
            return (softmax(y_pred) * y_true.sum(-1, keepdims=True) - y_true) / samples
        low, high = _clip_bounds(y_pred.dtype)
        total = y_pred.sum(-1, keepdims=True)
        q = y_pred / total
        inside = (q >= low) & (q <= high)
        dq = np.where(inside, -y_true / np.clip(q, low, high), 0)  # through log and the clip
        # through q = p / sum(p): dL/dp_j = (dq_j - sum_k dq_k q_k) / sum(p)
        return (dq - (dq * q).sum(-1, keepdims=True)) / total / samples

    def for_logits(self, activation: str):
        if activation == "softmax" and not self.from_logits:
            return CategoricalCrossentropy(from_logits=True)
        return None

    def __repr__(self):
        return f"CategoricalCrossentropy(from_logits={self.from_logits})"


class SparseCategoricalCrossentropy(Loss):
    """Categorical crossentropy with integer labels: ``L = -mean_n log p[n, y_n]``.

    ``y_true`` holds class indices of shape ``(N,)`` (or ``(N, 1)``), each in
    ``[0, K)``; ``y_pred`` has shape ``(N, K)``. As in Keras, probabilities are clipped
    to ``[1e-7, 1 - 1e-7]`` and then renormalised (TensorFlow feeds their log to a
    softmax). With ``from_logits=True`` the gradient is ``(softmax(z) - one_hot(y)) / N``.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def _check(self, y_true, y_pred):
        y_pred = as_float_array(y_pred, "y_pred")
        if y_pred.ndim < 2:
            raise ValueError(f"y_pred must have shape (batch, classes), got {y_pred.shape}")
        if y_pred.shape[0] == 0:
            raise ValueError(f"y_pred must have a batch axis with at least one sample, got shape {y_pred.shape}")
        check_finite(y_pred, "y_pred")
        labels = np.asarray(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"y_true must hold one class index per sample, shape {y_pred.shape[:-1]}, got shape {labels.shape}"
            )
        if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
            raise TypeError(f"y_true must hold integer class indices, got dtype {labels.dtype}")
        if np.issubdtype(labels.dtype, np.floating):
            check_finite(labels, "y_true")
            if np.any(labels != np.round(labels)):
                raise ValueError("y_true must hold integer class indices, got non-integer values")
        classes = y_pred.shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            bad = labels[(labels < 0) | (labels >= classes)]
            raise ValueError(
                f"y_true labels must be in [0, {classes - 1}] for y_pred with {classes} classes, "
                f"got {bad.ravel()[:5].tolist()}"
            )
        return labels.astype(np.int64), y_pred

    def _one_hot(self, labels, y_pred):
        return np.eye(y_pred.shape[-1], dtype=y_pred.dtype)[labels]

    def _values(self, labels, y_pred):
        if self.from_logits:
            z = y_pred
        else:
            z = np.log(np.clip(y_pred, *_clip_bounds(y_pred.dtype)))
        picked = np.take_along_axis(z, labels[..., None], axis=-1)[..., 0]
        return _logsumexp(z) - picked

    def _gradient(self, labels, y_pred):
        samples = labels.size
        one_hot = self._one_hot(labels, y_pred)
        if self.from_logits:
            return (softmax(y_pred) - one_hot) / samples
        low, high = _clip_bounds(y_pred.dtype)
        c = np.clip(y_pred, low, high)
        inside = (y_pred >= low) & (y_pred <= high)
        # L = -log c_y + log sum(c): dL/dc_j = -[j == y] / c_y + 1 / sum(c)
        dc = -one_hot / c + 1 / c.sum(-1, keepdims=True)
        return np.where(inside, dc, 0) / samples

    def for_logits(self, activation: str):
        if activation == "softmax" and not self.from_logits:
            return SparseCategoricalCrossentropy(from_logits=True)
        return None

    def __repr__(self):
        return f"SparseCategoricalCrossentropy(from_logits={self.from_logits})"


LOSSES = {
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get_loss(loss) -> Loss:
    """A loss object from a ``Loss`` instance or a Keras name such as ``"sparse_categorical_crossentropy"``."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]()
    raise ValueError(f"loss must be a Loss object or one of {sorted(LOSSES)}, got {loss!r}")
