"""Grad-CAM: shapes, range, and a model whose evidence is known."""

import numpy as np
import pytest

from cnncourse.backend import import_keras
from cnncourse.gradcam import find_last_conv_layer, gradcam

keras = import_keras()


def _brightness_model():
    """Class 1's logit grows with the mean of a ReLU'd 1x1 'identity' convolution of the image."""
    inputs = keras.Input((12, 12, 1))
    features = keras.layers.Conv2D(1, 1, activation="relu", name="conv")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(2, activation="softmax")(pooled)
    model = keras.Model(inputs, outputs)
    model.get_layer("conv").set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros(1, "float32")])
    model.layers[-1].set_weights([np.array([[-1.0, 1.0]], "float32"), np.zeros(2, "float32")])
    return model


def test_map_follows_the_known_evidence():
    image = np.zeros((12, 12, 1), "float32")
    image[2:4, 8:10] = 1.0  # a bright "lesion" top right
    image[9, 1] = 0.3  # a fainter spot bottom left
    heat = gradcam(_brightness_model(), image, class_index=1)
    assert heat.shape == (12, 12) and heat.dtype == np.float32
    assert heat.max() == pytest.approx(1.0) and heat.min() >= 0
    row, col = np.unravel_index(np.argmax(heat), heat.shape)
    assert 2 <= row <= 3 and 8 <= col <= 9
    assert heat[9, 1] == pytest.approx(0.3, abs=0.05)
    # For class 0 the evidence is negative everywhere: ReLU leaves an all-zero map.
    assert np.all(gradcam(_brightness_model(), image, class_index=0) == 0)


def test_batch_shapes_and_range_on_a_sequential_model():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="c1"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(4, 3, activation="relu", name="c2"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    images = np.random.default_rng(0).uniform(0, 1, (5, 16, 16, 1)).astype("float32")
    assert find_last_conv_layer(model) == "c2"
    heat = gradcam(model, images)
    assert heat.shape == (5, 16, 16) and np.all((heat >= 0) & (heat <= 1))
    assert gradcam(model, images, class_index=[0, 1, 2, 0, 1], layer_name="c1").shape == (5, 16, 16)


def test_improved_cnn_default_layer():
    from cnncourse.models import improved_cnn

    model = improved_cnn(seed=0)
    assert find_last_conv_layer(model) == "last_conv_relu"
    heat = gradcam(model, np.random.default_rng(1).uniform(0, 1, (2, 28, 28, 1)))
    assert heat.shape == (2, 28, 28) and np.all((heat >= 0) & (heat <= 1))


def test_bad_input():
    model = _brightness_model()
    with pytest.raises(ValueError, match="shape"):
        gradcam(model, np.zeros((12, 12)))
    with pytest.raises(ValueError, match="shape"):
        gradcam(model, np.zeros((1, 10, 10, 1)))
    with pytest.raises(ValueError, match="NaN"):
        gradcam(model, np.full((1, 12, 12, 1), np.nan))
    with pytest.raises(ValueError, match="empty batch"):
        gradcam(model, np.zeros((0, 12, 12, 1)))
    with pytest.raises(ValueError, match="class_index"):
        gradcam(model, np.zeros((1, 12, 12, 1)), class_index=5)
    with pytest.raises(ValueError, match="no layer"):
        dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        find_last_conv_layer(dense_only)
    with pytest.raises(ValueError):
        gradcam(model, np.zeros((1, 12, 12, 1)), layer_name="nonexistent")
