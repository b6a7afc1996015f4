"""Checkers for chapter 2, core concepts."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, register

CHAPTER = "02_core_concepts"


@register("positive_fraction", CHAPTER, "fraction of labels equal to 1 (pneumonia) in a label array")
def _check_positive_fraction(candidate):
    rng = np.random.default_rng(2)
    for labels in (np.array([0, 1, 1, 1]), rng.integers(0, 2, 97), np.zeros(5, np.int64)):
        received = call_candidate(candidate, labels, what="positive_fraction(labels)")
        assert_close(received, labels.mean(), what=f"positive_fraction({labels.tolist()[:6]}…)")


@register("conv_params", CHAPTER, "number of parameters of a Conv2D layer (weights + biases)")
def _check_conv_params(candidate):
    for kernel_size, channels_in, filters in ((3, 1, 32), (3, 32, 64), (5, 3, 16), (1, 64, 10)):
        expected = kernel_size * kernel_size * channels_in * filters + filters
        received = call_candidate(
            candidate, kernel_size, channels_in, filters, what=f"conv_params({kernel_size}, {channels_in}, {filters})"
        )
        if not isinstance(received, (int, np.integer)) or received != expected:
            raise ExerciseFailed(
                f"conv_params({kernel_size}, {channels_in}, {filters}): expected {expected} "
                f"(= {kernel_size}·{kernel_size}·{channels_in}·{filters} weights + {filters} biases), received {received!r}"
            )
