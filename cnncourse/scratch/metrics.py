"""Accuracy metrics, named and computed as in Keras.

Each takes ``(y_true, y_pred)`` for a batch and returns the fraction of correct samples.
``"accuracy"`` in ``compile(metrics=["accuracy"])`` picks the one that fits the loss, as
Keras does: sparse categorical for integer labels, categorical for one-hot labels,
binary (threshold 0.5) for binary crossentropy.
"""

from __future__ import annotations

import numpy as np

from .losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy


def sparse_categorical_accuracy(y_true, y_pred) -> float:
    """``y_true (N,)`` or ``(N, 1)`` class indices, ``y_pred (N, K)`` scores: mean of ``argmax == y_true``."""
    labels = np.asarray(y_true).reshape(-1)
    return float(np.mean(np.argmax(y_pred, axis=-1).reshape(-1) == labels))


def categorical_accuracy(y_true, y_pred) -> float:
    """``y_true (N, K)`` one-hot, ``y_pred (N, K)``: mean of ``argmax(y_pred) == argmax(y_true)``."""
    return float(np.mean(np.argmax(y_pred, axis=-1) == np.argmax(y_true, axis=-1)))


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """``y_true``, ``y_pred`` of the same shape ``(N, ...)``: mean of ``(y_pred > threshold) == y_true``."""
    y_pred = np.asarray(y_pred)
    return float(np.mean((y_pred > threshold) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5)))


def exact_accuracy(y_true, y_pred) -> float:
    """Keras's plain ``accuracy``: the fraction of exactly equal values."""
    y_pred = np.asarray(y_pred)
    return float(np.mean(np.asarray(y_true).reshape(y_pred.shape) == y_pred))


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
