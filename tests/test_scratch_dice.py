"""The soft Dice loss of the NumPy engine against the Keras one (``models.soft_dice_loss``), in float64."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from cnncourse import models, scratch  # noqa: E402
from cnncourse.scratch.dice import SoftDiceLoss  # noqa: E402


def _case(seed, shape=(3, 5, 4), classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, shape)
    labels[0] = np.minimum(labels[0], classes - 2)  # the last class absent from the first sample
    return labels, rng.dirichlet(np.ones(classes), size=shape)


def _keras_loss_and_gradient(y_true, y_pred, smooth):
    variable = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(models.soft_dice_loss(y_true, variable, smooth))  # Keras's batch mean
    return float(loss), tape.gradient(loss, variable).numpy()


@pytest.mark.parametrize("smooth", [1.0, 1e-3])
@pytest.mark.parametrize("form", ["one-hot", "sparse", "sparse with a channel axis"])
def test_multiclass_matches_keras(form, smooth):
    labels, probabilities = _case(0)
    y_true = {"one-hot": np.eye(3)[labels], "sparse": labels, "sparse with a channel axis": labels[..., None]}[form]
    loss = SoftDiceLoss(smooth)
    keras_loss, keras_gradient = _keras_loss_and_gradient(y_true, probabilities, smooth)
    assert loss(y_true, probabilities) == pytest.approx(keras_loss, rel=1e-12)
    np.testing.assert_allclose(loss.gradient(y_true, probabilities), keras_gradient, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(loss.per_sample(y_true, probabilities),
                               np.asarray(models.soft_dice_loss(y_true, probabilities, smooth)), rtol=1e-12)


def test_binary_matches_keras_for_both_mask_shapes():
    rng = np.random.default_rng(1)
    mask = (rng.random((2, 6, 6)) > 0.7).astype(float)
    probabilities = rng.random((2, 6, 6, 1))
    loss = SoftDiceLoss()
    keras_loss, keras_gradient = _keras_loss_and_gradient(mask[..., None], probabilities, 1.0)
    for y_true in (mask, mask[..., None]):
        assert loss(y_true, probabilities) == pytest.approx(keras_loss, rel=1e-12)
        np.testing.assert_allclose(loss.gradient(y_true, probabilities), keras_gradient, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("form", ["sparse", "one-hot", "binary"])
def test_dice_plus_crossentropy_matches_keras(form):
    labels, probabilities = _case(4)
    if form == "binary":
        labels, probabilities = (labels == 1).astype(float)[..., None], probabilities[..., 1:2]
    elif form == "one-hot":
        labels = np.eye(3)[labels]
    variable = tf.Variable(probabilities)
    with tf.GradientTape() as tape:
        keras_loss = tf.reduce_mean(models.dice_loss(cross_entropy=0.5)(labels, variable))
    loss = SoftDiceLoss(cross_entropy=0.5)
    assert loss(labels, probabilities) == pytest.approx(float(keras_loss), rel=1e-12)
    np.testing.assert_allclose(loss.gradient(labels, probabilities), tape.gradient(keras_loss, variable).numpy(),
                               rtol=1e-10, atol=1e-14)
    assert loss(labels, probabilities) > SoftDiceLoss()(labels, probabilities)
    assert scratch.check_loss_gradient(loss, labels, probabilities) < 1e-8


def test_dice_values_by_hand():
    # A 1x5x5 mask of 4 pixels and a prediction covering 2 of them plus 2 others: Dice 2*2/(4+4) = 0.5.
    reference = np.zeros((1, 5, 5))
    reference[0, 1:3, 1:3] = 1
    prediction = np.zeros((1, 5, 5, 1))
    prediction[0, 1:3, 2:4, 0] = 1
    loss = SoftDiceLoss(smooth=1e-9)
    assert loss.dice(reference, prediction)[0, 0] == pytest.approx(0.5)
    assert loss(reference, prediction) == pytest.approx(0.5)
    # a perfect multi-class prediction has loss 0; an absent class in both counts as 1, not 0/0
    labels, _ = _case(2)
    assert SoftDiceLoss()(labels, np.eye(3)[labels]) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(SoftDiceLoss().dice(labels, np.eye(3)[labels])[0, 2], 1.0)


@pytest.mark.parametrize("form", ["sparse", "binary"])
def test_gradient_check(form):
    labels, probabilities = _case(3, shape=(2, 4, 3))
    if form == "binary":
        labels, probabilities = (labels == 1).astype(float), probabilities[..., 1:2]
    for smooth in (1.0, 1e-2):
        assert scratch.check_loss_gradient(SoftDiceLoss(smooth), labels, probabilities) < 1e-8


@pytest.mark.parametrize(
    "y_true, y_pred, error, match",
    [
        (np.zeros((2, 4)), np.full((2, 4), 0.5), ValueError, "y_pred must have shape \\(batch, ..., classes\\)"),
        (np.zeros((2, 4, 5)), np.full((2, 4, 4, 3), 0.3), ValueError, "y_true must be one-hot \\(2, 4, 4, 3\\) or sparse"),
        (np.full((2, 4, 4), 3), np.full((2, 4, 4, 3), 0.3), ValueError, "integers in 0 .. 2"),
        (np.full((2, 4, 4), 0.5), np.full((2, 4, 4, 3), 0.3), ValueError, "integers in 0 .. 2"),
        (np.zeros((2, 4, 4)), np.full((2, 4, 4, 3), np.nan), ValueError, "y_pred contains 96 NaN"),
        (np.full((2, 4, 4), np.nan), np.full((2, 4, 4, 3), 0.3), ValueError, "y_true contains 32 NaN"),
        (np.zeros((2, 4, 4, 2)), np.full((2, 4, 4, 1), 0.3), ValueError, "y_true must be a mask"),
        ("labels", np.full((2, 4, 4, 3), 0.3), TypeError, "y_true must hold numbers"),
    ],
)
def test_bad_input(y_true, y_pred, error, match):
    with pytest.raises(error, match=match):
        SoftDiceLoss()(y_true, y_pred)
    with pytest.raises(error, match=match):
        SoftDiceLoss().gradient(y_true, y_pred)


def test_bad_smooth():
    with pytest.raises(ValueError, match="smooth must be in \\(0.0, inf\\)"):
        SoftDiceLoss(0)
    with pytest.raises(TypeError, match="smooth must be a float"):
        SoftDiceLoss("1")
    with pytest.raises(ValueError, match="cross_entropy must be in \\[0.0, inf\\)"):
        SoftDiceLoss(cross_entropy=-0.5)
