"""3-D convolution from scratch: loops == im2col, float64 parity with keras.layers.Conv3D (forward and
tf.GradientTape gradients), gradient checks, the layer inside Sequential, and clear errors."""

import numpy as np
import pytest
from conftest import keras_values_and_gradients

from cnncourse import scratch
from cnncourse.scratch import Conv3D, conv3d, conv3d_backward, conv3d_forward, conv3d_naive
from cnncourse.scratch.gradcheck import check_layer_gradients, numerical_gradient, relative_error

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid"]


def _cases(count, seed):
    """Random Conv3D configurations: odd sizes, non-cubic kernels, strides 1-2, valid/same, 1-3 channels."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        dhw = tuple(int(v) for v in rng.integers(3, 8, size=3))
        kernel = tuple(int(v) for v in rng.integers(1, 4, size=3))
        padding = ("valid", "same")[len(cases) % 2]
        if padding == "valid" and any(k > n for k, n in zip(kernel, dhw)):
            continue
        cases.append(dict(x_shape=(int(rng.integers(1, 3)),) + dhw + (int(rng.integers(1, 4)),),
                          filters=int(rng.integers(1, 4)), kernel_size=kernel,
                          strides=tuple(int(v) for v in rng.integers(1, 3, size=3)), padding=padding,
                          activation=ACTIVATIONS[len(cases) % len(ACTIVATIONS)]))
    return cases


CASES = _cases(8, seed=3)


def _ids(case):
    return f"x{case['x_shape']}-k{case['kernel_size']}-s{case['strides']}-{case['padding']}".replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_vectorised_equals_naive(case):
    rng = np.random.default_rng(0)
    x = rng.normal(size=case["x_shape"])
    kernel = rng.normal(size=case["kernel_size"] + (case["x_shape"][-1], case["filters"]))
    bias = rng.normal(size=case["filters"])
    expected = conv3d_naive(x, kernel, bias, case["strides"], case["padding"])
    np.testing.assert_allclose(conv3d(x, kernel, bias, case["strides"], case["padding"]), expected, rtol=1e-12, atol=1e-12)


def test_same_padding_follows_tensorflow_and_the_formula_by_hand():
    # One 1-channel volume 2×2×2 of ones, a 2×2×2 kernel of ones, "same": TensorFlow pads 0 before, 1 after,
    # so the voxel (0, 0, 0) sees all 8 ones, (1, 1, 1) only itself.
    y = conv3d(np.ones((1, 2, 2, 2, 1)), np.ones((2, 2, 2, 1, 1)), padding="same")
    assert y.shape == (1, 2, 2, 2, 1)
    np.testing.assert_array_equal(y[0, :, :, :, 0], [[[8, 4], [4, 2]], [[4, 2], [2, 1]]])
    # "valid" with stride 2 on 5 voxels: floor((5 - 3) / 2) + 1 = 2 positions per axis
    assert conv3d(np.zeros((1, 5, 5, 5, 2)), np.zeros((3, 3, 3, 2, 4)), strides=2).shape == (1, 2, 2, 2, 4)


@pytest.mark.parametrize("case", CASES[:4], ids=_ids)
def test_backward_passes_a_gradient_check(case):
    rng = np.random.default_rng(1)
    x = rng.normal(size=case["x_shape"])
    kernel = rng.normal(size=case["kernel_size"] + (case["x_shape"][-1], case["filters"]))
    bias = rng.normal(size=case["filters"])
    y, cache = conv3d_forward(x, kernel, bias, case["strides"], case["padding"])
    projection = rng.normal(size=y.shape)
    dx, dkernel, dbias = conv3d_backward(projection, cache)
    assert dx.shape == x.shape and dkernel.shape == kernel.shape and dbias.shape == bias.shape

    def loss():  # the vectorised forward (equal to the loops, tested above) keeps the check quick
        return float(np.sum(conv3d(x, kernel, bias, case["strides"], case["padding"]) * projection))

    for analytic, array in ((dx, x), (dkernel, kernel), (dbias, bias)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-8


def test_the_layer_s_first_layer_shortcut_equals_the_taught_backward():
    layer = Conv3D(3, (2, 3, 2), strides=(1, 2, 1), padding="same", seed=0)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 4, 5, 3, 2))
    dy = rng.normal(size=layer.forward(x).shape)
    dx = layer.backward(dy)
    full = {name: grad.copy() for name, grad in layer.grads.items()}
    assert layer.backward(dy, need_input_gradient=False) is None
    for name in ("kernel", "bias"):
        np.testing.assert_array_equal(layer.grads[name], full[name])
    _, cache = conv3d_forward(x, layer.params["kernel"], layer.params["bias"], (1, 2, 1), "same")
    expected = conv3d_backward(dy, cache)
    np.testing.assert_allclose(dx, expected[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(full["kernel"], expected[1], rtol=1e-5, atol=1e-5)


def test_layer_gradient_check():
    layer = Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same", activation="tanh", seed=0)
    errors = check_layer_gradients(layer, np.random.default_rng(2).normal(size=(2, 4, 5, 3, 2)))
    assert set(errors) == {"x", "kernel", "bias"} and max(errors.values()) < 1e-7, errors


# ---- Keras parity (float64) ----


@pytest.fixture(scope="module")
def keras_tf():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    return keras, tf


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_conv3d_layer_matches_keras(keras_tf, case):
    keras, _ = keras_tf
    case = dict(case)
    x = np.random.default_rng(0).normal(size=case.pop("x_shape"))
    ours = Conv3D(seed=0, **case).astype(np.float64)
    y = ours.forward(x)
    theirs = keras.layers.Conv3D(dtype="float64", **case)
    theirs.build((None,) + x.shape[1:])
    theirs.set_weights(ours.get_weights())
    projection = np.random.default_rng(1).normal(size=y.shape)
    keras_y, (keras_dx, keras_dkernel, keras_dbias) = keras_values_and_gradients(theirs, x, projection)
    np.testing.assert_allclose(y, keras_y, rtol=1e-9, atol=1e-10, err_msg="forward")
    dx = ours.backward(projection)
    np.testing.assert_allclose(dx, keras_dx, rtol=1e-9, atol=1e-10, err_msg="d/dx")
    np.testing.assert_allclose(ours.grads["kernel"], keras_dkernel, rtol=1e-9, atol=1e-10, err_msg="d/dkernel")
    np.testing.assert_allclose(ours.grads["bias"], keras_dbias, rtol=1e-9, atol=1e-10, err_msg="d/dbias")
    assert ours.output_shape == tuple(theirs.compute_output_shape((None,) + x.shape[1:])[1:])


def _keras_model_gradients(keras, tf, model, x, y):
    loss_fn = keras.losses.BinaryCrossentropy(dtype=x.dtype.name)
    x_variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        prediction = model(x_variable)
        loss = loss_fn(y.reshape(-1, 1), prediction)
    grads = tape.gradient(loss, [x_variable] + model.trainable_weights)
    return float(loss), [g.numpy() for g in grads]


@pytest.mark.parametrize("with_pooling", [False, True], ids=["conv-dense-float64", "conv-pool-dense-float32"])
def test_a_tiny_3d_model_in_sequential_matches_keras(keras_tf, with_pooling):
    """Conv3D -> (MaxPooling3D) -> Flatten -> Dense inside Sequential: loss, weight and input gradients.

    TensorFlow has no float64 MaxPool3D, so the model with pooling is compared in float32."""
    keras, tf = keras_tf
    dtype = np.float32 if with_pooling else np.float64
    rtol, atol = (2e-5, 2e-6) if with_pooling else (1e-9, 1e-11)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 6, 6, 6, 1)).astype(dtype)
    y = np.array([0, 1, 1])
    layers = [scratch.Conv3D(3, 3, activation="relu", padding="same", input_shape=(6, 6, 6, 1), seed=0)]
    keras_layers = [keras.Input((6, 6, 6, 1), dtype=dtype), keras.layers.Conv3D(3, 3, activation="relu", padding="same", dtype=dtype)]
    if with_pooling:
        layers.append(scratch.MaxPooling3D(2))
        keras_layers.append(keras.layers.MaxPooling3D(2, dtype=dtype))
    layers += [scratch.Flatten(), scratch.Dense(1, activation="sigmoid", seed=1)]
    keras_layers += [keras.layers.Flatten(dtype=dtype), keras.layers.Dense(1, activation="sigmoid", dtype=dtype)]
    ours = scratch.Sequential(layers)
    ours.compile(optimizer=scratch.SGD(0.1), loss="binary_crossentropy")
    ours.astype(dtype)
    theirs = keras.Sequential(keras_layers)
    theirs.set_weights(ours.get_weights())
    loss, grads, dx = ours.compute_gradients(x, y, training=False, return_input_gradient=True)
    keras_loss, keras_grads = _keras_model_gradients(keras, tf, theirs, x, y)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs(x).numpy(), rtol=rtol, atol=atol)
    assert loss == pytest.approx(keras_loss, rel=rtol)
    np.testing.assert_allclose(dx, keras_grads[0], rtol=rtol, atol=atol)
    assert len(grads) == len(keras_grads) - 1 == 4
    for ours_grad, keras_grad in zip(grads, keras_grads[1:]):
        np.testing.assert_allclose(ours_grad, keras_grad, rtol=rtol, atol=atol)
    assert ours.layers[0].output_shape == (6, 6, 6, 3)


def test_a_3d_model_trains_and_its_gradients_check():
    model = scratch.Sequential([scratch.Conv3D(2, 2, activation="tanh", input_shape=(4, 4, 4, 1), seed=0),
                                scratch.MaxPooling3D(2, padding="same"), scratch.Flatten(),
                                scratch.Dense(1, activation="sigmoid", seed=1)])
    model.compile(optimizer=scratch.SGD(0.5), loss="binary_crossentropy")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 4, 4, 4, 1))
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype(int)
    errors = scratch.check_model_gradients(model, x[:4], y[:4])
    assert max(errors.values()) < 1e-6, errors
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    before, after = (v[0] if isinstance(v, (list, tuple)) else v for v in (before, after))
    assert after < before


# ---- bad input ----


@pytest.mark.parametrize("x, kernel, kwargs, error, words", [
    (np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 2, 1, 1)), {}, ValueError, "x must have rank 5 (batch, depth, height, width, channels)"),
    (np.zeros((1, 4, 4, 4, 2)), np.zeros((2, 2, 2, 1, 1)), {}, ValueError, "channel mismatch"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 1, 1)), {}, ValueError, "kernel must have rank 5"),
    (np.zeros((1, 2, 4, 4, 1)), np.zeros((3, 2, 2, 1, 1)), {}, ValueError, "kernel (3, 2, 2) is larger than the padded input (2, 4, 4)"),
    (np.full((1, 4, 4, 4, 1), np.nan), np.zeros((2, 2, 2, 1, 1)), {}, ValueError, "x contains 64 NaN"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 2, 1, 3)), {"bias": np.zeros(2)}, ValueError, "bias must have shape (3,)"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 2, 1, 1)), {"strides": (1, 2)}, ValueError, "strides must be an int or a triple"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 2, 1, 1)), {"strides": 0}, ValueError, "strides must be positive"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 2, 1, 1)), {"strides": 1.5}, TypeError, "strides must be an int or a triple of ints"),
    (np.zeros((1, 4, 4, 4, 1)), np.zeros((2, 2, 2, 1, 1)), {"padding": "full"}, ValueError, "padding must be one of"),
    (np.array([[["a"]]]), np.zeros((2, 2, 2, 1, 1)), {}, TypeError, "x must hold numbers"),
])
def test_bad_input_is_a_clear_error(x, kernel, kwargs, error, words):
    for function in (conv3d, conv3d_naive, conv3d_forward):
        with pytest.raises(error) as info:
            function(x, kernel, **kwargs)
        assert words in str(info.value)


def test_backward_checks_its_arguments():
    _, cache = conv3d_forward(np.zeros((1, 3, 3, 3, 1)), np.zeros((2, 2, 2, 1, 2)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2, 2, 2, 2\), got \(1, 2, 2, 2\)"):
        conv3d_backward(np.zeros((1, 2, 2, 2)), cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by conv3d_forward"):
        conv3d_backward(np.zeros((1, 2, 2, 2, 2)), {"cols": 1})


def test_layer_arguments_and_input_are_validated_first():
    with pytest.raises(ValueError, match="filters must be a positive int"):
        Conv3D(0, 3)
    with pytest.raises(ValueError, match="kernel_size must be an int or a triple"):
        Conv3D(2, (3, 3))
    with pytest.raises(ValueError, match="unknown activation|activation"):
        Conv3D(2, 3, activation="swishy")
    layer = Conv3D(2, 3, input_shape=(5, 5, 5, 1))
    assert layer.output_shape == (3, 3, 3, 2) and layer.params["kernel"].shape == (3, 3, 3, 1, 2)
    with pytest.raises(ValueError, match="channel mismatch"):
        layer.forward(np.zeros((1, 5, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"rank 5 \(batch, depth, height, width, channels\)"):
        layer.forward(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match="must have 4 dimensions"):
        Conv3D(2, 3, input_shape=(5, 5, 1))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.zeros((1, 3, 3, 3, 2)))
    layer.forward(np.zeros((1, 5, 5, 5, 1)))
    with pytest.raises(ValueError, match="dy must have the last output's shape"):
        layer.backward(np.zeros((1, 3, 3, 3, 1)))
    assert Conv3D(1, 1).name.startswith("conv3d")
