"""Residual of cnncourse.scratch: y = x + block(x) against Keras's functional ``Add``, gradient checks, bad input."""

import numpy as np
import pytest
from conftest import assert_sgd_steps_match_keras, keras_values_and_gradients

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _residual_cases(count, seed):
    """Random NHWC shapes and block depths (1-3 convolutions, 'same' padding, optional BatchNormalization)."""
    rng = np.random.default_rng(seed)
    return [dict(x_shape=(int(rng.integers(1, 4)), int(rng.integers(3, 8)), int(rng.integers(3, 8)), int(rng.integers(1, 5))),
                 kernel=int(rng.choice([1, 3])), depth=1 + index % 3, batch_norm=bool(index % 2),
                 activation=("relu", "tanh", None)[index % 3]) for index in range(count)]


def _blocks(case, seed=0):
    """The same block in both engines: [Conv2D, (BatchNormalization), (Activation)] * depth."""
    keras = pytest.importorskip("keras")
    channels = case["x_shape"][-1]
    ours, theirs = [], []
    for index in range(case["depth"]):
        ours.append(scratch.Conv2D(channels, case["kernel"], padding="same", seed=seed + index))
        theirs.append(keras.layers.Conv2D(channels, case["kernel"], padding="same", dtype="float64"))
        if case["batch_norm"]:
            ours.append(scratch.BatchNormalization(momentum=0.9))
            theirs.append(keras.layers.BatchNormalization(momentum=0.9, dtype="float64"))
        if case["activation"] and index < case["depth"] - 1:
            ours.append(scratch.Activation(case["activation"]))
            theirs.append(keras.layers.Activation(case["activation"], dtype="float64"))
    return ours, theirs


def _keras_residual(keras_layers, shape):
    """The functional-API twin: outputs = Add()([inputs, f(inputs)])."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input(shape, dtype="float64")
    h = inputs
    for layer in keras_layers:
        h = layer(h)
    return keras.Model(inputs, keras.layers.Add(dtype="float64")([inputs, h]))


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("case", _residual_cases(6, seed=31), ids=lambda c: (
    f"x{c['x_shape']}-k{c['kernel']}-d{c['depth']}-bn{c['batch_norm']}-{c['activation']}").replace(" ", ""))
def test_residual_matches_keras_add(case, training):
    pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    x = rng.normal(size=case["x_shape"])
    block, keras_block = _blocks(case)
    ours = scratch.Residual(block, input_shape=x.shape[1:]).astype(np.float64)
    # random biases and statistics, so that every weight matters
    ours.set_weights([w + rng.uniform(0.1, 0.5, w.shape) if "moving_variance" in name or "gamma" in name
                      else w + 0.1 * rng.normal(size=w.shape) for name, w in zip(ours.weight_names, ours.get_weights())])
    theirs = _keras_residual(keras_block, x.shape[1:])
    theirs.set_weights(ours.get_weights())
    assert len(theirs.trainable_weights) == len(ours.trainable_pairs())

    projection = rng.normal(size=x.shape)
    keras_y, keras_grads = keras_values_and_gradients(theirs, x, projection, training=training)

    y = ours.forward(x, training=training)
    np.testing.assert_allclose(y, keras_y, rtol=1e-9, atol=1e-10, err_msg="forward")
    dx = ours.backward(projection)
    np.testing.assert_allclose(dx, keras_grads[0], rtol=1e-8, atol=1e-10, err_msg="d/dx")
    for (layer, name), keras_grad in zip(ours.trainable_pairs(), keras_grads[1:]):
        np.testing.assert_allclose(layer.grads[name], keras_grad, rtol=1e-8, atol=1e-10, err_msg=f"d/d{layer.name}.{name}")
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):  # moving statistics included
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-12, atol=1e-14)


def test_sequential_with_residual_blocks_matches_a_keras_functional_model_over_sgd_steps():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 6, 6, 1)), rng.integers(0, 2, 6)
    ours = scratch.Sequential([
        scratch.Conv2D(4, 3, padding="same", activation="relu", input_shape=(6, 6, 1), seed=0),
        scratch.Residual([scratch.Conv2D(4, 3, padding="same", seed=1), scratch.BatchNormalization(),
                          scratch.Activation("relu"), scratch.Conv2D(4, 3, padding="same", seed=2)]),
        scratch.Activation("relu"),
        scratch.Residual([scratch.Conv2D(4, 1, seed=3)]),
        scratch.Flatten(), scratch.Dense(2, activation="softmax", seed=4),
    ]).astype(np.float64)
    layers = keras.layers
    inputs = keras.Input((6, 6, 1), dtype="float64")
    h = layers.Conv2D(4, 3, padding="same", activation="relu", dtype="float64")(inputs)
    f = layers.Conv2D(4, 3, padding="same", dtype="float64")(h)
    f = layers.BatchNormalization(dtype="float64")(f)
    f = layers.Activation("relu", dtype="float64")(f)
    f = layers.Conv2D(4, 3, padding="same", dtype="float64")(f)
    h = layers.Activation("relu", dtype="float64")(layers.Add(dtype="float64")([h, f]))
    h = layers.Add(dtype="float64")([h, layers.Conv2D(4, 1, dtype="float64")(h)])
    outputs = layers.Dense(2, activation="softmax", dtype="float64")(layers.Flatten(dtype="float64")(h))
    theirs = keras.Model(inputs, outputs)
    theirs.set_weights(ours.get_weights())
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]

    # a learning rate exact in float32, so both engines take the same steps
    assert_sgd_steps_match_keras(ours, theirs, x, y, learning_rate=0.25, steps=3)


# -------------------------------------------------------------------------- gradient checks

GRADIENT_CASES = [
    ("conv_tanh_conv", lambda: scratch.Residual([scratch.Conv2D(3, 3, padding="same", activation="tanh", seed=0),
                                                 scratch.Conv2D(3, (1, 3), padding="same", seed=1)]), (2, 5, 4, 3)),
    ("dense_sigmoid", lambda: scratch.Residual([scratch.Dense(4, activation="sigmoid", seed=2)]), (3, 4)),
    ("conv_batchnorm", lambda: scratch.Residual([scratch.Conv2D(2, 3, padding="same", seed=3),
                                                 scratch.BatchNormalization(epsilon=0.1)]), (2, 4, 4, 2)),
    ("nested", lambda: scratch.Residual([scratch.Residual([scratch.Dense(3, activation="tanh", seed=4)]),
                                         scratch.Dense(3, seed=5)]), (2, 3)),
]


@pytest.mark.parametrize("name, make, x_shape", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_residual_gradient_check(name, make, x_shape):
    layer = make()
    errors = scratch.check_layer_gradients(layer, np.random.default_rng(3).normal(size=x_shape))
    assert set(errors) == {"x", *layer.params} and len(errors) > 2
    for key, error in errors.items():
        assert error < 1e-6, f"{name}: d/d{key} relative error {error:.2e}"


def test_model_gradient_check_through_residual_blocks():
    rng = np.random.default_rng(4)
    model = scratch.Sequential([
        scratch.Conv2D(3, 3, padding="same", activation="tanh", input_shape=(5, 5, 2), seed=0),
        scratch.Residual([scratch.Conv2D(3, 3, padding="same", activation="tanh", seed=1),
                          scratch.Conv2D(3, 3, padding="same", seed=2)]),
        scratch.Flatten(), scratch.Dense(3, activation="softmax", seed=3),
    ])
    model.compile(scratch.SGD(), "sparse_categorical_crossentropy")
    errors = scratch.check_model_gradients(model, rng.normal(size=(3, 5, 5, 2)), rng.integers(0, 3, 3))
    assert len(errors) == 1 + 8
    for key, error in errors.items():
        assert error < 1e-6, f"d/d{key} relative error {error:.2e}"


def test_the_skip_path_carries_the_gradient_when_the_block_gives_none():
    block = scratch.Dense(4, seed=0, input_shape=(4,))
    block.set_weights([np.zeros((4, 4)), np.zeros(4)])  # f(x) = 0 and df/dx = 0
    layer = scratch.Residual([block])
    x, dy = np.random.default_rng(5).normal(size=(2, 2, 4))
    np.testing.assert_allclose(layer.forward(x), x, rtol=1e-6)
    np.testing.assert_allclose(layer.backward(dy), dy, rtol=1e-6)  # dx = dy + 0


def test_residual_weights_are_the_blocks_own_arrays():
    conv = scratch.Conv2D(2, 3, padding="same", seed=0)
    batch_norm = scratch.BatchNormalization()
    layer = scratch.Residual([conv, batch_norm], input_shape=(4, 4, 2))
    assert layer.weight_names == (f"{conv.name}.kernel", f"{conv.name}.bias", f"{batch_norm.name}.gamma",
                                  f"{batch_norm.name}.beta", f"{batch_norm.name}.moving_mean",
                                  f"{batch_norm.name}.moving_variance")
    assert layer.params[f"{conv.name}.kernel"] is conv.params["kernel"]
    assert layer.count_params() == 3 * 3 * 2 * 2 + 2 + 4 * 2
    assert [(l.name, n) for l, n in layer.trainable_pairs()] == [
        (conv.name, "kernel"), (conv.name, "bias"), (batch_norm.name, "gamma"), (batch_norm.name, "beta")]
    layer.set_weights([np.ones((3, 3, 2, 2)), np.zeros(2), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)])
    np.testing.assert_array_equal(conv.params["kernel"], 1)
    model = scratch.Sequential([layer])
    assert len(model.trainable_pairs()) == 4


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("make, error, message", [
    (lambda: scratch.Residual(scratch.Dense(3)), TypeError, "block must be a list of layers"),
    (lambda: scratch.Residual([]), ValueError, "block must hold at least one layer"),
    (lambda: scratch.Residual([scratch.Dense(3), "relu"]), TypeError, r"block\[1\] must be a cnncourse.scratch layer, got str"),
    (lambda: scratch.Residual([scratch.Conv2D(8, 3, padding="same")], input_shape=(6, 6, 3)), ValueError,
     r"y = x \+ block\(x\) needs the block to keep the shape, but it maps \(6, 6, 3\) to \(6, 6, 8\)"),
    (lambda: scratch.Residual([scratch.Conv2D(3, 3)], input_shape=(6, 6, 3)), ValueError,
     r"maps \(6, 6, 3\) to \(4, 4, 3\); use padding='same'"),
    (lambda: scratch.Residual([scratch.Dense(3)], input_shape=(4, 4, 3)), ValueError, "expects inputs of rank 2"),
])
def test_bad_residual_blocks(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_bad_block_builds_none_of_its_layers_and_a_built_residual_checks_x():
    first, second = scratch.Conv2D(3, 3, padding="same"), scratch.Conv2D(5, 3, padding="same")
    with pytest.raises(ValueError, match="needs the block to keep the shape"):
        scratch.Residual([first, second], input_shape=(6, 6, 3))
    assert not first.built and not second.built  # validated first, nothing changed
    dense = scratch.Dense(3)
    with pytest.raises(ValueError, match="the same layer object twice"):
        scratch.Residual([dense, dense])
    layer = scratch.Residual([scratch.Dense(3)], input_shape=(3,))
    with pytest.raises(ValueError, match=r"x must have shape \(batch,\) \+ \(3,\), got \(batch,\) \+ \(4,\)"):
        layer.forward(np.zeros((2, 4)))


def test_a_deeper_cnn_with_issue_12s_pieces_trains_with_fit():
    """He initialisation, batch norm, a residual block, AdamW and a cosine schedule, together in fit()."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(64, 8, 8, 1))
    y = (x[:, 2:6, 2:6, 0].mean(axis=(1, 2)) > 0).astype(int)  # is the centre brighter than average?
    model = scratch.Sequential([
        scratch.Conv2D(4, 3, padding="same", use_bias=False, kernel_initializer="he_normal", input_shape=(8, 8, 1), seed=0),
        scratch.BatchNormalization(), scratch.Activation("relu"),
        scratch.Residual([scratch.Conv2D(4, 3, padding="same", kernel_initializer="he_normal", seed=1),
                          scratch.BatchNormalization(), scratch.Activation("relu"),
                          scratch.Conv2D(4, 3, padding="same", kernel_initializer="he_normal", seed=2)]),
        scratch.Activation("relu"), scratch.MaxPooling2D(2), scratch.Flatten(),
        scratch.Dense(2, activation="softmax", seed=3),
    ])
    schedule = scratch.CosineDecay(0.0, decay_steps=24, warmup_target=0.01, warmup_steps=8)
    model.compile(scratch.AdamW(schedule, weight_decay=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    lines = []
    model.summary(print_fn=lines.append)
    assert " (Residual) " in lines[0] and "Non-trainable params: 16" in lines[0]  # 2 BN layers x 2 x 4 channels
    history = model.fit(x, y, epochs=4, batch_size=8, verbose=0, seed=0)
    assert model.optimizer.iterations == 32 and model.optimizer.learning_rate == pytest.approx(0.0, abs=1e-12)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    batch_norm = model.layers[1]
    assert not np.allclose(batch_norm.params["moving_variance"], 1)  # fit moved the statistics


# Add: the merge of a skip connection, keras.layers.Add's twin -------------------------------


@pytest.mark.parametrize("count, shape", [(2, (3, 5)), (3, (2, 4, 4, 3)), (2, (1, 6, 5, 2)), (4, (5,))])
def test_add_matches_keras_add_forward_and_backward(count, shape):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(count * 100 + len(shape))
    inputs = [rng.normal(size=shape) for _ in range(count)]
    upstream = rng.normal(size=shape)  # dL/dy for L = sum(y * upstream)

    add = scratch.Add()
    ours = add(inputs)
    ours_grads = add.backward(upstream)

    theirs, theirs_grads = keras_values_and_gradients(keras.layers.Add(dtype="float64"), inputs, upstream)

    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert len(ours_grads) == len(theirs_grads) == count
    for mine, reference in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)


def test_add_gradient_check_and_inputs_left_alone():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(2, 3, 3, 2)), rng.normal(size=(2, 3, 3, 2))
    a_before, b_before = a.copy(), b.copy()
    upstream = rng.normal(size=a.shape)
    add = scratch.Add()
    add([a, b])
    grad_a, grad_b = add.backward(upstream)
    for array, analytic in ((a, grad_a), (b, grad_b)):
        numeric = scratch.numerical_gradient(lambda: float(np.sum(scratch.Add()([a, b]) * upstream)), array)
        assert scratch.relative_error(analytic, numeric) < 1e-8
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
    grad_a[...] = 0.0  # each input gets its own gradient array
    assert np.abs(grad_b).sum() > 0


def test_residual_is_add_of_x_and_the_block():
    x = np.random.default_rng(6).normal(size=(2, 5, 5, 3)).astype(np.float32)
    block = [scratch.Conv2D(3, 3, padding="same", seed=1), scratch.Activation("relu")]
    residual = scratch.Residual(block)
    h = x
    for layer in block:
        h = layer(h)
    np.testing.assert_allclose(residual(x), scratch.Add()([x, h]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("inputs, error, message", [
    (np.zeros((2, 3)), TypeError, r"inputs must be a list of arrays"),
    ([np.zeros((2, 3))], ValueError, r"at least 2 arrays"),
    ([np.zeros((2, 3)), np.zeros((2, 4))], ValueError, r"inputs\[1\] has shape \(2, 4\)"),
    ([np.zeros((2, 3)), np.array([["a"] * 3] * 2)], TypeError, r"inputs\[1\] must hold real numbers"),
    ([np.zeros((2, 3)), np.full((2, 3), np.nan)], ValueError, r"inputs\[1\] contains 6 NaN"),
])
def test_bad_add_inputs(inputs, error, message):
    with pytest.raises(error, match=message):
        scratch.Add()(inputs)


def test_add_backward_before_forward_and_bad_name():
    with pytest.raises(ValueError, match="call forward before backward"):
        scratch.Add().backward(np.zeros(3))
    with pytest.raises(TypeError, match="name must be a str"):
        scratch.Add(name=3)
