"""cnncourse.receptive: the receptive-field recurrence, checked against what a network's output really depends on."""

import numpy as np
import pytest

from cnncourse import scratch
from cnncourse.receptive import receptive_field, receptive_field_growth

SEED_CNN = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)]


def test_the_seed_cnn_and_small_chains():
    assert receptive_field(SEED_CNN) == 18
    assert receptive_field_growth(SEED_CNN) == [(3, 1), (4, 2), (8, 2), (10, 4), (18, 4)]
    assert receptive_field([]) == 1
    assert receptive_field([(3, 1), (3, 1)]) == receptive_field([(5, 1)]) == 5
    assert receptive_field([(3, 1)] * 3) == 7
    assert receptive_field(((7, 2), (3, 2), (3, 1))) == 7 + 2 * 2 + 2 * 4
    assert isinstance(receptive_field([(np.int64(3), np.int64(1))]), int)


def _input_rows_seen(layers, size=48):
    """Rows of a size x size input on which one central output pixel depends, found by running the chain.

    Each layer is a convolution with an all-ones 1-channel kernel (or an average pooling where
    kernel_size == stride), so every input pixel in the field adds a positive amount."""
    deltas = np.zeros((size, size, size, 1))
    deltas[np.arange(size), np.arange(size), size // 2, 0] = 1.0  # image r: a 1 at row r, middle column
    out = deltas
    for index, (kernel_size, stride) in enumerate(layers):
        if index % 2 and kernel_size == stride:
            out = scratch.avg_pool2d(out, pool_size=kernel_size, strides=stride)
        else:
            out = scratch.conv2d(out, np.ones((kernel_size, kernel_size, 1, 1)), strides=stride)
    centre = out.shape[1] // 2
    touched = np.flatnonzero(np.abs(out[:, centre, :, 0]).sum(axis=1) > 0)
    return touched.max() - touched.min() + 1


@pytest.mark.parametrize(
    "layers",
    [SEED_CNN, [(3, 1)], [(5, 1), (3, 1)], [(3, 2), (3, 2), (3, 1)], [(7, 2), (2, 2), (3, 1)], [(1, 1), (2, 2), (5, 1)]],
)
def test_matches_the_rows_a_network_output_depends_on(layers):
    assert receptive_field(layers) == _input_rows_seen(layers)


def test_random_chains_match_the_backward_recurrence():
    rng = np.random.default_rng(15)
    for _ in range(50):
        layers = [(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(rng.integers(1, 7))]
        backwards = 1
        for kernel_size, stride in reversed(layers):  # from the output back: r <- (r - 1) * s + k
            backwards = (backwards - 1) * stride + kernel_size
        assert receptive_field(layers) == backwards


@pytest.mark.parametrize(
    "layers, error, message",
    [
        (3, TypeError, r"layers must be a list of \(kernel_size, stride\) pairs"),
        ("33", TypeError, r"layers must be a list"),
        ([3], ValueError, r"layers\[0\] must be a \(kernel_size, stride\) pair, got 3"),
        ([(3, 1), (3, 1, 1)], ValueError, r"layers\[1\] must be a \(kernel_size, stride\) pair"),
        ([(3.0, 1)], TypeError, r"layers\[0\]: kernel_size must be an int, got float"),
        ([(3, True)], TypeError, r"layers\[0\]: stride must be an int, got bool"),
        ([(3, 1), (0, 1)], ValueError, r"layers\[1\]: kernel_size must be an int >= 1, got 0"),
        ([(3, -2)], ValueError, r"layers\[0\]: stride must be an int >= 1, got -2"),
    ],
)
def test_bad_layers_are_named(layers, error, message):
    with pytest.raises(error, match=message):
        receptive_field(layers)
    with pytest.raises(error, match=message):
        receptive_field_growth(layers)
