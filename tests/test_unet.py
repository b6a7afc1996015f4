"""The U-Net of the segmentation chapter (``cnncourse.models.unet``) and the Keras soft Dice loss."""

import random

import numpy as np
import pytest

from cnncourse import models


@pytest.fixture(scope="module")
def keras():
    from cnncourse.backend import import_keras

    return import_keras()


def _dice_reference(one_hot, probabilities, smooth=1.0):
    """Per-sample soft Dice loss written out in NumPy, ``(N, H, W, K), (N, H, W, K) -> (N,)``."""
    axes = (1, 2)
    intersection = (one_hot * probabilities).sum(axes)
    total = one_hot.sum(axes) + probabilities.sum(axes)
    return 1 - ((2 * intersection + smooth) / (total + smooth)).mean(-1)


# ----------------------------------------------------------------------------- Keras builder


def test_keras_unet_shapes_parameters_and_weight_order(keras):
    model = models.unet("keras", input_shape=(32, 32, 3), num_classes=3, filters=8, depth=2, seed=0)
    assert model.name == "unet"
    assert model.output_shape == (None, 32, 32, 3)
    names = [variable.path for variable in model.weights]
    assert names[:4] == ["enc1_conv1/kernel", "enc1_conv1/bias", "enc1_conv2/kernel", "enc1_conv2/bias"]
    assert names[-2:] == ["probabilities/kernel", "probabilities/bias"]
    assert names.index("dec2_up/kernel") < names.index("dec2_conv1/kernel") < names.index("dec1_up/kernel")
    shapes = [w.shape for w in model.get_weights()]
    assert shapes[0] == (3, 3, 3, 8)                      # three slices as channels
    assert shapes[names.index("dec2_up/kernel")] == (2, 2, 16, 32)  # Conv2DTranspose: (kh, kw, out, in)
    assert shapes[names.index("dec2_conv1/kernel")] == (3, 3, 32, 16)  # 16 upsampled + 16 from the skip
    assert len(shapes) == 2 * (2 * 2 + 2 + 3 * 2 + 1)
    probabilities = np.asarray(model(np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_default_unet_parameter_count(keras):
    # filters 16, depth 2, 1 channel, 3 classes; the same network without skips has fewer decoder inputs.
    assert models.unet("keras").count_params() == 116_787
    no_skip = models.unet("keras", skip_connections=False)
    assert no_skip.name == "unet_no_skip"
    assert no_skip.count_params() == 116_787 - 9 * 32 * 32 - 9 * 16 * 16
    assert not any("concat" in layer.name for layer in no_skip.layers)


def test_seed_fixes_the_weights_and_touches_no_global_state(keras):
    np.random.seed(123)
    random.seed(123)
    before_numpy, before_python = np.random.get_state()[1].copy(), random.getstate()
    first = models.unet("keras", input_shape=(16, 16, 1), filters=4, seed=7).get_weights()
    second = models.unet("keras", input_shape=(16, 16, 1), filters=4, seed=7).get_weights()
    other = models.unet("keras", input_shape=(16, 16, 1), filters=4, seed=8).get_weights()
    np.testing.assert_array_equal(np.random.get_state()[1], before_numpy)
    assert random.getstate() == before_python
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert not np.array_equal(first[0], other[0])
    # one stream per layer: enc1_conv2 and dec1_conv2 have the same shape but not the same initial kernel
    assert first[2].shape == first[22].shape and not np.array_equal(first[2], first[22])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"engine": "torch"}, ValueError, "engine"),
        ({"input_shape": (64, 64)}, ValueError, "input_shape"),
        ({"input_shape": (60, 64, 1), "depth": 3}, ValueError, "divisible by 2\\*\\*depth = 8"),
        ({"num_classes": 1}, ValueError, "num_classes"),
        ({"filters": 0}, ValueError, "filters"),
        ({"depth": 0}, ValueError, "depth"),
        ({"filters": 2.5}, TypeError, "filters"),
        ({"skip_connections": "yes"}, TypeError, "skip_connections"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        models.unet(**kwargs)


# ----------------------------------------------------------------------------- Keras Dice loss


def test_soft_dice_loss_matches_the_formula_for_every_label_form(keras):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (2, 6, 5))
    labels[1] = np.where(labels[1] == 2, 0, labels[1])  # class 2 absent from the second sample
    probabilities = rng.dirichlet(np.ones(3), size=(2, 6, 5))
    one_hot = np.eye(3)[labels]
    expected = _dice_reference(one_hot, probabilities)
    for y_true in (one_hot, labels, labels[..., None]):
        got = np.asarray(models.soft_dice_loss(y_true, probabilities))
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    # a perfect prediction has loss 0, whatever the smoothing
    np.testing.assert_allclose(np.asarray(models.soft_dice_loss(labels, one_hot, smooth=1e-3)), 0.0, atol=1e-12)
    # binary: one sigmoid channel and a {0, 1} mask
    mask, foreground = (labels == 1)[..., None].astype(float), probabilities[..., 1:2]
    np.testing.assert_allclose(np.asarray(models.soft_dice_loss(mask, foreground)),
                               _dice_reference(mask, foreground), rtol=1e-12)


def test_dice_loss_with_crossentropy_and_in_compile(keras):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, (2, 8, 8))
    probabilities = rng.dirichlet(np.ones(3), size=(2, 8, 8))
    crossentropy = -np.log(np.take_along_axis(probabilities, labels[..., None], -1))[..., 0].mean((1, 2))
    combined = models.dice_loss(cross_entropy=0.5)
    np.testing.assert_allclose(np.asarray(combined(labels, probabilities)),
                               _dice_reference(np.eye(3)[labels], probabilities) + 0.5 * crossentropy, rtol=1e-6)
    with pytest.raises(ValueError, match="smooth"):
        models.dice_loss(smooth=0)
    with pytest.raises(ValueError, match="cross_entropy"):
        models.dice_loss(cross_entropy=-1)
    # usable in compile/fit with sparse labels (N, H, W); the loss goes down on one batch
    model = models.unet("keras", input_shape=(16, 16, 1), filters=4, depth=1, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=models.dice_loss(cross_entropy=1.0))
    x = rng.random((4, 16, 16, 1), dtype=np.float32)
    y = (x[..., 0] > 0.5).astype("int32") + (x[..., 0] > 0.8)
    losses = model.fit(x, y, epochs=15, batch_size=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
