"""Accuracy metrics, named and computed as in Keras.

Each takes ``(y_true, y_pred)`` for a batch and returns the fraction of correct samples.
``"accuracy"`` in ``compile(metrics=["accuracy"])`` picks the one that fits the loss, as
Keras does: sparse categorical for integer labels, categorical for one-hot labels,
binary (threshold 0.5) for binary crossentropy.
"""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy


def _pair(y_true, y_pred, per_sample: bool):
    """Both arrays, with one target per prediction (``per_sample``: one per row of ``y_pred``), and not empty."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.ndim < 1 or len(y_pred) == 0:
        raise ValueError(f"y_pred must hold at least one sample, got shape {y_pred.shape}")
    expected = len(y_pred) if per_sample else y_pred.size
    if (y_true.size if not per_sample else (len(y_true) if y_true.ndim else 0)) != expected:
        raise ValueError(f"y_true must hold one target per prediction ({expected}) for y_pred of shape "
                         f"{y_pred.shape}, got shape {y_true.shape}")
    return y_true, y_pred


def sparse_categorical_accuracy(y_true, y_pred) -> float:
    """``y_true (N,)`` or ``(N, 1)`` class indices, ``y_pred (N, K)`` scores: mean of ``argmax == y_true``."""
    y_true, y_pred = _pair(y_true, y_pred, per_sample=True)
    labels = y_true.reshape(-1)
    if labels.size != len(y_pred):
        raise ValueError(f"y_true must hold one class index per sample ({len(y_pred)}), got shape {y_true.shape}")
    return float(np.mean(np.argmax(y_pred, axis=-1).reshape(-1) == labels))


def categorical_accuracy(y_true, y_pred) -> float:
    """``y_true (N, K)`` one-hot, ``y_pred (N, K)``: mean of ``argmax(y_pred) == argmax(y_true)``."""
    y_true, y_pred = _pair(y_true, y_pred, per_sample=True)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true must have the shape of y_pred {y_pred.shape}, got {y_true.shape}")
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """``y_true``, ``y_pred`` of the same shape ``(N, ...)``: mean of ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = _pair(y_true, y_pred, per_sample=False)
    return float(np.mean((y_pred > threshold) == (y_true.reshape(y_pred.shape) > 0.5)))


def exact_accuracy(y_true, y_pred) -> float:
    """Keras's plain ``accuracy``: the fraction of exactly equal values."""
    y_true, y_pred = _pair(y_true, y_pred, per_sample=False)
    return float(np.mean(y_true.reshape(y_pred.shape) == y_pred))


METRICS = {
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "binary_accuracy": binary_accuracy,
}


def get_metric(name, loss):
    """``(name, function)`` for a metric name; ``"accuracy"``/``"acc"`` is resolved from ``loss``."""
    if callable(name) and not isinstance(name, str):
        return getattr(name, "__name__", "metric"), name
    if not isinstance(name, str):
        raise ValueError(f"metrics must be names such as 'accuracy', got {name!r}")
    key = name.lower()
    if key in ("accuracy", "acc"):
        if isinstance(loss, SparseCategoricalCrossentropy):
            return "accuracy", sparse_categorical_accuracy
        if isinstance(loss, CategoricalCrossentropy):
            return "accuracy", categorical_accuracy
        if isinstance(loss, BinaryCrossentropy):
            return "accuracy", binary_accuracy
        return "accuracy", exact_accuracy
    if key in METRICS:
        return key, METRICS[key]
    raise ValueError(f"metric must be 'accuracy' or one of {sorted(METRICS)}, got {name!r}")
