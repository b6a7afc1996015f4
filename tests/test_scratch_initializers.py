"""Kernel initialisers of cnncourse.scratch: Keras's variances and truncation, the layers' kernel_initializer, bad input."""

import numpy as np
import pytest

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

SHAPES = [(3, 3, 64, 128), (600, 400), (5, 5, 16, 8)]
# name: (target variance from (fan_in, fan_out), truncated normal?)
TARGETS = {
    "glorot_uniform": (lambda fan_in, fan_out: 2.0 / (fan_in + fan_out), False),
    "glorot_normal": (lambda fan_in, fan_out: 2.0 / (fan_in + fan_out), True),
    "he_uniform": (lambda fan_in, fan_out: 2.0 / fan_in, False),
    "he_normal": (lambda fan_in, fan_out: 2.0 / fan_in, True),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_initializer_variance_and_support(name, shape):
    kernel = getattr(scratch, name)(shape, seed=0)
    fan_in, fan_out = scratch.initializers.fans(shape)
    variance_of, truncated = TARGETS[name]
    target = variance_of(fan_in, fan_out)
    assert kernel.shape == shape and kernel.dtype == np.float32
    # the sample variance of n values has a relative standard error of about sqrt(2 / n) < 1.5% here
    assert abs(kernel.var() / target - 1) < 0.05, f"variance {kernel.var():.3e}, target {target:.3e}"
    assert abs(kernel.mean()) < 4 * np.sqrt(target / kernel.size)
    if truncated:  # at most two of Keras's (pre-truncation) standard deviations, and it does reach close to them
        bound = 2 * np.sqrt(target) / scratch.initializers.TRUNCATED_NORMAL_STD
        assert np.abs(kernel).max() <= bound * (1 + 1e-6) and np.abs(kernel).max() > 0.97 * bound
    else:
        limit = np.sqrt(3 * target)
        assert np.abs(kernel).max() <= limit * (1 + 1e-6) and np.abs(kernel).max() > 0.99 * limit


def test_truncation_constant_is_the_std_of_a_normal_cut_at_two():
    from math import erf, exp, pi, sqrt
    mass = erf(2 / sqrt(2))  # P(|z| < 2)
    variance = 1 - 2 * 2 * exp(-2) / sqrt(2 * pi) / mass  # Var(z | |z| < 2)
    assert sqrt(variance) == pytest.approx(scratch.initializers.TRUNCATED_NORMAL_STD, rel=1e-12)
    values = scratch.truncated_normal((400_000,), stddev=1.0, seed=1, dtype="float64")
    assert np.abs(values).max() <= 2.0 and values.std() == pytest.approx(0.87962566103423978, rel=5e-3)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_initializers_match_keras_statistics(name):
    keras = pytest.importorskip("keras")
    shape = (3, 3, 32, 64)
    theirs = np.asarray(keras.initializers.get(name)(shape, dtype="float64"))
    ours = getattr(scratch, name)(shape, seed=0, dtype="float64")
    assert abs(ours.std() / theirs.std() - 1) < 0.05
    assert abs(np.abs(ours).max() / np.abs(theirs).max() - 1) < 0.05  # the same limit / truncation point


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_layers_accept_kernel_initializer_names(name):
    conv = scratch.Conv2D(64, 3, kernel_initializer=name, input_shape=(8, 8, 32), seed=3)
    np.testing.assert_array_equal(conv.params["kernel"], getattr(scratch, name)((3, 3, 32, 64), seed=3))
    np.testing.assert_array_equal(conv.params["bias"], 0)
    dense = scratch.Dense(50, kernel_initializer=name.upper(), input_shape=(70,), seed=4, dtype="float64")
    np.testing.assert_array_equal(dense.params["kernel"], getattr(scratch, name)((70, 50), seed=4, dtype="float64"))


def test_default_initialisation_is_unchanged_glorot_uniform():
    for layer, shape in ((scratch.Dense(300, input_shape=(200,), seed=7), (200, 300)),
                         (scratch.Conv2D(16, (3, 2), input_shape=(9, 9, 4), seed=7), (3, 2, 4, 16))):
        expected = np.random.default_rng(7).uniform(-1, 1, size=shape) * np.sqrt(6 / sum(scratch.initializers.fans(shape)))
        np.testing.assert_allclose(layer.params["kernel"], expected.astype(np.float32), rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(layer.params["kernel"], scratch.glorot_uniform(shape, seed=7))


def test_he_keeps_the_signal_through_a_deep_relu_stack_and_glorot_halves_it():
    """Why He: ReLU zeroes half of its inputs, so a variance of 1 / fan_in halves the signal each layer."""
    x = np.random.default_rng(0).normal(size=(256, 256))
    ratios = {}
    for name in ("he_normal", "glorot_uniform"):
        h = x
        for depth in range(10):
            h = scratch.Dense(256, activation="relu", kernel_initializer=name, use_bias=False, seed=depth,
                              dtype="float64").forward(h)
        ratios[name] = np.mean(h**2) / np.mean(x**2)
    assert 0.5 < ratios["he_normal"] < 2.0
    assert ratios["glorot_uniform"] < 0.01  # ~ (1/2)**10


@pytest.mark.parametrize("make, error, message", [
    (lambda: scratch.Dense(3, kernel_initializer="orthogonal"), ValueError,
     r"kernel_initializer must be one of \['glorot_normal', 'glorot_uniform', 'he_normal', 'he_uniform'\], got 'orthogonal'"),
    (lambda: scratch.Conv2D(3, 3, kernel_initializer=None), TypeError, "kernel_initializer must be one of .* got NoneType"),
    (lambda: scratch.he_normal((5,)), ValueError, r"a kernel needs at least 2 dimensions, got shape \(5,\)"),
])
def test_bad_initializer_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()
