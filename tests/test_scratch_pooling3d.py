"""3-D max pooling from scratch: loops == vectorised, parity with keras.layers.MaxPooling3D (forward and
tf.GradientTape gradients, ties included), a gradient check, the layer, and clear errors.

TensorFlow has no float64 MaxPool3D; the parity runs in float32, where a max and its routed
gradient are exact (no sums), so the comparison is to float32 rounding of the sums where windows overlap."""

import numpy as np
import pytest
from conftest import keras_values_and_gradients

from cnncourse.scratch import MaxPooling3D, max_pool3d, max_pool3d_backward, max_pool3d_forward, max_pool3d_naive
from cnncourse.scratch.gradcheck import check_layer_gradients, numerical_gradient, relative_error

CASES = [
    ((2, 4, 6, 5, 3), 2, None, "valid"),
    ((2, 5, 5, 5, 2), 2, None, "same"),
    ((1, 6, 6, 6, 1), 3, 2, "valid"),
    ((1, 5, 4, 6, 2), (2, 3, 2), (1, 2, 1), "same"),
    ((3, 3, 5, 4, 1), (1, 2, 3), (3, 1, 1), "same"),
]
TF_DIFFERS = CASES[4]


def _id(case):
    return f"x{case[0]}-p{case[1]}-s{case[2]}-{case[3]}".replace(" ", "")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_vectorised_equals_naive(case):
    shape, pool, strides, padding = case
    x = np.random.default_rng(0).normal(size=shape)
    np.testing.assert_array_equal(max_pool3d(x, pool, strides, padding), max_pool3d_naive(x, pool, strides, padding))


def test_a_worked_example():
    x = np.arange(27.0).reshape(1, 3, 3, 3, 1)  # voxel (d, i, j) holds 9d + 3i + j
    y = max_pool3d(x, 2, padding="same")  # 3 -> ceil(3/2) = 2; windows {0,1} and {2}
    np.testing.assert_array_equal(y[0, :, :, :, 0], [[[13, 14], [16, 17]], [[22, 23], [25, 26]]])
    assert max_pool3d(x, 2).shape == (1, 1, 1, 1, 1)  # "valid": one window


@pytest.mark.parametrize("case", CASES[:3], ids=_id)
def test_gradient_check(case):
    shape, pool, strides, padding = case
    x = np.random.default_rng(1).permutation(np.prod(shape)).reshape(shape) / 7.0  # distinct values: no ties
    y, cache = max_pool3d_forward(x, pool, strides, padding)
    projection = np.random.default_rng(2).normal(size=y.shape)
    dx = max_pool3d_backward(projection, cache)
    numeric = numerical_gradient(lambda: float(np.sum(max_pool3d(x, pool, strides, padding) * projection)), x, h=1e-4)
    assert relative_error(dx, numeric) < 1e-9


def test_layer_gradient_check():
    layer = MaxPooling3D((2, 2, 2), strides=1, padding="same")
    x = np.random.default_rng(3).permutation(2 * 3 * 4 * 3 * 2).reshape(2, 3, 4, 3, 2) / 5.0
    errors = check_layer_gradients(layer, x, h=1e-4)
    assert errors["x"] < 1e-9 and set(errors) == {"x"}


@pytest.fixture(scope="module")
def keras_tf():
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    return keras, tf


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_layer_matches_keras(keras_tf, case, ties):
    keras, _ = keras_tf
    shape, pool, strides, padding = case
    rng = np.random.default_rng(4)
    # Ties as after a ReLU: many equal values in a window. TensorFlow's MaxPool3D gradient gives every tied
    # voxel the window's gradient, and so does max_pool3d_backward.
    x = (np.maximum(rng.integers(-2, 2, size=shape), 0) if ties else rng.normal(size=shape)).astype(np.float32)
    ours = MaxPooling3D(pool, strides, padding)
    y = ours.forward(x)
    theirs = keras.layers.MaxPooling3D(pool, strides, padding)
    projection = rng.normal(size=y.shape).astype(np.float32)
    if case is TF_DIFFERS:
        # TensorFlow's own MaxPool3D (Eigen CPU kernel, TF_ENABLE_ONEDNN_OPTS=0 as the course runs it) gets
        # this case wrong, forward and gradient: a depth stride of 3 over a pool depth of 1 with "same".
        # (With oneDNN on, its forward agrees with ours.) The loops and finite differences side with ours.
        np.testing.assert_array_equal(y, max_pool3d_naive(x, pool, strides, padding))
        x64 = x.astype(np.float64)
        numeric = numerical_gradient(lambda: float(np.sum(max_pool3d(x64, pool, strides, padding) * projection)),
                                     x64, h=1e-4)
        if not ties:
            np.testing.assert_allclose(ours.backward(projection), numeric, atol=1e-5)
        return
    keras_y, (keras_dx,) = keras_values_and_gradients(theirs, x, projection)
    np.testing.assert_array_equal(y, keras_y)
    assert ours.output_shape == tuple(keras_y.shape[1:])
    dx = ours.backward(projection)
    np.testing.assert_allclose(dx, keras_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("x, kwargs, error, words", [
    (np.zeros((1, 4, 4, 1)), {}, ValueError, "x must have rank 5 (batch, depth, height, width, channels)"),
    (np.zeros((1, 1, 4, 4, 1)), {"pool_size": 2}, ValueError, "pool_size (2, 2, 2) is larger than the padded input (1, 4, 4)"),
    (np.zeros((1, 4, 4, 4, 1)), {"pool_size": (2, 2)}, ValueError, "pool_size must be an int or a triple"),
    (np.zeros((1, 4, 4, 4, 1)), {"strides": 0}, ValueError, "strides must be positive"),
    (np.zeros((1, 4, 4, 4, 1)), {"padding": "causal"}, ValueError, "padding must be one of"),
    (np.full((1, 2, 2, 2, 1), np.inf), {}, ValueError, "x contains 8 NaN or infinite"),
])
def test_bad_input_is_a_clear_error(x, kwargs, error, words):
    for function in (max_pool3d, max_pool3d_naive, max_pool3d_forward):
        with pytest.raises(error) as info:
            function(x, **kwargs)
        assert words in str(info.value)


def test_backward_and_layer_check_their_arguments():
    _, cache = max_pool3d_forward(np.zeros((1, 4, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2, 2, 2, 1\)"):
        max_pool3d_backward(np.zeros((1, 2, 2, 1)), cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by max_pool3d_forward"):
        max_pool3d_backward(np.zeros((1, 2, 2, 2, 1)), None)
    with pytest.raises(ValueError, match="pool_size must be positive"):
        MaxPooling3D(0)
    layer = MaxPooling3D(input_shape=(4, 6, 8, 2))
    assert layer.output_shape == (2, 3, 4, 2) and layer.strides == (2, 2, 2) and layer.count_params() == 0
    with pytest.raises(ValueError, match=r"rank 5"):
        layer.forward(np.zeros((1, 4, 6, 2)))
