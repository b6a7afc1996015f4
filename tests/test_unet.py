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
    losses = model.fit(x, y, epochs=10, batch_size=4, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


# ----------------------------------------------------------------------------- NumPy engine

from cnncourse import scratch  # noqa: E402
from cnncourse.scratch.dice import SoftDiceLoss  # noqa: E402

SMALL = dict(input_shape=(16, 16, 2), num_classes=3, filters=4, depth=2)


def _pair(skip_connections=True, **kwargs):
    """A float64 Keras U-Net and a NumPy one holding the Keras weights."""
    arguments = {**SMALL, **kwargs}
    keras_model = models.unet("keras", skip_connections=skip_connections, seed=0, dtype="float64", **arguments)
    scratch_model = models.unet("scratch", skip_connections=skip_connections, seed=1, dtype="float64", **arguments)
    scratch_model.set_weights(keras_model.get_weights())
    return keras_model, scratch_model


def _batch(seed=0, n=3, shape=SMALL["input_shape"]):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + shape)
    return x, (x[..., 0] > 0.3).astype(int) + (x[..., -1] > 0.8)  # labels 0, 1, 2 that depend on x


def _keras_loss(name):
    if name == "dice":
        return models.soft_dice_loss
    from cnncourse.backend import import_keras

    return import_keras().losses.sparse_categorical_crossentropy


def _keras_gradients(model, x, y, loss):
    import tensorflow as tf

    x_variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(_keras_loss(loss)(y, model(x_variable)))
    grads = tape.gradient(value, [x_variable] + model.trainable_variables)
    return float(value), [g.numpy() for g in grads]


def test_scratch_unet_has_keras_shapes_names_and_parameter_counts(keras):
    for kwargs in ({}, {"skip_connections": False}, {"input_shape": (32, 32, 3), "depth": 3, "filters": 2}):
        keras_model = models.unet("keras", **kwargs)
        scratch_model = models.unet("scratch", **kwargs)
        assert scratch_model.count_params() == keras_model.count_params()
        assert [w.shape for w in scratch_model.get_weights()] == [w.shape for w in keras_model.get_weights()]
        assert list(scratch_model.params) == [v.path for v in keras_model.weights]
        assert scratch_model.name == keras_model.name and scratch_model.output_shape == keras_model.output_shape[1:]
    assert models.unet("scratch").count_params() == 116_787
    assert models.unet("scratch", seed=3).get_weights()[0].dtype == np.float32
    np.testing.assert_array_equal(models.unet("scratch", seed=3).get_weights()[6],
                                  models.unet("scratch", seed=3).get_weights()[6])


@pytest.mark.parametrize("skip_connections", [True, False])
def test_same_weights_give_the_same_output(keras, skip_connections):
    keras_model, scratch_model = _pair(skip_connections)
    x, _ = _batch()
    y = scratch_model.forward(x)
    np.testing.assert_allclose(y, keras_model(x).numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(scratch_model.predict(x, batch_size=2), y, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("skip_connections, loss", [(True, "dice"), (True, "crossentropy"), (False, "dice")])
def test_same_weights_give_the_same_gradients(keras, skip_connections, loss):
    keras_model, scratch_model = _pair(skip_connections)
    x, y = _batch(1)
    scratch_model.compile("sgd", SoftDiceLoss() if loss == "dice" else "sparse_categorical_crossentropy")
    value, grads, dx = scratch_model.compute_gradients(x, y, return_input_gradient=True)
    keras_value, keras_grads = _keras_gradients(keras_model, x, y, loss)
    assert value == pytest.approx(keras_value, rel=1e-12)
    assert len(grads) == len(keras_grads) - 1
    for name, ours, theirs in zip(["x"] + list(scratch_model.params), [dx] + grads, keras_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12 * np.abs(theirs).max(), err_msg=name)


@pytest.mark.parametrize("optimizer, loss", [("adam", "dice"), ("sgd", "crossentropy")])
def test_training_steps_from_the_same_weights_stay_together(keras, optimizer, loss):
    import tensorflow as tf

    keras_model, scratch_model = _pair()
    if optimizer == "adam":
        # Keras casts the learning rate and the betas through float32 (see test_scratch_keras_parity):
        # values float32 holds exactly keep the comparison at float64 precision.
        settings = dict(learning_rate=2.0 ** -7, beta_1=0.875, beta_2=1 - 2.0 ** -10)
        ours, theirs = scratch.Adam(**settings), keras.optimizers.Adam(**settings)
    else:
        ours, theirs = scratch.SGD(0.5, momentum=0.875), keras.optimizers.SGD(0.5, momentum=0.875)
    scratch_model.compile(ours, SoftDiceLoss() if loss == "dice" else "sparse_categorical_crossentropy")
    losses = []
    for step in range(4):
        x, y = _batch(10 + step, n=2)
        losses.append(scratch_model.train_step(x, y))
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(_keras_loss(loss)(y, keras_model(x)))
        theirs.apply_gradients(zip(tape.gradient(value, keras_model.trainable_variables), keras_model.trainable_variables))
        assert losses[-1] == pytest.approx(float(value), rel=1e-9)
    for name, a, b in zip(scratch_model.params, scratch_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=name)
    assert not np.allclose(scratch_model.get_weights()[0], _pair()[1].get_weights()[0])  # the steps moved the weights


def test_gradient_check_through_the_skip_connections():
    model = models.unet("scratch", input_shape=(8, 8, 1), num_classes=2, filters=2, depth=1, seed=4)
    model.compile("sgd", SoftDiceLoss())
    x, y = _batch(2, n=2, shape=(8, 8, 1))
    errors = scratch.check_model_gradients(model, x, y % 2, max_entries=12)
    assert max(errors.values()) < 1e-6, errors


def test_fit_lowers_the_loss_and_touches_no_global_state():
    model = models.unet("scratch", input_shape=(8, 8, 1), num_classes=2, filters=4, depth=1, seed=5)
    model.compile(scratch.Adam(0.02), "sparse_categorical_crossentropy")
    x, y = _batch(3, n=8, shape=(8, 8, 1))
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    history = model.fit(x, y % 2, epochs=8, batch_size=4, seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


def test_scratch_unet_bad_input():
    model = models.unet("scratch", input_shape=(8, 8, 2), filters=2, depth=1, seed=0)
    x, y = _batch(0, n=2, shape=(8, 8, 2))
    with pytest.raises(ValueError, match="x must have rank 4"):
        model.forward(x[0])
    with pytest.raises(ValueError, match="x must have shape \\(batch,\\) \\+ \\(8, 8, 2\\), got \\(2, 8, 8, 1\\)"):
        model.forward(x[..., :1])
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        model.forward(np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x))
    with pytest.raises(RuntimeError, match="call compile"):
        model.train_step(x, y)
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="y: y_true labels must be in \\[0, 2\\]"):
        model.train_step(x, y + 3)
    with pytest.raises(ValueError, match="y must hold one target per image"):
        model.train_step(x, y[:1])
    before = model.get_weights()
    bad = [w.copy() for w in before]
    bad[-1] = np.zeros(5)
    with pytest.raises(ValueError, match="probabilities/bias must have shape \\(3,\\)"):
        model.set_weights(bad)
    with pytest.raises(ValueError, match="expected 16 weight arrays, got 15"):
        model.set_weights(before[:-1])
    bad[-1], bad[0] = before[-1], np.full_like(before[0], np.nan)
    with pytest.raises(ValueError, match="enc1_conv1/kernel contains"):
        model.set_weights(bad)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before))  # nothing was written
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 4"):
        models.unet("scratch", input_shape=(6, 8, 1))


def test_backward_summary_and_float32_agreement(keras):
    keras_model = models.unet("keras", input_shape=(8, 8, 1), filters=2, depth=1, seed=0)
    model = models.unet("scratch", input_shape=(8, 8, 1), filters=2, depth=1)
    model.set_weights(keras_model.get_weights())
    x, _ = _batch(4, n=2, shape=(8, 8, 1))
    y = model.forward(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, keras_model(x.astype(np.float32)).numpy(), rtol=1e-4, atol=1e-6)
    dx = model.backward(np.ones_like(y))
    assert dx.shape == x.shape and np.abs(dx).max() < 1e-4  # softmax outputs sum to 1: a constant dy has no effect
    assert model.backward(np.ones_like(y), need_input_gradient=False) is None
    with pytest.raises(ValueError, match="dy must have the last output's shape \\(2, 8, 8, 3\\)"):
        model.backward(np.ones((2, 8, 8, 2)))
    lines = []
    model.summary(print_fn=lines.append)
    assert "dec1_up" in lines[0] and f"Total params: {keras_model.count_params():,}" in lines[0]
