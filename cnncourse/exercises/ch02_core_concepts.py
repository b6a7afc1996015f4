"""Checkers for chapter 2, core concepts."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, register

CHAPTER = "02_core_concepts"


@register("positive_fraction", CHAPTER, "fraction of labels equal to 1 (pneumonia) in a label array")
def _check_positive_fraction(candidate):
    rng = np.random.default_rng(2)
    for labels in (np.array([0, 1, 1, 1]), rng.integers(0, 2, 97), np.zeros(5, np.int64)):
        expected = float(labels.mean())  # computed before the candidate can touch anything
        given = labels.copy()
        received = call_candidate(candidate, given, what="positive_fraction(labels)")
        if not np.array_equal(given, labels):
            raise ExerciseFailed("positive_fraction(labels) changed its input array; compute the fraction without modifying it")
        assert_close(received, expected, what=f"positive_fraction({labels.tolist()[:6]}…)")


@register("conv_params", CHAPTER, "number of parameters of a Conv2D layer (weights + biases)")
def _check_conv_params(candidate):
    for kernel_size, channels_in, filters in ((3, 1, 32), (3, 32, 64), (5, 3, 16), (1, 64, 10)):
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
