"""Parity of cnncourse.scratch with Keras: same weights, same outputs, same gradients, same steps.

Keras runs in float64 here (``dtype="float64"``), so forward passes and gradients must
agree to ~1e-10; gradients on the Keras side come from ``tf.GradientTape``.
"""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import POOL_CASES, keras_values_and_gradients  # noqa: E402

from cnncourse import scratch  # noqa: E402

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid"]


def _conv_cases(count, seed):
    """Random Conv2D configurations: odd sizes, non-square kernels, strides 1-3, valid/same, 1-5 channels."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        height, width = int(rng.integers(4, 14)), int(rng.integers(4, 14))
        kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        padding = ("valid", "same")[len(cases) % 2]
        if padding == "valid" and (kernel[0] > height or kernel[1] > width):
            continue
        cases.append(dict(
            x_shape=(int(rng.integers(1, 4)), height, width, int(rng.integers(1, 6))),
            filters=int(rng.integers(1, 6)), kernel_size=kernel,
            strides=(int(rng.integers(1, 4)), int(rng.integers(1, 4))), padding=padding,
            activation=ACTIVATIONS[len(cases) % len(ACTIVATIONS)],
        ))
    return cases


def _assert_layer_parity(scratch_layer, keras_layer, x, rtol=1e-9, atol=1e-10):
    scratch_layer.astype(np.float64)
    y = scratch_layer.forward(x)
    keras_layer.build((None,) + x.shape[1:])
    keras_layer.set_weights(scratch_layer.get_weights())
    projection = np.random.default_rng(1).normal(size=y.shape)
    keras_y, keras_grads = keras_values_and_gradients(keras_layer, x, projection)
    np.testing.assert_allclose(y, keras_y, rtol=rtol, atol=atol, err_msg="forward")
    dx = scratch_layer.backward(projection)
    np.testing.assert_allclose(dx, keras_grads[0], rtol=rtol, atol=atol, err_msg="d/dx")
    names = [name for name in scratch_layer.weight_names if name in scratch_layer.params]
    assert len(names) == len(keras_grads) - 1
    for name, keras_grad in zip(names, keras_grads[1:]):
        np.testing.assert_allclose(scratch_layer.grads[name], keras_grad, rtol=rtol, atol=atol, err_msg=f"d/d{name}")


@pytest.mark.parametrize("case", _conv_cases(10, seed=11), ids=lambda c: (
    f"x{c['x_shape']}-k{c['kernel_size']}-s{c['strides']}-{c['padding']}-{c['activation']}").replace(" ", ""))
def test_conv2d_layer_matches_keras(case):
    x = np.random.default_rng(0).normal(size=case.pop("x_shape"))
    _assert_layer_parity(scratch.Conv2D(seed=0, **case), keras.layers.Conv2D(dtype="float64", **case), x)


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "average"])
def test_pooling_layers_match_keras(kind, x_shape, pool_size, strides, padding):
    x = np.random.default_rng(2).normal(size=x_shape)
    scratch_class, keras_class = {
        "max": (scratch.MaxPooling2D, keras.layers.MaxPooling2D),
        "average": (scratch.AveragePooling2D, keras.layers.AveragePooling2D),
    }[kind]
    arguments = dict(pool_size=pool_size, strides=strides, padding=padding)
    _assert_layer_parity(scratch_class(**arguments), keras_class(dtype="float64", **arguments), x)


def test_max_pooling_ties_after_relu_match_keras():
    # Zeros after a ReLU make tied maxima; TensorFlow gives the gradient to the first one.
    x = np.maximum(np.random.default_rng(3).normal(size=(2, 6, 6, 3)), 0)
    x[0, :2, :2, 0] = 0.0
    _assert_layer_parity(scratch.MaxPooling2D(2), keras.layers.MaxPooling2D(2, dtype="float64"), x)
    _assert_layer_parity(scratch.MaxPooling2D(3, strides=1, padding="same"),
                         keras.layers.MaxPooling2D(3, strides=1, padding="same", dtype="float64"), x)


@pytest.mark.parametrize("units, activation", [(1, "sigmoid"), (5, "relu"), (4, "softmax"), (3, "tanh"), (2, None)])
def test_dense_layer_matches_keras(units, activation):
    x = np.random.default_rng(4).normal(size=(6, 7))
    _assert_layer_parity(scratch.Dense(units, activation=activation, seed=1),
                         keras.layers.Dense(units, activation=activation, dtype="float64"), x)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation_layer_matches_keras(name):
    x = np.random.default_rng(5).normal(size=(4, 6)) * 3
    _assert_layer_parity(scratch.Activation(name), keras.layers.Activation(name, dtype="float64"), x)


def test_flatten_and_dropout_inference_match_keras():
    x = np.random.default_rng(6).normal(size=(3, 4, 5, 2))
    _assert_layer_parity(scratch.Flatten(), keras.layers.Flatten(dtype="float64"), x)
    _assert_layer_parity(scratch.Dropout(0.3), keras.layers.Dropout(0.3, dtype="float64"), x)


def test_glorot_uniform_matches_keras_limits():
    keras_layer = keras.layers.Conv2D(64, 3)
    keras_layer.build((None, 10, 10, 32))
    keras_kernel = keras_layer.get_weights()[0]
    ours = scratch.Conv2D(64, 3, input_shape=(10, 10, 32), seed=0).params["kernel"]
    assert ours.dtype == keras_kernel.dtype and ours.shape == keras_kernel.shape
    assert abs(np.abs(ours).max() - np.abs(keras_kernel).max()) < 1e-3
    assert abs(ours.std() - keras_kernel.std()) < 2e-3


# ----------------------------------------------------------------------------------- losses

rng = np.random.default_rng(7)
_labels = rng.integers(0, 4, 8)
_probs = rng.dirichlet(np.ones(4), size=8)
_probs[0] = [1.0, 0.0, 0.0, 0.0]  # exercises Keras's clipping
_labels[0] = 1
LOSS_CASES = [
    ("MeanAbsoluteError", {}, rng.normal(size=(8, 3)), rng.normal(size=(8, 3))),
    ("MeanSquaredError", {}, rng.normal(size=(8, 3)), rng.normal(size=(8, 3))),
    ("BinaryCrossentropy", {}, rng.integers(0, 2, (8, 1)).astype(float), np.r_[[[1.0]], rng.uniform(0.01, 0.99, (7, 1))]),
    ("BinaryCrossentropy", {"from_logits": True}, rng.integers(0, 2, (8, 2)).astype(float), rng.normal(size=(8, 2)) * 4),
    ("CategoricalCrossentropy", {}, np.eye(4)[_labels], _probs),
    ("CategoricalCrossentropy", {}, np.eye(4)[_labels], rng.uniform(0.05, 1, (8, 4))),  # unnormalised rows
    ("CategoricalCrossentropy", {"from_logits": True}, np.eye(4)[_labels], rng.normal(size=(8, 4)) * 4),
    ("SparseCategoricalCrossentropy", {}, _labels, _probs),
    ("SparseCategoricalCrossentropy", {}, _labels, rng.uniform(0.05, 1, (8, 4))),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, _labels, rng.normal(size=(8, 4)) * 4),
]


@pytest.mark.parametrize("name, options, y_true, y_pred", LOSS_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LOSS_CASES)])
def test_losses_and_gradients_match_keras(name, options, y_true, y_pred):
    ours = getattr(scratch, name)(**options)
    theirs = getattr(keras.losses, name)(dtype="float64", **options)
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        keras_value = theirs(tf.constant(y_true), prediction)
    keras_grad = tape.gradient(keras_value, prediction).numpy()
    assert ours(y_true, y_pred) == pytest.approx(float(keras_value), rel=1e-10)
    np.testing.assert_allclose(ours.gradient(y_true, y_pred), keras_grad, rtol=1e-9, atol=1e-14)


# ------------------------------------------------------------------------------- optimizers

OPTIMIZER_CASES = [
    ("SGD", dict(learning_rate=0.1)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9)),
    ("SGD", dict(learning_rate=0.05, momentum=0.8, nesterov=True)),
    ("Adam", dict()),
    ("Adam", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-5)),
]


@pytest.mark.parametrize("name, options", OPTIMIZER_CASES, ids=[f"{n}-{o}" for n, o in OPTIMIZER_CASES])
def test_optimizer_steps_match_keras(name, options):
    rng = np.random.default_rng(8)
    start = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    gradients = [[rng.normal(size=(3, 2)), rng.normal(size=4)] for _ in range(3)]
    theirs = getattr(keras.optimizers, name)(**options)
    # Keras keeps its learning rate in a float32 variable and casts momentum and the betas
    # through float32 even for float64 variables: give ours those same float32 numbers.
    rounded = {key: float(np.float32(value)) if not isinstance(value, bool) else value for key, value in options.items()}
    ours = getattr(scratch, name)(**{**rounded, "learning_rate": float(theirs.learning_rate.numpy())})
    # Adam's bias correction uses the float32 beta_2 but its moment update uses 1 - beta_2 in
    # double precision, an inconsistency of ~1e-5 in sqrt(1 - beta_2): hence Adam's looser rtol.
    rtol = 2e-5 if name == "Adam" else 1e-9
    params = [p.copy() for p in start]
    variables = [keras.Variable(p.copy(), dtype="float64") for p in start]
    for step_gradients in gradients:  # the first step, then two more with the optimizer's state
        ours.apply_gradients(zip(step_gradients, params))
        theirs.apply_gradients([(tf.constant(g), v) for g, v in zip(step_gradients, variables)])
        for p, v, s in zip(params, variables, start):
            np.testing.assert_allclose(p - s, v.numpy() - s, rtol=rtol, atol=1e-15)
    assert ours.iterations == int(theirs.iterations.numpy()) == 3
