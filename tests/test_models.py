"""cnncourse.models.seed_cnn: the seed's CNN in both engines, with shared weights."""

import numpy as np
import pytest

from cnncourse.models import seed_cnn

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


@pytest.fixture(scope="module")
def seed_cnn_pair():
    """A Keras seed_cnn and a scratch seed_cnn holding the same weights, plus a batch of 16 images."""
    keras_model = seed_cnn("keras", num_classes=2, seed=0)
    scratch_model = seed_cnn("scratch", num_classes=2, seed=0)
    scratch_model.set_weights(keras_model.get_weights())
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(16, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    return keras_model, scratch_model, x, y


def test_both_engines_have_the_same_architecture(seed_cnn_pair):
    keras_model, scratch_model, _, _ = seed_cnn_pair
    assert [w.shape for w in keras_model.get_weights()] == [w.shape for w in scratch_model.get_weights()]
    assert keras_model.count_params() == scratch_model.count_params() == 92_802
    assert [tuple(layer.output.shape[1:]) for layer in keras_model.layers] == [
        layer.output_shape for layer in scratch_model.layers]


def test_scratch_model_is_built_before_any_forward_pass():
    model = seed_cnn("scratch", input_shape=(32, 32, 3), num_classes=10)
    assert model.built and model.get_weights()[0].shape == (3, 3, 3, 32)
    assert model.output_shape == (10,)


def test_predictions_agree(seed_cnn_pair):
    keras_model, scratch_model, x, _ = seed_cnn_pair
    np.testing.assert_allclose(scratch_model.predict(x), keras_model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


def test_gradients_agree_with_gradient_tape():
    # In float64 on both sides: in float32 a pre-activation within ~1e-7 of zero can fall on
    # either side of the ReLU kink, and one flipped unit moves gradients by a few percent.
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        keras_model = seed_cnn("keras", num_classes=2, seed=0)
    finally:
        keras.config.set_dtype_policy(previous)
    assert keras_model.get_weights()[0].dtype == np.float64
    scratch_model = seed_cnn("scratch", num_classes=2, seed=0).astype(np.float64)
    scratch_model.set_weights(keras_model.get_weights())
    rng = np.random.default_rng(0)
    # Inputs that are exact in float32 too, since keras.Input may keep the float32 default.
    x, y = rng.uniform(size=(8, 28, 28, 1)).astype(np.float32).astype(np.float64), rng.integers(0, 2, 8)
    loss = keras.losses.SparseCategoricalCrossentropy(dtype="float64")
    with tf.GradientTape() as tape:
        keras_loss = loss(y, keras_model(x, training=True))
    keras_grads = tape.gradient(keras_loss, keras_model.trainable_weights)
    scratch_model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    probabilities = scratch_model.forward(x, training=True)
    assert scratch_model.loss(y, probabilities) == pytest.approx(float(keras_loss), rel=1e-10)
    scratch_model.backward(scratch_model.loss.gradient(y, probabilities))
    assert len(keras_grads) == len(scratch_model.trainable_pairs()) == 10
    for (layer, name), keras_grad in zip(scratch_model.trainable_pairs(), keras_grads):
        np.testing.assert_allclose(layer.grads[name], keras_grad.numpy(), rtol=1e-7, atol=1e-12,
                                   err_msg=f"{layer.name}.{name}")


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_nesterov", "adam"])
def test_one_training_step_agrees(optimizer):
    keras_model = seed_cnn("keras", num_classes=2, seed=1)
    scratch_model = seed_cnn("scratch", num_classes=2, seed=1)
    scratch_model.set_weights(keras_model.get_weights())
    from cnncourse import scratch

    make = {
        "sgd": (lambda: keras.optimizers.SGD(0.1), lambda: scratch.SGD(0.1)),
        "sgd_nesterov": (lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                         lambda: scratch.SGD(0.1, momentum=0.9, nesterov=True)),
        "adam": (lambda: keras.optimizers.Adam(), lambda: scratch.Adam()),
    }[optimizer]
    keras_model.compile(optimizer=make[0](), loss="sparse_categorical_crossentropy")
    scratch_model.compile(optimizer=make[1](), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(32, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 2, 32)
    keras_loss = keras_model.train_on_batch(x, y)
    scratch_loss = scratch_model.train_on_batch(x, y)
    assert scratch_loss == pytest.approx(float(keras_loss), rel=1e-5)
    for ours, theirs in zip(scratch_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(scratch_model.predict(x), keras_model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("arguments, message", [
    (dict(engine="torch"), r"engine must be one of \('keras', 'scratch'\), got 'torch'"),
    (dict(engine="scratch", input_shape=(28, 28)), r"input_shape must be \(height, width, channels\)"),
    (dict(engine="scratch", num_classes=1), "num_classes must be at least 2, got 1"),
    (dict(engine="keras", head="avg"), r"head must be one of \('flatten', 'gap'\), got 'avg'"),
    (dict(engine="scratch", head="gap"), "head='gap' is built with engine='keras' only"),
    (dict(engine="keras", pool_strides=0), "pool_strides must be"),
])
def test_seed_cnn_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        seed_cnn(**arguments)


def test_gap_head_replaces_flatten_and_keeps_the_body():
    flatten = seed_cnn("keras", num_classes=2, seed=0)
    gap = seed_cnn("keras", num_classes=2, seed=0, head="gap")
    assert gap.name == "seed_cnn_gap" and flatten.name == "seed_cnn"
    kinds = [type(layer).__name__ for layer in gap.layers]
    assert kinds[5] == "GlobalAveragePooling2D" and kinds.count("Flatten") == 0
    assert tuple(gap.layers[5].output.shape[1:]) == (64,)
    # The same seed gives the same convolution body; only the first dense layer's input width differs.
    for ours, theirs in zip(gap.get_weights()[:6], flatten.get_weights()[:6]):
        np.testing.assert_array_equal(ours, theirs)
    assert gap.count_params() == 92_802 - 576 * 64 + 64 * 64


def test_gap_head_does_not_grow_with_the_image():
    counts = {size: seed_cnn("keras", input_shape=(size, size, 1), num_classes=2, head="gap").count_params()
              for size in (28, 64)}
    assert counts[28] == counts[64]


# ------------------------------------------------------------------ seeding: only set_seed seeds

def _global_states():
    """Python's, NumPy's and Keras's global random states, as comparable values."""
    import random

    from keras.src.backend.common import global_state

    state = np.random.get_state()
    generator = global_state.get_global_attribute("global_seed_generator")
    keras_seed = None if generator is None else np.asarray(generator.state.numpy()).tolist()
    return random.getstate(), (state[0], state[1].tolist(), state[2:]), keras_seed


def _builders():
    from cnncourse.models import improved_cnn, medmnist_cnn, unet, volume_cnn

    return {
        "seed_cnn keras": lambda seed: seed_cnn("keras", num_classes=2, seed=seed),
        "seed_cnn scratch": lambda seed: seed_cnn("scratch", num_classes=2, seed=seed),
        "seed_cnn gap": lambda seed: seed_cnn("keras", num_classes=2, seed=seed, head="gap"),
        "improved_cnn": lambda seed: improved_cnn(seed=seed, filters=(4, 8)),
        "medmnist_cnn": lambda seed: medmnist_cnn(seed=seed, filters=(4, 8)),
        "unet": lambda seed: unet("keras", input_shape=(16, 16, 1), filters=4, depth=2, seed=seed),
        "volume_cnn": lambda seed: volume_cnn("3d", size=16, filters=(2, 4), seed=seed),
    }


@pytest.mark.parametrize("name", list(_builders()))
def test_a_builder_does_not_change_the_global_random_state(name):
    import random

    from cnncourse import set_seed

    set_seed(5)
    keras.random.uniform((1,))  # the global Keras generator exists
    before = _global_states()
    _builders()[name](3)
    after = _global_states()
    assert after[0] == before[0], "Python's random state changed"
    assert after[1] == before[1], "NumPy's global random state changed"
    assert after[2] == before[2], "Keras's global seed generator changed"
    # and the next draws are those that set_seed alone gives
    draws = (random.random(), float(np.random.random()), float(keras.random.uniform((1,))[0]))
    set_seed(5)
    keras.random.uniform((1,))
    assert draws == (random.random(), float(np.random.random()), float(keras.random.uniform((1,))[0]))


@pytest.mark.parametrize("name", list(_builders()))
def test_the_same_seed_gives_the_same_initial_weights_and_another_seed_others(name):
    build = _builders()[name]
    first, again, other = build(7).get_weights(), build(7).get_weights(), build(8).get_weights()
    assert len(first) == len(again) == len(other) > 0
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # every randomly initialised weight (not the zero biases or batch-norm's ones) differs with another seed
    random_weights = [(a, c) for a, c in zip(first, other) if np.unique(a).size > 1]
    assert random_weights and all(not np.array_equal(a, c) for a, c in random_weights)


def test_layers_get_different_initialiser_seeds():
    from cnncourse.models import initializer_seeds

    seeds = initializer_seeds(0, 5)
    assert len(set(seeds)) == 5 and all(isinstance(s, int) for s in seeds)
    assert initializer_seeds(0, 5) == seeds and initializer_seeds(None, 3) == [None, None, None]
    # two layers of the same shape get different weights from one seed
    from cnncourse.models import medmnist_cnn

    model = medmnist_cnn(filters=(4,), convs_per_block=3, seed=0)
    kernels = [w for w in model.get_weights() if w.ndim == 4]
    assert kernels[1].shape == kernels[2].shape and not np.allclose(kernels[1], kernels[2])


# sha256 (first 16 hex digits) of the initial weights of seed_cnn, recorded before its two
# per-engine definitions became one layer specification (issue 23): the same seed, the same weights.
RECORDED_WEIGHTS = {
    ("keras", 0, (28, 28, 1), 2, "flatten"): "d1cbd7114b57d43c",
    ("scratch", 0, (28, 28, 1), 2, "flatten"): "c42c53380d1ed935",
    ("scratch", 123, (32, 32, 3), 10, "flatten"): "de13fb9facb6519d",
    ("keras", 7, (64, 64, 1), 2, "gap"): "050160b0b456e78b",
}


@pytest.mark.parametrize("case", list(RECORDED_WEIGHTS))
def test_seed_cnn_initial_weights_are_those_recorded(case):
    import hashlib

    engine, seed, shape, classes, head = case
    digest = hashlib.sha256()
    for weights in seed_cnn(engine, input_shape=shape, num_classes=classes, seed=seed, head=head).get_weights():
        array = np.ascontiguousarray(weights)
        digest.update((str(array.shape) + str(array.dtype)).encode())
        digest.update(array.tobytes())
    assert digest.hexdigest()[:16] == RECORDED_WEIGHTS[case]


def test_seed_cnn_pool_strides_and_the_one_layer_specification():
    from cnncourse.models import seed_cnn_layers

    stride_one = seed_cnn("keras", num_classes=2, seed=0, pool_strides=1)
    assert [tuple(layer.output.shape[1:]) for layer in stride_one.layers][:5] == \
        [(26, 26, 32), (25, 25, 32), (23, 23, 64), (22, 22, 64), (20, 20, 64)]
    scratch_model = seed_cnn("scratch", num_classes=2, seed=0, pool_strides=1)
    assert scratch_model.count_params() == stride_one.count_params()
    kinds = [kind for kind, _ in seed_cnn_layers(2)]
    assert [type(layer).__name__ for layer in seed_cnn("keras", num_classes=2).layers] == kinds
    assert [type(layer).__name__ for layer in seed_cnn("scratch", num_classes=2).layers] == kinds


def test_seed_cnn_twins_start_from_the_same_weights():
    from cnncourse.models import seed_cnn_twins

    keras_model, scratch_model = seed_cnn_twins(num_classes=2, seed=5)
    for ours, theirs in zip(scratch_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert keras_model.optimizer is not None and keras_model.count_params() == 92802


def test_predict_in_batches_equals_predict_and_refuses_bad_input():
    from cnncourse.models import predict_in_batches

    model = seed_cnn("keras", num_classes=2, seed=0)
    x = np.random.default_rng(0).uniform(size=(70, 28, 28, 1)).astype(np.float32)
    expected = model.predict(x, batch_size=32, verbose=0)
    for batch_size in (1, 32, 512):  # a last, shorter batch included
        np.testing.assert_allclose(predict_in_batches(model, x, batch_size), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="empty batch"):
        predict_in_batches(model, x[:0])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict_in_batches(model, x, batch_size=0)
