"""BatchNormalization of cnncourse.scratch: Keras parity (float64), moving statistics, gradient checks, bad input."""

import numpy as np
import pytest
from conftest import assert_sgd_steps_match_keras, keras_values_and_gradients

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _bn_cases(count, seed):
    """Random shapes: NHWC images and (N, C) features, with or without gamma / beta, random momentum and epsilon."""
    rng = np.random.default_rng(seed)
    cases = []
    for index in range(count):
        channels = int(rng.integers(1, 6))
        if index % 2:
            shape = (int(rng.integers(2, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 6)), channels)
        else:
            shape = (int(rng.integers(2, 9)), channels)
        cases.append(dict(x_shape=shape, momentum=float(rng.choice([0.99, 0.9, 0.5])),
                          epsilon=float(rng.choice([1e-3, 1e-5, 0.1])),
                          center=bool(index % 3 != 1), scale=bool(index % 4 != 2)))
    return cases


CASES = _bn_cases(8, seed=21)


def _case_id(case):
    return f"x{case['x_shape']}-m{case['momentum']}-e{case['epsilon']}-c{case['center']}-s{case['scale']}".replace(" ", "")


def _random_weights(layer, rng):
    """gamma, beta, moving_mean and a positive moving_variance, in Keras's order."""
    channels = layer.params["moving_mean"].size
    weights = {"gamma": rng.uniform(0.5, 2.0, channels), "beta": rng.normal(size=channels),
               "moving_mean": rng.normal(size=channels), "moving_variance": rng.uniform(0.5, 3.0, channels)}
    return [weights[name] for name in layer.weight_names if name in layer.params]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_batch_normalization_matches_keras(case, training):
    keras = pytest.importorskip("keras")
    case = dict(case)
    rng = np.random.default_rng(0)
    x = rng.normal(size=case.pop("x_shape")) * 3 + 1
    ours = scratch.BatchNormalization(**case, input_shape=x.shape[1:], dtype="float64")
    ours.set_weights(_random_weights(ours, rng))
    theirs = keras.layers.BatchNormalization(**case, dtype="float64")
    theirs.build((None,) + x.shape[1:])
    theirs.set_weights(ours.get_weights())  # Keras's order: [gamma, beta, moving_mean, moving_variance]
    assert [w.name for w in theirs.weights] == [n for n in ours.weight_names if n in ours.params]
    assert [w.name for w in theirs.trainable_weights] == [n for _, n in ours.trainable_pairs()]

    projection = rng.normal(size=x.shape)
    keras_y, keras_grads = keras_values_and_gradients(theirs, x, projection, training=training)

    y = ours.forward(x, training=training)
    np.testing.assert_allclose(y, keras_y, rtol=1e-9, atol=1e-10, err_msg="forward")
    # moving statistics: updated in training (moving * momentum + batch * (1 - momentum)), untouched at inference
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-12, atol=1e-14, err_msg="weights after forward")
    dx = ours.backward(projection)
    np.testing.assert_allclose(dx, keras_grads[0], rtol=1e-8, atol=1e-10, err_msg="d/dx")
    for (_, name), keras_grad in zip(ours.trainable_pairs(), keras_grads[1:]):
        np.testing.assert_allclose(ours.grads[name], keras_grad, rtol=1e-9, atol=1e-10, err_msg=f"d/d{name}")


def test_moving_statistics_follow_keras_over_several_training_steps():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(1)
    batches = [rng.normal(size=(6, 4, 5, 3)) * scale + shift for scale, shift in ((1, 0), (2, 1), (0.5, -3))]
    ours = scratch.BatchNormalization(momentum=0.8, input_shape=(4, 5, 3), dtype="float64")
    theirs = keras.layers.BatchNormalization(momentum=0.8, dtype="float64")
    theirs.build((None, 4, 5, 3))
    mean, variance = np.zeros(3), np.ones(3)
    for batch in batches:
        ours.forward(batch, training=True)
        theirs(batch, training=True)
        mean = 0.8 * mean + 0.2 * batch.mean(axis=(0, 1, 2))
        variance = 0.8 * variance + 0.2 * batch.var(axis=(0, 1, 2))  # the biased variance
        np.testing.assert_allclose(ours.params["moving_mean"], mean, rtol=1e-12)
        np.testing.assert_allclose(ours.params["moving_variance"], variance, rtol=1e-12)
        for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(mine, keras_weight, rtol=1e-12)
    # inference uses the moving statistics, and changes nothing
    before = ours.get_weights()
    x = batches[0][:2]
    expected = (x - mean) / np.sqrt(variance + 1e-3)
    np.testing.assert_allclose(ours.forward(x), expected, rtol=1e-12)
    np.testing.assert_allclose(ours.forward(x), theirs(x, training=False).numpy(), rtol=1e-10, atol=1e-12)
    for old, new in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_sequential_with_batch_normalization_matches_keras_training_step():
    """A whole step in both engines: the optimizer moves gamma and beta, the forward moves the statistics."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(8, 6, 6, 2)), rng.integers(0, 3, 8)
    ours = scratch.Sequential([
        scratch.Conv2D(3, 3, padding="same", use_bias=False, input_shape=(6, 6, 2), seed=0, dtype="float64"),
        scratch.BatchNormalization(momentum=0.9, dtype="float64"), scratch.Activation("relu"),
        scratch.Flatten(), scratch.Dense(3, activation="softmax", seed=1, dtype="float64"),
    ])
    ours.astype(np.float64)
    theirs = keras.Sequential([
        keras.Input((6, 6, 2), dtype="float64"),
        keras.layers.Conv2D(3, 3, padding="same", use_bias=False, dtype="float64"),
        keras.layers.BatchNormalization(momentum=0.9, dtype="float64"), keras.layers.Activation("relu", dtype="float64"),
        keras.layers.Flatten(dtype="float64"), keras.layers.Dense(3, activation="softmax", dtype="float64"),
    ])
    theirs.set_weights(ours.get_weights())
    assert len(ours.get_weights()) == len(theirs.get_weights()) == 7
    assert len(ours.trainable_pairs()) == len(theirs.trainable_weights) == 5  # kernel, gamma, beta, kernel, bias
    assert_sgd_steps_match_keras(ours, theirs, x, y, learning_rate=0.5, steps=2)


def test_summary_counts_the_moving_statistics_as_non_trainable():
    model = scratch.Sequential([scratch.Dense(4, input_shape=(3,)), scratch.BatchNormalization()])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 32" in lines[0] and "Trainable params: 24" in lines[0]
    assert "Non-trainable params: 8" in lines[0]


# -------------------------------------------------------------------------- gradient checks

GRADIENT_CASES = [
    ("nhwc", dict(), (4, 3, 3, 2)),
    ("features", dict(), (6, 4)),
    ("no_center", dict(center=False), (5, 3)),
    ("no_scale", dict(scale=False, epsilon=0.1), (3, 2, 4, 3)),
    ("axis1", dict(axis=1), (3, 4, 2)),
]


@pytest.mark.parametrize("training", [True, False], ids=["training", "inference"])
@pytest.mark.parametrize("name, options, x_shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_batch_normalization_gradient_check(name, options, x_shape, training):
    rng = np.random.default_rng(3)
    layer = scratch.BatchNormalization(**options, input_shape=x_shape[1:])
    layer.astype(np.float64).set_weights(_random_weights(layer, rng))
    x = rng.normal(size=x_shape) * 2 + 1
    # In training, dx is the gradient minus its projections on 1 and x_hat: its norm is small,
    # so a step of 1e-6 is dominated by rounding; 1e-4 gives ~1e-7 (truncation error is O(h^2)).
    errors = scratch.check_layer_gradients(layer, x, training=training, h=1e-4)
    assert set(errors) == {"x", *layer.params}
    for key, error in errors.items():
        assert error < 1e-6, f"{name}: d/d{key} relative error {error:.2e}"


def test_training_gradient_is_zero_for_the_moving_statistics_and_they_never_reach_the_optimizer():
    layer = scratch.BatchNormalization(input_shape=(3,))
    layer.forward(np.random.default_rng(4).normal(size=(5, 3)), training=True)
    layer.backward(np.ones((5, 3)))
    np.testing.assert_array_equal(layer.grads["moving_mean"], 0)
    assert [name for _, name in layer.trainable_pairs()] == ["gamma", "beta"]
    np.testing.assert_allclose(layer.grads["beta"], 5)


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("options, error, message", [
    (dict(momentum=1.5), ValueError, r"momentum must be in \[0.0, 1.0\], got 1.5"),
    (dict(momentum="high"), TypeError, "momentum must be a float, got str"),
    (dict(epsilon=0.0), ValueError, "epsilon must be positive"),
    (dict(epsilon=-1e-3), ValueError, r"epsilon must be in \[0.0, inf\), got -0.001"),
    (dict(axis=1.0), TypeError, "axis must be an int"),
    (dict(axis=0, input_shape=(4, 4, 3)), ValueError, r"axis=0 must name a non-batch axis of x of rank 4"),
    (dict(axis=4, input_shape=(4, 4, 3)), ValueError, r"axis=4 must name a non-batch axis"),
])
def test_bad_batch_normalization_arguments(options, error, message):
    with pytest.raises(error, match=message):
        scratch.BatchNormalization(**options)


def test_batch_normalization_rejects_bad_input_and_changes_nothing():
    layer = scratch.BatchNormalization(input_shape=(4, 4, 3))
    before = layer.get_weights()
    with pytest.raises(ValueError, match=r"x must have shape \(batch,\) \+ \(4, 4, 3\) \(3 channels on axis -1\), "
                                         r"got \(batch,\) \+ \(4, 4, 2\)"):
        layer.forward(np.zeros((2, 4, 4, 2)), training=True)
    x = np.zeros((2, 4, 4, 3))
    x[1, 2, 2, 0] = np.nan
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        layer.forward(x, training=True)
    with pytest.raises(ValueError, match=r"weight 'moving_variance' must have shape \(3,\), got \(2,\)"):
        layer.set_weights([np.ones(3), np.zeros(3), np.zeros(3), np.ones(2)])
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("training", [True, False])
def test_the_public_pair_is_what_the_layer_computes(training):
    from cnncourse.scratch import batch_normalization_backward, batch_normalization_forward, batch_statistics

    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 3, 3, 5))
    dy = rng.normal(size=x.shape)
    layer = scratch.BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    layer.forward(x, training=False)  # builds the weights
    layer.params["gamma"][...] = rng.normal(size=5)
    layer.params["beta"][...] = rng.normal(size=5)
    mean, variance = batch_statistics(x) if training else (layer.params["moving_mean"].copy(), layer.params["moving_variance"].copy())
    y, cache = batch_normalization_forward(x, mean, variance, layer.params["gamma"], layer.params["beta"], 1e-3, -1, training)
    assert isinstance(cache, dict) and cache["training"] is training  # a dict cache, as every pair's
    dx, dgamma, dbeta, _, _ = batch_normalization_backward(dy, cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by batch_normalization_forward"):
        batch_normalization_backward(dy, tuple(cache.values()))
    np.testing.assert_allclose(layer.forward(x, training=training), y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dy), dx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["gamma"], dgamma, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.grads["beta"], dbeta, rtol=1e-12, atol=1e-12)
