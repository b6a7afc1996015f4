"""Layers of cnncourse.scratch: gradient checks in float64, building, weights, bad input."""

import numpy as np
import pytest

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

SMOOTH = 1e-6  # relative error allowed for smooth operations
KINKED = 1e-4  # where ReLU or max has a kink (a kink close to a sample point can cost accuracy)


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


LAYER_CASES = [
    ("conv_valid_tanh", lambda: scratch.Conv2D(3, (2, 3), strides=(1, 2), activation="tanh", seed=0), (2, 7, 8, 2), SMOOTH),
    ("conv_same_stride3", lambda: scratch.Conv2D(2, 3, strides=3, padding="same", seed=1), (2, 7, 5, 3), SMOOTH),
    ("conv_relu", lambda: scratch.Conv2D(4, (3, 1), activation="relu", seed=2), (2, 6, 5, 2), KINKED),
    ("conv_sigmoid_nobias", lambda: scratch.Conv2D(2, 2, activation="sigmoid", use_bias=False, seed=3), (1, 4, 4, 2), SMOOTH),
    ("maxpool", lambda: scratch.MaxPooling2D(2), (2, 7, 6, 3), KINKED),
    ("maxpool_overlap_same", lambda: scratch.MaxPooling2D(3, strides=2, padding="same"), (2, 7, 6, 2), KINKED),
    ("avgpool_same", lambda: scratch.AveragePooling2D((2, 3), strides=(1, 2), padding="same"), (2, 5, 7, 2), SMOOTH),
    ("flatten", lambda: scratch.Flatten(), (3, 2, 3, 2), SMOOTH),
    ("dense_linear", lambda: scratch.Dense(5, seed=4), (4, 6), SMOOTH),
    ("dense_relu", lambda: scratch.Dense(5, activation="relu", seed=5), (4, 6), KINKED),
    ("dense_softmax", lambda: scratch.Dense(3, activation="softmax", seed=6), (4, 6), SMOOTH),
    ("dropout_inference", lambda: scratch.Dropout(0.5, seed=0), (3, 4), SMOOTH),
] + [(f"activation_{name}", (lambda name=name: scratch.Activation(name)), (4, 5), KINKED if name == "relu" else SMOOTH)
     for name in ("relu", "sigmoid", "tanh", "softmax", "linear")]


@pytest.mark.parametrize("name, make, x_shape, threshold", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_gradient_check(name, make, x_shape, threshold):
    errors = scratch.check_layer_gradients(make(), _x(x_shape))
    assert errors, "nothing was checked"
    for key, error in errors.items():
        assert error < threshold, f"{name}: d/d{key} relative error {error:.2e} >= {threshold:.0e}"


def test_softmax_backward_is_the_jacobian_vector_product():
    z = _x((3, 4))
    y = scratch.softmax(z)
    dy = _x((3, 4), seed=1)
    jacobians = [np.diag(row) - np.outer(row, row) for row in y]
    expected = np.stack([jac @ d for jac, d in zip(jacobians, dy)])
    np.testing.assert_allclose(scratch.activations.softmax_backward(dy, y), expected, rtol=1e-12)


def test_activations_are_stable_for_large_inputs():
    z = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        np.testing.assert_allclose(scratch.sigmoid(z), [[0.0, 0.5, 1.0]])
        np.testing.assert_allclose(scratch.softmax(z), [[0.0, 0.0, 1.0]])


def test_dropout_training_scales_survivors_and_inference_is_identity():
    layer = scratch.Dropout(0.25, seed=0)
    x = np.ones((200, 50), np.float32)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)  # same mask, same scale
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    again = scratch.Dropout(0.25, seed=0).forward(x, training=True)
    np.testing.assert_array_equal(again, y)  # seeded


def test_layers_build_on_first_forward_and_from_input_shape():
    layer = scratch.Conv2D(8, 3)
    assert not layer.built and layer.params == {}
    y = layer.forward(np.zeros((2, 10, 9, 3), np.float32))
    assert layer.built and y.shape == (2, 8, 7, 8)
    assert layer.params["kernel"].shape == (3, 3, 3, 8) and layer.params["bias"].shape == (8,)
    built = scratch.Conv2D(8, 3, input_shape=(10, 9, 3))
    assert built.built and built.output_shape == (8, 7, 8)
    assert [w.shape for w in built.get_weights()] == [(3, 3, 3, 8), (8,)]
    assert built.count_params() == 3 * 3 * 3 * 8 + 8


def test_glorot_uniform_default_initialisation_is_seedable():
    a = scratch.Dense(300, input_shape=(200,), seed=7)
    b = scratch.Dense(300, input_shape=(200,), seed=7)
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    limit = np.sqrt(6 / (200 + 300))
    kernel = a.params["kernel"]
    assert kernel.dtype == np.float32 and np.abs(kernel).max() <= limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.01 * limit  # U(-a, a) has std a / sqrt(3)
    np.testing.assert_array_equal(a.params["bias"], 0)
    conv = scratch.Conv2D(64, 3, input_shape=(8, 8, 32), seed=0)
    conv_limit = np.sqrt(6 / (9 * 32 + 9 * 64))  # fans include the receptive field
    assert np.abs(conv.params["kernel"]).max() <= conv_limit < np.abs(conv.params["kernel"]).max() * 1.01


def test_set_weights_copies_in_place_and_checks_shapes():
    layer = scratch.Dense(2, input_shape=(3,))
    kernel = layer.params["kernel"]
    layer.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert layer.params["kernel"] is kernel and np.all(kernel == 1)
    with pytest.raises(ValueError, match=r"weight 'kernel' must have shape \(3, 2\), got \(2, 3\)"):
        layer.set_weights([np.ones((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"expected 2 weight arrays \['kernel', 'bias'\], got 1"):
        layer.set_weights([np.ones((3, 2))])


def test_backward_does_not_change_params_or_the_callers_arrays():
    layer = scratch.Dense(3, activation="relu", input_shape=(4,), seed=0)
    before = layer.get_weights()
    x = _x((5, 4)).astype(np.float32)
    x_copy = x.copy()
    y = layer.forward(x)
    dy = np.ones_like(y)
    layer.backward(dy)
    np.testing.assert_array_equal(dy, 1)
    np.testing.assert_array_equal(x, x_copy)
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)
    relu = scratch.Activation("relu")
    relu.forward(x)
    np.testing.assert_array_equal(x, x_copy)


# ------------------------------------------------------------------------------ bad input


def test_conv_layer_rejects_channel_mismatch_after_build():
    layer = scratch.Conv2D(4, 3, input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"channel mismatch: the kernel \(3, 3, 1, 4\) expects 1 input channels"):
        layer.forward(np.zeros((2, 8, 8, 3)))


def test_layers_reject_wrong_rank():
    with pytest.raises(ValueError, match=r"x must have rank 4 \(batch, height, width, channels\), got rank 3"):
        scratch.Conv2D(4, 3).forward(np.zeros((28, 28, 1)))
    with pytest.raises(ValueError, match=r"x must have rank 2 \(batch, features\); put a Flatten layer before Dense"):
        scratch.Dense(4).forward(np.zeros((2, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"input_shape must have 3 dimensions"):
        scratch.MaxPooling2D(2, input_shape=(28, 28))


def test_dense_rejects_feature_mismatch():
    layer = scratch.Dense(4, input_shape=(10,))
    with pytest.raises(ValueError, match=r"x must have 10 features, shape \(batch, 10\), got \(batch, 12\)"):
        layer.forward(np.zeros((2, 12)))


def test_layer_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"kernel_size \(5, 5\) is larger than the padded input \(3, 3\)"):
        scratch.Conv2D(1, 5, input_shape=(3, 3, 1))


@pytest.mark.parametrize("make, message", [
    (lambda: scratch.Activation("swish"), r"activation must be one of \['linear', 'relu', 'sigmoid', 'softmax', 'tanh'\] or None, got 'swish'"),
    (lambda: scratch.Dense(4, activation="gelu"), "activation must be one of"),
    (lambda: scratch.Conv2D(4, 3, padding="full"), r"padding must be one of \('valid', 'same'\), got 'full'"),
    (lambda: scratch.Dropout(1.0), r"rate must be in \[0, 1\), got 1.0"),
    (lambda: scratch.Conv2D(0, 3), "filters must be a positive int, got 0"),
    (lambda: scratch.Dense(-2), "units must be a positive int, got -2"),
    (lambda: scratch.MaxPooling2D(pool_size=(2, 0)), r"pool_size must be positive, got \(2, 0\)"),
])
def test_bad_constructor_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_argument_types():
    with pytest.raises(TypeError, match="filters must be a positive int, got float 3.5"):
        scratch.Conv2D(3.5, 3)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        scratch.Conv2D(3, "3x3")


def test_layer_rejects_nan_input():
    x = np.zeros((1, 6))
    x[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"dense\w*: x contains 1 NaN or infinite value"):
        scratch.Dense(2).forward(x)


def test_backward_checks_dy_shape():
    layer = scratch.Dense(2, input_shape=(3,))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.zeros((4, 2)))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"dy must have the last output's shape \(4, 2\), got \(4, 3\)"):
        layer.backward(np.zeros((4, 3)))
