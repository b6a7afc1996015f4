"""Checkers for chapter 3.4, loss functions.

The references are the NumPy engine's losses (``cnncourse.scratch.losses``), which the
tests compare with Keras, and scikit-learn's ``compute_class_weight``.
"""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "06_loss"


def _binary_cases():
    rng = grading_rng(6)
    yield np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.9, 0.2, 0.6, 0.3])
    labels = rng.integers(0, 2, 50).astype(np.float64)
    yield labels, rng.uniform(0.01, 0.99, 50)
    # Confidently wrong and exactly-0/1 predictions: the clip to [1e-7, 1 - 1e-7] matters.
    yield np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 0.0])


@register("binary_crossentropy", CHAPTER, "batch-mean binary cross-entropy of probabilities, clipped as in Keras")
def _check_binary_crossentropy(candidate):
    from ..scratch import BinaryCrossentropy

    reference = BinaryCrossentropy()
    for y_true, y_pred in _binary_cases():
        what = f"binary_crossentropy(y_true={y_true.tolist()[:4]}…, y_pred={np.round(y_pred, 3).tolist()[:4]}…)"
        received = call_candidate(candidate, y_true.copy(), y_pred.copy(), what=what)
        expected = reference(y_true, y_pred)
        try:
            received_array = None if received is None else np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            received_array = None  # assert_close below says what was received
        if received_array is not None and received_array.ndim != 0 and received_array.size == y_true.size > 1:
            raise ExerciseFailed(f"{what}: return one number, the mean over the batch, not one loss per sample")
        if received_array is not None and received_array.ndim == 0 and not np.isfinite(received_array):
            raise ExerciseFailed(
                f"{what}: received {received!r}, expected {expected:.6g}. Clip the probabilities to "
                "[1e-7, 1 - 1e-7] before taking the log, as Keras does"
            )
        assert_close(received, expected, what=what, rtol=1e-5, atol=1e-7)


@register("softmax_logit_gradient", CHAPTER, "gradient of the batch-mean softmax cross-entropy w.r.t. the logits")
def _check_softmax_logit_gradient(candidate):
    from ..scratch import SparseCategoricalCrossentropy

    reference = SparseCategoricalCrossentropy(from_logits=True)
    rng = grading_rng(7)
    cases = [
        (np.array([[2.0, -1.0], [0.5, 0.5], [-3.0, 4.0]]), np.array([0, 1, 0])),
        (rng.normal(0, 3, (16, 5)), rng.integers(0, 5, 16)),
        (np.array([[1000.0, 0.0, -1000.0]]), np.array([2])),  # needs a stable softmax
    ]
    for logits, labels in cases:
        what = f"softmax_logit_gradient(logits of shape {logits.shape}, labels={labels.tolist()[:5]})"
        received = call_candidate(candidate, logits.copy(), labels.copy(), what=what)
        expected = reference.gradient(labels, logits)
        try:
            received_array = None if received is None else np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            received_array = None
        if received_array is not None and received_array.shape == expected.shape:
            if np.allclose(received_array, expected * len(labels), rtol=1e-5, atol=1e-7) and len(labels) > 1:
                raise ExerciseFailed(f"{what}: you returned softmax(z) - one_hot(y); divide by N = {len(labels)}, "
                                     "because the loss is the mean over the batch")
            if np.allclose(received_array, -expected, rtol=1e-5, atol=1e-7):
                raise ExerciseFailed(f"{what}: wrong sign; the gradient is (softmax(z) - one_hot(y)) / N")
        assert_close(received, expected, what=what, rtol=1e-5, atol=1e-8)


@register("balanced_class_weights", CHAPTER, "Keras class_weight dict {class: N / (K * N_class)} from integer labels")
def _check_balanced_class_weights(candidate):
    from sklearn.utils.class_weight import compute_class_weight

    rng = grading_rng(8)
    cases = [np.array([0, 1, 1, 1]), (rng.uniform(size=1500) < 0.74).astype(np.int64), rng.integers(0, 3, 90)]
    for labels in cases:
        classes = np.unique(labels)
        expected = dict(zip(classes.tolist(), compute_class_weight("balanced", classes=classes, y=labels).tolist()))
        what = f"balanced_class_weights(labels with counts {np.bincount(labels).tolist()})"
        received = call_candidate(candidate, labels.copy(), what=what)
        if not isinstance(received, dict):
            raise ExerciseFailed(f"{what}: expected a dict {{class: weight}} as Keras's class_weight takes, "
                                 f"received {type(received).__name__} {received!r}"[:300])
        keys = sorted(int(key) for key in received) if all(isinstance(key, (int, np.integer)) for key in received) else None
        if keys != sorted(expected):
            raise ExerciseFailed(f"{what}: expected the keys {sorted(expected)} (one per class), received {list(received)}")
        assert_close([received[key] for key in sorted(expected)], [expected[key] for key in sorted(expected)],
                     what=f"{what}, weights of classes {sorted(expected)}")
