"""UpSampling2D and Concatenate (the U-Net's upsampling and skip-connection merge) against Keras, in float64."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from conftest import keras_values_and_gradients  # noqa: E402

from cnncourse import scratch  # noqa: E402
from cnncourse.scratch.merge import Concatenate  # noqa: E402
from cnncourse.scratch.upsampling import UpSampling2D, upsampling2d_backward, upsampling2d_forward  # noqa: E402


# ----------------------------------------------------------------------------- UpSampling2D


@pytest.mark.parametrize("x_shape, size", [((2, 3, 4, 2), 2), ((1, 5, 3, 3), (2, 3)), ((3, 2, 2, 1), (1, 2)),
                                           ((1, 4, 4, 2), 3)])
def test_upsampling_matches_keras(x_shape, size):
    rng = np.random.default_rng(0)
    x = rng.normal(size=x_shape)
    y, cache = upsampling2d_forward(x, size)
    projection = rng.normal(size=y.shape)
    keras_y, (keras_dx,) = keras_values_and_gradients(keras.layers.UpSampling2D(size, dtype="float64"), x, projection)
    np.testing.assert_allclose(y, keras_y, rtol=0, atol=0)
    np.testing.assert_allclose(upsampling2d_backward(projection, cache), keras_dx, rtol=1e-12, atol=1e-12)
    layer = UpSampling2D(size, dtype="float64")
    np.testing.assert_array_equal(layer.forward(x), y)
    assert layer.output_shape == y.shape[1:]
    np.testing.assert_allclose(layer.backward(projection), keras_dx, rtol=1e-12, atol=1e-12)


def test_upsampling_by_hand_and_gradient_check():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    y, cache = upsampling2d_forward(x, 2)
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    np.testing.assert_array_equal(upsampling2d_backward(np.ones(y.shape), cache), np.full(x.shape, 4.0))
    errors = scratch.check_layer_gradients(UpSampling2D((2, 3)), np.random.default_rng(1).normal(size=(2, 3, 2, 2)))
    assert errors["x"] < 1e-9, errors


def test_upsampling_bad_input():
    with pytest.raises(ValueError, match="x must have rank 4"):
        upsampling2d_forward(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        upsampling2d_forward(np.where(np.eye(4)[None, :, :, None] > 0.5, np.nan, 0.0)[:, :1])
    with pytest.raises(ValueError, match="size must be positive"):
        upsampling2d_forward(np.zeros((1, 4, 4, 1)), 0)
    with pytest.raises(TypeError, match="size must be an int"):
        UpSampling2D(2.0)
    with pytest.raises(ValueError, match="interpolation must be 'nearest'"):
        UpSampling2D(2, interpolation="bilinear")
    _, cache = upsampling2d_forward(np.zeros((1, 2, 2, 1)))
    with pytest.raises(ValueError, match="dout must have the forward output's shape \\(1, 4, 4, 1\\)"):
        upsampling2d_backward(np.zeros((1, 4, 4, 2)), cache)
    with pytest.raises(ValueError, match="rank 4"):
        UpSampling2D(2).forward(np.zeros((2, 4)))


# ------------------------------------------------------------------------------ Concatenate


@pytest.mark.parametrize("shapes, axis", [([(2, 4, 4, 3), (2, 4, 4, 2)], -1), ([(1, 3, 5, 1), (1, 3, 5, 4), (1, 3, 5, 2)], -1),
                                          ([(2, 3, 4, 2), (2, 5, 4, 2)], 1), ([(2, 6), (2, 1)], 1)])
def test_concatenate_matches_keras(shapes, axis):
    rng = np.random.default_rng(2)
    inputs = [rng.normal(size=shape) for shape in shapes]
    merge = Concatenate(axis=axis)
    y = merge.forward(inputs)
    projection = rng.normal(size=y.shape)
    keras_y, keras_grads = keras_values_and_gradients(keras.layers.Concatenate(axis=axis, dtype="float64"), inputs,
                                                       projection)
    np.testing.assert_array_equal(y, keras_y)
    grads = merge.backward(projection)
    assert len(grads) == len(inputs)
    for ours, theirs, x in zip(grads, keras_grads, inputs):
        assert ours.shape == x.shape
        np.testing.assert_array_equal(ours, theirs)


def test_concatenate_gradient_check():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 3, 3, 2)), rng.normal(size=(2, 3, 3, 3))
    projection = rng.normal(size=(2, 3, 3, 5))
    merge = Concatenate()

    def loss():
        return float(np.sum(merge.forward([a, b]) * projection))

    loss()
    da, db = merge.backward(projection)
    assert scratch.relative_error(da, scratch.numerical_gradient(loss, a)) < 1e-9
    assert scratch.relative_error(db, scratch.numerical_gradient(loss, b)) < 1e-9


@pytest.mark.parametrize(
    "inputs, axis, error, match",
    [
        (np.zeros((2, 3, 3, 1)), -1, TypeError, "inputs must be a list"),
        ([np.zeros((2, 3, 3, 1))], -1, ValueError, "at least 2 arrays"),
        ([np.zeros((2, 3, 3, 1)), np.zeros((2, 4, 3, 1))], -1, ValueError, "agree on every axis but -1"),
        ([np.zeros((2, 3, 3, 1)), np.zeros((3, 3, 3, 1))], -1, ValueError, "inputs\\[1\\] has shape \\(3, 3, 3, 1\\)"),
        ([np.zeros((2, 3, 3, 1)), np.zeros((2, 3, 3))], -1, ValueError, "agree on every axis"),
        ([np.zeros((2, 3, 3, 1)), np.zeros((2, 3, 3, 1))], 0, ValueError, "batch axis"),
        ([np.zeros((2, 3, 3, 1)), np.zeros((2, 3, 3, 1))], 4, ValueError, "out of range"),
        ([np.zeros((2, 3, 3, 1)), np.full((2, 3, 3, 1), np.nan)], -1, ValueError, "inputs\\[1\\] contains 18 NaN"),
        ([np.zeros((2, 3, 3, 1)), np.array([["a"]])], -1, TypeError, "must hold numbers"),
    ],
)
def test_concatenate_bad_input(inputs, axis, error, match):
    with pytest.raises(error, match=match):
        Concatenate(axis=axis).forward(inputs)


def test_concatenate_backward_checks():
    merge = Concatenate()
    with pytest.raises(ValueError, match="call forward before backward"):
        merge.backward(np.zeros((1, 2)))
    merge.forward([np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 2))])
    with pytest.raises(ValueError, match="dy must have the last output's shape \\(1, 2, 2, 3\\)"):
        merge.backward(np.zeros((1, 2, 2, 2)))
    with pytest.raises(TypeError, match="axis must be an int"):
        Concatenate(axis="channels")
