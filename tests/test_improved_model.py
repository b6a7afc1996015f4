"""The improved model and its chest X-ray augmentation."""

import numpy as np
import pytest

from cnncourse.augment import chest_xray_augmentation
from cnncourse.backend import import_keras
from cnncourse.models import improved_cnn

keras = import_keras()


def test_improved_cnn_shapes_and_parameters():
    model = improved_cnn(seed=0)
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in model.layers}
    assert shapes["block1_relu"] == (28, 28, 32)
    assert shapes["block2_relu"] == (14, 14, 64)
    assert shapes["last_conv_relu"] == (7, 7, 128)
    assert shapes["probabilities"] == (2,)
    convolutions = 3 * 3 * 1 * 32 + 3 * 3 * 32 * 64 + 3 * 3 * 64 * 128  # no biases: batch norm has them
    batch_norm = 4 * (32 + 64 + 128)  # gamma, beta, moving mean, moving variance
    assert model.count_params() == convolutions + batch_norm + 128 * 2 + 2
    probabilities = model.predict(np.zeros((3, 28, 28, 1), "float32"), verbose=0)
    assert probabilities.shape == (3, 2) and np.allclose(probabilities.sum(1), 1, atol=1e-5)


def test_improved_cnn_is_reproducible_and_has_no_flip():
    first, second = improved_cnn(seed=3), improved_cnn(seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))
    kinds = {type(layer).__name__ for layer in first.get_layer("augmentation").layers}
    assert kinds == {"RandomTranslation"} and "RandomFlip" not in kinds
    assert "augmentation" not in [layer.name for layer in improved_cnn(augment=False).layers]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"filters": ()}, "filters"),
        ({"dropout": 1.0}, "dropout"),
        ({"batchnorm_momentum": 1.0}, "batchnorm_momentum"),
        ({"rotation": 0.5}, "rotation"),
        ({"interpolation": "cubic"}, "interpolation"),
    ],
)
def test_improved_cnn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        improved_cnn(**kwargs)


def test_augmentation_shifts_whole_pixels_only_in_training():
    images = np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1)).astype("float32")
    augmentation = chest_xray_augmentation(translation=0.1, seed=0)
    assert np.array_equal(augmentation(images, training=False).numpy(), images)
    shifted = augmentation(images, training=True).numpy()
    assert shifted.shape == images.shape and not np.array_equal(shifted, images)
    # Nearest-neighbour interpolation copies pixel values: no new (blurred) values appear.
    assert np.isin(shifted, images).all()
    blurred = chest_xray_augmentation(0.0, rotation=0.05, interpolation="bilinear", seed=0)(images, training=True).numpy()
    assert not np.isin(blurred, images).all()


def test_augmentation_needs_one_transformation():
    with pytest.raises(ValueError, match="at least one"):
        chest_xray_augmentation(translation=0.0)
