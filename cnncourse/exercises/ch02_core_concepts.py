"""Checkers for chapter 2, core concepts."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "02_core_concepts"


@register("positive_fraction", CHAPTER, "fraction of labels equal to 1 (pneumonia) in a label array")
def _check_positive_fraction(candidate):
    rng = grading_rng(2)  # drawn again from a secret seed when grading: a table of answers cannot pass
    for labels in (np.array([0, 1, 1, 1]), rng.integers(0, 2, 97), np.zeros(5, np.int64)):
        expected = float(labels.mean())  # computed before the candidate can touch anything
        given = labels.copy()
        received = call_candidate(candidate, given, what="positive_fraction(labels)")
        if not np.array_equal(given, labels):
            raise ExerciseFailed("positive_fraction(labels) changed its input array; compute the fraction without modifying it")
        assert_close(received, expected, what=f"positive_fraction({labels.tolist()[:6]}…)")


@register("conv_params", CHAPTER, "number of parameters of a Conv2D layer (weights + biases)")
def _check_conv_params(candidate):
    rng = grading_rng(22)
    drawn = (int(rng.integers(1, 8)), int(rng.integers(1, 65)), int(rng.integers(1, 129)))
    for kernel_size, channels_in, filters in ((3, 1, 32), (3, 32, 64), (5, 3, 16), (1, 64, 10), drawn):
        expected = kernel_size * kernel_size * channels_in * filters + filters
        received = call_candidate(
            candidate, kernel_size, channels_in, filters, what=f"conv_params({kernel_size}, {channels_in}, {filters})"
        )
        # Exact types: an int subclass with a lying __eq__ must not pass.
        exact = type(received) is int or type(received) in (np.int8, np.int16, np.int32, np.int64, np.intc, np.intp)
        if not exact or int.__eq__(int(received), expected) is not True:
            raise ExerciseFailed(
                f"conv_params({kernel_size}, {channels_in}, {filters}): expected {expected} "
                f"(= {kernel_size}·{kernel_size}·{channels_in}·{filters} weights + {filters} biases), received {received!r}"
            )


def _majority_cases():
    """``(y_train, y_test)``: train's majority differs from test's in some, so a peek at test shows."""
    rng = grading_rng(20)
    yield np.array([1, 1, 1, 0]), np.array([0, 0, 1, 0, 1])  # the majority of train (1) is test's minority
    yield np.array([0, 0, 1]), np.array([1, 1, 1, 0])
    yield (rng.random(101) < 0.74).astype(np.int64), (rng.random(60) < 0.625).astype(np.int64)
    yield (rng.random(51) < 0.3).astype(np.int64), (rng.random(40) < 0.6).astype(np.int64)


@register("majority_baseline_accuracy", CHAPTER, "test accuracy of always predicting the training set's majority class")
def _check_majority_baseline_accuracy(candidate):
    for y_train, y_test in _majority_cases():
        majority = int(np.bincount(y_train, minlength=2).argmax())
        expected = float(np.mean(y_test == majority))
        what = f"majority_baseline_accuracy(y_train of {len(y_train)} labels, y_test of {len(y_test)})"
        received = call_candidate(candidate, y_train, y_test, what=what)
        try:
            value = float(received)
        except (TypeError, ValueError):
            value = None
        test_majority = int(np.bincount(y_test, minlength=2).argmax())
        if (value is not None and test_majority != majority and np.isclose(value, np.mean(y_test == test_majority))
                and not np.isclose(value, expected)):  # a drawn y_test split evenly gives both the same accuracy
            raise ExerciseFailed(
                f"{what}: you took the majority class of y_test ({test_majority}); the baseline must choose its "
                f"answer from the training labels only (there: class {majority}), as any model would."
            )
        if value is not None and np.isclose(value, np.mean(y_train == majority)) and not np.isclose(value, expected):
            raise ExerciseFailed(f"{what}: that is the accuracy on y_train; score the baseline on y_test.")
        if value is not None and 1 < value <= 100 and np.isclose(value / 100, expected):
            raise ExerciseFailed(f"{what}: return a fraction in [0, 1], not a percentage (expected {expected:.4f}).")
        assert_close(received, expected, what=what)
