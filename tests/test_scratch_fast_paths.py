"""The layers' private fast paths (``scratch.fast``) compute the taught pairs' numbers, and
validation happens once, at the boundary (``fit``/``evaluate``/``predict``, or a layer called directly).

Forward outputs and every gradient are compared with the taught pair the chapters show: exactly in
float64 (the fast paths do the same arithmetic, in the same order), within float32 rounding in float32.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_conv_cases

from cnncourse import scratch
from cnncourse.models import seed_cnn
from cnncourse.scratch import fast
from cnncourse.scratch import layers as layers_module
from cnncourse.scratch.activations import relu_backward
from cnncourse.scratch.conv import col2im, im2col
from cnncourse.scratch.padding import window_geometry

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

CONV_CASES = random_conv_cases(8, seed=23, max_channels=6) + [
    ((4, 13, 13, 32), (3, 3, 32, 8), (1, 1), "valid"),   # the seed CNN's second layer: the strided copy
    ((2, 28, 28, 1), (3, 3, 1, 4), (1, 1), "valid"),     # its first: one channel, the taught loop
    ((2, 9, 8, 5), (3, 2, 5, 3), (2, 2), "same"),
    ((3, 7, 6, 4), (1, 1, 4, 2), (1, 1), "same"),
]
FLOAT32 = {"rtol": 1e-5, "atol": 1e-6}


def _assert_equal(actual, expected, dtype):
    if np.dtype(dtype) == np.float64:
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, **FLOAT32)


@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES)
def test_strided_im2col_is_the_taught_im2col(x_shape, kernel_shape, strides, padding):
    x = np.random.default_rng(0).normal(size=x_shape)
    geometry = window_geometry(x_shape, kernel_shape[:2], strides, padding)
    for dtype in (np.float64, np.float32):
        np.testing.assert_array_equal(fast.im2col(x.astype(dtype), geometry), im2col(x.astype(dtype), geometry))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, kernel_shape, strides, padding", CONV_CASES)
def test_fast_conv2d_pair_equals_the_taught_pair(x_shape, kernel_shape, strides, padding, dtype):
    rng = np.random.default_rng(1)
    x, kernel = rng.normal(size=x_shape).astype(dtype), rng.normal(size=kernel_shape).astype(dtype)
    bias = rng.normal(size=kernel_shape[3]).astype(dtype)
    geometry = window_geometry(x_shape, kernel_shape[:2], strides, padding)
    z, cache = scratch.conv2d_forward(x, kernel, bias, strides, padding)
    fast_z, fast_cache = fast.conv2d_forward(x, kernel, bias, geometry)
    _assert_equal(fast_z, z, dtype)
    relu_y, _ = fast.conv2d_forward(x, kernel, bias, geometry, relu=True)
    _assert_equal(relu_y, scratch.relu(z), dtype)
    dz = rng.normal(size=z.shape).astype(dtype)
    for actual, expected in zip(fast.conv2d_backward(dz, fast_cache), scratch.conv2d_backward(dz, cache)):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        _assert_equal(actual, expected, dtype)
    dx, dkernel, dbias = fast.conv2d_backward(dz, fast_cache, need_dx=False)
    assert dx is None
    _, expected_dkernel, expected_dbias = scratch.conv2d_backward(dz, cache)
    _assert_equal(dkernel, expected_dkernel, dtype)
    _assert_equal(dbias, expected_dbias, dtype)


POOL_CASES = [  # (x shape, pool size): windows that tile the image, odd sizes leave a last row/column out
    ((3, 26, 26, 5), (2, 2)),
    ((2, 11, 11, 4), (2, 2)),
    ((2, 9, 10, 3), (3, 2)),
    ((1, 7, 5, 2), (3, 3)),
    ((2, 4, 6, 1), (1, 2)),
]


def _tied_images(shape, seed):
    """Images full of ties: ReLU zeros and a few repeated integers, the maxima Keras must break."""
    rng = np.random.default_rng(seed)
    return np.maximum(rng.integers(-3, 3, size=shape), 0).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, pool_size", POOL_CASES)
def test_fast_max_pooling_pair_equals_the_taught_pair_ties_included(x_shape, pool_size, dtype):
    geometry = window_geometry(x_shape, pool_size, pool_size, "valid", "pool_size")
    assert fast.tiles(geometry)
    rng = np.random.default_rng(2)
    for x in (rng.normal(size=x_shape), _tied_images(x_shape, 3)):
        x = x.astype(dtype)
        y, cache = scratch.max_pool2d_forward(x, pool_size)
        fast_y, fast_cache = fast.max_pool2d_forward(x, geometry)
        np.testing.assert_array_equal(fast_y, y)
        dy = rng.normal(size=y.shape).astype(dtype)
        dx = fast.max_pool2d_backward(dy, fast_cache)
        np.testing.assert_array_equal(dx, scratch.max_pool2d_backward(dy, cache))  # the same element of each tie
        assert dx.shape == x_shape and dx.dtype == dtype


def test_max_pooling_windows_that_overlap_or_pad_do_not_tile():
    assert not fast.tiles(window_geometry((1, 8, 8, 1), 3, 2, "valid", "pool_size"))
    assert not fast.tiles(window_geometry((1, 7, 7, 1), 2, 2, "same", "pool_size"))
    assert fast.tiles(window_geometry((1, 8, 8, 1), 2, 2, "same", "pool_size"))  # no padding needed


@pytest.mark.parametrize("pool_size, strides, padding", [(2, None, "valid"), (3, 2, "same"), (2, None, "same")])
def test_max_pooling_layer_equals_the_taught_pair(pool_size, strides, padding):
    x = _tied_images((2, 9, 9, 3), 4)
    layer = scratch.MaxPooling2D(pool_size, strides=strides, padding=padding, dtype="float64")
    y = layer.forward(x, training=True)
    expected_y, cache = scratch.max_pool2d_forward(x, pool_size, strides, padding)
    np.testing.assert_array_equal(y, expected_y)
    dy = np.random.default_rng(5).normal(size=y.shape)
    np.testing.assert_array_equal(layer.backward(dy), scratch.max_pool2d_backward(dy, cache))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", None])
@pytest.mark.parametrize("strides, padding", [(1, "valid"), (2, "same"), ((1, 2), "same")])
def test_conv2d_layer_equals_the_taught_pair_and_activation(activation, strides, padding, dtype):
    rng = np.random.default_rng(6)
    layer = scratch.Conv2D(5, (3, 2), strides=strides, padding=padding, activation=activation, seed=0,
                           input_shape=(8, 7, 4), dtype=dtype)
    layer.params["bias"][...] = rng.normal(size=5)  # not zero, so that ReLU cuts at a shifted place
    x = rng.normal(size=(3, 8, 7, 4)).astype(dtype)
    y = layer.forward(x, training=True)
    g = scratch.get_activation(activation)
    z, cache = scratch.conv2d_forward(x, layer.params["kernel"], layer.params["bias"], strides, padding)
    _assert_equal(y, g.forward(z), dtype)
    dy = rng.normal(size=y.shape).astype(dtype)
    dx = layer.backward(dy)
    expected_dx, expected_dkernel, expected_dbias = scratch.conv2d_backward(g.backward(dy, g.forward(z)), cache)
    _assert_equal(dx, expected_dx, dtype)
    _assert_equal(layer.grads["kernel"], expected_dkernel, dtype)
    _assert_equal(layer.grads["bias"], expected_dbias, dtype)


def test_conv2d_layer_takes_other_image_sizes_through_the_taught_pair():
    layer = scratch.Conv2D(2, 3, input_shape=(6, 6, 1), dtype="float64")
    x = np.random.default_rng(7).normal(size=(1, 9, 8, 1))
    y = layer.forward(x)
    np.testing.assert_array_equal(y, scratch.conv2d(x, layer.params["kernel"], layer.params["bias"]))


def test_seed_cnn_training_step_equals_the_taught_pairs_float64():
    # The whole training step through the fast paths against the same model run on the taught pairs.
    rng = np.random.default_rng(8)
    x, y = rng.uniform(size=(6, 28, 28, 1)), rng.integers(0, 2, 6)
    model = seed_cnn("scratch", num_classes=2, seed=0).astype("float64")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    loss, grads = model.compute_gradients(x, y)
    h, caches = x, []
    for layer in model.layers:  # the taught forward pass, layer by layer
        if isinstance(layer, scratch.Conv2D):
            z, cache = scratch.conv2d_forward(h, layer.params["kernel"], layer.params["bias"], 1, "valid")
            h = scratch.relu(z)
        elif isinstance(layer, scratch.MaxPooling2D):
            h, cache = scratch.max_pool2d_forward(h, 2)
        elif isinstance(layer, scratch.Dense):
            z, cache = scratch.dense_forward(h, layer.params["kernel"], layer.params["bias"])
            h = layer.activation.forward(z)
        else:
            cache = h.shape
            h = h.reshape(len(h), -1)
        caches.append((cache, h))
    loss_fn = scratch.SparseCategoricalCrossentropy()
    np.testing.assert_array_equal(model.predict(x), h)  # the forward pass: exactly the taught pairs' numbers
    assert loss == pytest.approx(loss_fn(y, h), rel=1e-12)  # the model takes the loss from the logits
    dh, expected = loss_fn.gradient(y, h), []
    for layer, (cache, out) in zip(reversed(model.layers), reversed(caches)):
        if isinstance(layer, scratch.Conv2D):
            dh, dkernel, dbias = scratch.conv2d_backward(relu_backward(dh, out), cache)
            expected = [dkernel, dbias] + expected
        elif isinstance(layer, scratch.MaxPooling2D):
            dh = scratch.max_pool2d_backward(dh, cache)
        elif isinstance(layer, scratch.Dense):
            dh, dkernel, dbias = scratch.dense_backward(layer.activation.backward(dh, out), cache)
            expected = [dkernel, dbias] + expected
        else:
            dh = dh.reshape(cache)
    assert len(grads) == len(expected) == 10
    for actual, wanted in zip(grads, expected):
        np.testing.assert_allclose(actual, wanted, rtol=1e-9, atol=1e-12)  # the softmax shortcut rounds differently


# ----------------------------------------------------------------- validation once, at the boundary


def test_geometry_is_computed_at_build_not_per_batch(monkeypatch):
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert all(layer._geometry is not None for layer in model.layers if hasattr(layer, "_geometry"))
    calls = []
    original = layers_module.window_geometry
    monkeypatch.setattr(layers_module, "window_geometry", lambda *a, **k: calls.append(a) or original(*a, **k))
    x, y = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)), np.array([0, 1] * 4)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert calls == []


def test_containers_scan_the_data_once_not_per_layer(monkeypatch):
    scans = []
    original = layers_module.check_finite
    monkeypatch.setattr(layers_module, "check_finite", lambda array, name: scans.append(name) or original(array, name))
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)), np.array([0, 1] * 4)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.predict(x)
    assert scans == []
    model.layers[0].forward(x)  # a layer called directly checks its input in full
    assert scans == [f"{model.layers[0].name}: x"]
    scans.clear()
    unet = scratch.UNet(input_shape=(8, 8, 1), num_classes=2, filters=2, depth=1)
    unet.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    unet.fit(np.random.default_rng(1).uniform(size=(2, 8, 8, 1)), np.zeros((2, 8, 8), int), epochs=1, batch_size=2)
    assert scans == []


def test_bad_data_is_refused_at_the_boundary_naming_the_argument():
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)), np.array([0, 1, 0, 1])
    bad = x.copy()
    bad[2, 5, 5, 0] = np.nan
    weights = model.get_weights()
    with pytest.raises(ValueError, match=r"^x contains 1 NaN"):
        model.fit(bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"^x_val contains 1 NaN"):
        model.fit(x, y, validation_data=(bad, y), verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # nothing trained
    with pytest.raises(ValueError, match=r"^x contains 1 NaN"):
        model.predict(bad)
    with pytest.raises(ValueError, match=r"^x contains 1 NaN"):
        model.evaluate(bad, y, verbose=0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch,\) \+ \(28, 28, 1\), got \(4, 27, 28, 1\)"):
        model.fit(x[:, 1:], y, verbose=0)
    conv = model.layers[0]
    with pytest.raises(ValueError, match=rf"^{conv.name}: x contains 1 NaN"):
        conv.forward(bad)
    with pytest.raises(ValueError, match=rf"{conv.name}: channel mismatch"):
        conv.forward(np.zeros((1, 28, 28, 3)))
    with pytest.raises(ValueError, match=rf"{conv.name}: x must have rank 4"):
        conv.forward(np.zeros((28, 28, 1)))


def test_a_nan_born_in_training_stops_it_with_a_clear_error():
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer=scratch.SGD(learning_rate=1e30), loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).uniform(size=(16, 28, 28, 1)), np.array([0, 1] * 8)
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(
            FloatingPointError, match=r"step \d+: the values reaching dense\w* hold NaN or infinity: the "
                                      r"model overflowed on finite inputs \(lower the learning rate\)"):
        model.fit(x, y, epochs=5, batch_size=4, verbose=0)
    assert model.optimizer.iterations >= 1
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(FloatingPointError, match="NaN or infinity"):
        model.predict(x)


# ----------------------------------------------------------------- the training step's private paths


@pytest.mark.parametrize("x_shape, kernel_shape", [((4, 13, 13, 32), (3, 3, 32, 8)), ((2, 7, 6, 5), (3, 2, 5, 3)),
                                                   ((2, 5, 5, 64), (3, 3, 64, 4))])
def test_conv_input_gradient_by_offset_is_col2im_of_dcols(x_shape, kernel_shape):
    rng = np.random.default_rng(9)
    geometry = window_geometry(x_shape, kernel_shape[:2], (1, 1), "valid")
    kernel = rng.normal(size=kernel_shape)
    dout_rows = rng.normal(size=(x_shape[0] * geometry.out_hw[0] * geometry.out_hw[1], kernel_shape[3]))
    expected = col2im(dout_rows @ kernel.reshape(-1, kernel_shape[3]).T, geometry, x_shape)
    np.testing.assert_allclose(fast._col2im_by_offset(dout_rows, kernel, geometry, x_shape), expected,
                               rtol=1e-12, atol=1e-12)  # the same sums, rounded in another order
    actual32 = fast._col2im_by_offset(dout_rows.astype(np.float32), kernel.astype(np.float32), geometry, x_shape)
    assert actual32.dtype == np.float32
    np.testing.assert_allclose(actual32, expected, rtol=1e-4, atol=1e-4)


def test_checked_optimizer_step_equals_the_checked_one_and_an_overflow_changes_nothing():
    rng = np.random.default_rng(10)
    params = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)]
    grads = [rng.normal(size=p.shape).astype(np.float32) for p in params]
    for make in (scratch.SGD, scratch.Adam, scratch.AdamW):
        plain, trusted = make(learning_rate=0.1), make(learning_rate=0.1)
        a, b = [p.copy() for p in params], [p.copy() for p in params]
        for _ in range(3):
            plain.apply_gradients(list(zip(grads, a)))
            trusted.apply_gradients(list(zip(grads, b)), checked=True)
        for left, right in zip(a, b):
            np.testing.assert_array_equal(left, right)
    optimizer = scratch.SGD(learning_rate=1e38)
    before = [p.copy() for p in params]
    huge = [np.full(p.shape, 1e10, np.float32) for p in params]
    with pytest.raises(ValueError, match=r"step 1: the update of parameter 0 .* overflows float32"):
        optimizer.apply_gradients(list(zip(huge, params)), checked=True)
    with pytest.raises(ValueError, match=r"step 1: gradient 1 contains NaN or infinity; nothing was changed"):
        optimizer.apply_gradients([(grads[0], params[0]), (np.full(4, np.nan, np.float32), params[1])], checked=True)
    assert all(np.array_equal(p, q) for p, q in zip(params, before)) and optimizer.iterations == 0


def test_fit_checks_the_loss_arrays_once_per_batch_and_skips_the_pairs_check(monkeypatch):
    losses_module = scratch.SparseCategoricalCrossentropy
    checks, pair_checks = [], []
    original_check = losses_module._check
    monkeypatch.setattr(losses_module, "_check", lambda self, a, b: checks.append(1) or original_check(self, a, b))
    monkeypatch.setattr(scratch.Optimizer, "_check_pairs", staticmethod(lambda pairs: pair_checks.append(1)))
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).uniform(size=(8, 28, 28, 1)), np.array([0, 1] * 4)
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert len(checks) == 1 + 2 and pair_checks == []  # the targets once in full, then one check per batch


@pytest.mark.parametrize("loss", [scratch.SparseCategoricalCrossentropy(from_logits=True), scratch.MeanSquaredError(),
                                  scratch.BinaryCrossentropy(), scratch.CategoricalCrossentropy()])
def test_value_and_gradient_is_the_loss_and_its_gradient(loss):
    rng = np.random.default_rng(11)
    y_pred = rng.uniform(0.05, 0.95, size=(5, 3))
    if isinstance(loss, scratch.SparseCategoricalCrossentropy):
        y_true = rng.integers(0, 3, 5)
    else:
        y_true = (rng.uniform(size=(5, 3)) > 0.5).astype(float)
    value, gradient = loss.value_and_gradient(y_true, y_pred)
    assert value == loss(y_true, y_pred)
    np.testing.assert_array_equal(gradient, loss.gradient(y_true, y_pred))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pooling_through_the_relu_below_is_the_two_backward_passes(dtype):
    x_shape = (2, 10, 10, 3)
    for x in (np.random.default_rng(12).normal(size=x_shape), _tied_images(x_shape, 13) - 1.0):
        relu_y = scratch.relu(x.astype(dtype))  # the ReLU's output, ties and zeros included
        pool = scratch.MaxPooling2D(2, dtype=dtype)
        y = pool.forward(relu_y, training=True)
        dy = np.random.default_rng(14).normal(size=y.shape).astype(dtype)
        np.testing.assert_array_equal(pool.backward_through_relu(dy), relu_backward(pool.backward(dy), relu_y))
    odd = scratch.MaxPooling2D(3, strides=2, dtype=dtype)
    odd.forward(relu_y, training=True)
    assert odd.backward_through_relu(np.zeros((2, 4, 4, 3), dtype)) is None  # windows that overlap: no shortcut
    with pytest.raises(RuntimeError, match="call forward before backward_through_relu"):
        scratch.MaxPooling2D(2).backward_through_relu(np.zeros((1, 2, 2, 1)))
