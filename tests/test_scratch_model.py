"""Sequential of cnncourse.scratch: whole-model gradient checks, training, the Keras-like workflow."""

import numpy as np
import pytest

from cnncourse import scratch
from cnncourse.data import synthetic_lesions
from cnncourse.models import seed_cnn

pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _small_model(seed=0, activation="softmax"):
    return scratch.Sequential([
        scratch.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1), seed=seed),
        scratch.MaxPooling2D(2),
        scratch.Flatten(),
        scratch.Dense(8, activation="tanh", seed=seed + 1),
        scratch.Dense(3, activation=activation, seed=seed + 2),
    ])


def test_seed_cnn_whole_model_gradient_check():
    model = seed_cnn("scratch", num_classes=3, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1))
    errors = scratch.check_model_gradients(model, x, np.array([0, 2]), max_entries=12)
    assert len(errors) == 11  # the input and 10 weight arrays
    for key, error in errors.items():
        assert error < 1e-4, f"d loss / d {key}: relative error {error:.2e}"


@pytest.mark.parametrize("loss, y", [
    ("mean_squared_error", np.eye(3)[[0, 2, 1, 1]]),  # not fused: goes through the softmax Jacobian
    ("categorical_crossentropy", np.eye(3)[[0, 2, 1, 1]]),  # fused with the softmax, from logits
])
def test_small_model_gradient_check(loss, y):
    model = _small_model()
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(1).normal(size=(4, 8, 8, 1))
    for key, error in scratch.check_model_gradients(model, x, y, max_entries=None).items():
        assert error < 1e-4, f"{loss}: d/d{key} relative error {error:.2e}"


def test_fit_learns_synthetic_lesions_and_reports_history(capsys):
    images, labels, _ = synthetic_lesions(96, size=16, seed=0)
    x = images[..., None]
    model = scratch.Sequential([
        scratch.Conv2D(8, 3, activation="relu", input_shape=(16, 16, 1), seed=0),
        scratch.MaxPooling2D(2),
        scratch.Flatten(),
        scratch.Dense(2, activation="softmax", seed=1),
    ])
    model.compile(optimizer=scratch.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:64], labels[:64], epochs=8, batch_size=16, validation_data=(x[64:], labels[64:]),
                        seed=0, verbose=2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 8 and history.epoch == list(range(8))
    assert history.history["loss"][-1] < history.history["loss"][0]
    out = capsys.readouterr().out
    assert "Epoch 8/8" in out and "4/4 [" in out and "val_accuracy:" in out
    loss, accuracy = model.evaluate(x[64:], labels[64:], verbose=0)
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-6)
    assert 0.0 <= accuracy <= 1.0
    probabilities = model.predict(x[64:], batch_size=5)
    assert probabilities.shape == (32, 2) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert np.mean(probabilities.argmax(1) == labels[64:]) == pytest.approx(accuracy)


def test_fit_is_reproducible_with_a_seed():
    x = np.random.default_rng(0).normal(size=(20, 8, 8, 1))
    y = np.arange(20) % 3
    histories = []
    for _ in range(2):
        model = _small_model(seed=3)
        model.compile(optimizer=scratch.SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
        histories.append(model.fit(x, y, epochs=2, batch_size=6, seed=5, verbose=0).history["loss"])
    assert histories[0] == histories[1]


def test_train_on_batch_with_sgd_matches_a_manual_step():
    model = _small_model()
    model.compile(optimizer=scratch.SGD(0.1), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(2).normal(size=(4, 8, 8, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    before = model.get_weights()
    model.forward(x, training=True)
    last = model.layers[-1]
    logits_loss = scratch.SparseCategoricalCrossentropy(from_logits=True)
    dy = last.backward_pre_activation(logits_loss.gradient(y, last.logits))
    for layer in reversed(model.layers[:-1]):
        dy = layer.backward(dy)
    grads = [layer.grads[name].copy() for layer, name in model.trainable_pairs()]
    model.train_on_batch(x, y)
    for old, grad, new in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(new, old - 0.1 * grad, rtol=1e-6, atol=1e-7)


def test_summary_and_weights_in_keras_order(capsys):
    model = seed_cnn("scratch", num_classes=2, seed=0)
    model.summary()
    text = capsys.readouterr().out
    for expected in ["(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 5, 5, 64)", "(None, 3, 3, 64)",
                     "(None, 576)", "18,496", "36,928", "Total params: 92,802"]:
        assert expected in text
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,), (576, 64), (64,), (64, 2), (2,)]
    other = seed_cnn("scratch", num_classes=2, seed=1)
    other.set_weights(model.get_weights())
    x = np.random.default_rng(0).uniform(size=(3, 28, 28, 1))
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_seed_cnn_scratch_is_seedable():
    a, b, c = (seed_cnn("scratch", num_classes=2, seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


# ------------------------------------------------------------------------------ bad input


def test_model_input_checks():
    model = seed_cnn("scratch", num_classes=2, seed=0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch,\) \+ \(28, 28, 1\), got \(4, 28, 28\); add a channel axis"):
        model.predict(np.zeros((4, 28, 28)))
    x = np.zeros((2, 28, 28, 1))
    x[1, 3, 4, 0] = np.inf
    with pytest.raises(ValueError, match="x contains 1 NaN or infinite value"):
        model.predict(x)
    with pytest.raises(RuntimeError, match=r"call compile\(optimizer, loss\) before fit"):
        model.fit(np.zeros((2, 28, 28, 1)), [0, 1])
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"y must hold one target per sample \(2\), got shape \(3,\)"):
        model.fit(np.zeros((2, 28, 28, 1)), [0, 1, 1])
    with pytest.raises(ValueError, match=r"y_true labels must be in \[0, 1\] for y_pred with 2 classes, got \[2\]"):
        model.fit(np.zeros((2, 28, 28, 1)), [0, 2], verbose=0)
    with pytest.raises(ValueError, match=r"expected 10 weight arrays, got 2"):
        model.set_weights(model.get_weights()[:2])
    with pytest.raises(ValueError, match="metric must be 'accuracy' or one of"):
        model.compile(loss="mse", metrics=["auc"])


def test_compute_gradients_and_compute_loss_are_the_training_step_without_the_update():
    model = _small_model()
    model.compile(optimizer=scratch.SGD(0.1), loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(3).normal(size=(5, 8, 8, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1])
    before = model.get_weights()
    loss, grads, dx = model.compute_gradients(x, y, training=False, return_input_gradient=True)
    assert [g.shape for g in grads] == [w.shape for w in before] and dx.shape == x.shape
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # nothing was updated
    assert loss == pytest.approx(model.compute_loss(x, y))
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
    two = model.compute_gradients(x, y)
    assert len(two) == 2 and two[0] == pytest.approx(loss)
    with pytest.raises(RuntimeError, match="call compile"):
        _small_model().compute_loss(x, y)


def test_the_loss_owns_the_logits_shortcut():
    assert isinstance(scratch.SparseCategoricalCrossentropy().for_logits("softmax"), scratch.SparseCategoricalCrossentropy)
    assert scratch.SparseCategoricalCrossentropy().for_logits("softmax").from_logits
    assert scratch.CategoricalCrossentropy().for_logits("softmax").from_logits
    assert scratch.BinaryCrossentropy().for_logits("sigmoid").from_logits
    assert scratch.BinaryCrossentropy().for_logits("softmax") is None
    assert scratch.SparseCategoricalCrossentropy(from_logits=True).for_logits("softmax") is None
    assert scratch.MeanSquaredError().for_logits("sigmoid") is None


def test_model_backward_is_the_layers_backward_in_reverse():
    model = _small_model(activation="tanh")
    x = np.random.default_rng(4).normal(size=(2, 8, 8, 1)).astype(np.float32)
    y = model.forward(x, training=True)
    dy = np.random.default_rng(5).normal(size=y.shape).astype(np.float32)
    dx = model.backward(dy)
    grads = [layer.grads[name].copy() for layer, name in model.trainable_pairs()]
    model.forward(x, training=True)
    manual = dy
    for layer in reversed(model.layers):
        manual = layer.backward(manual)
    np.testing.assert_allclose(dx, manual, rtol=1e-6)
    for grad, (layer, name) in zip(grads, model.trainable_pairs()):
        np.testing.assert_allclose(grad, layer.grads[name], rtol=1e-6)
    assert model.backward(dy, need_input_gradient=False) is None


def test_progress_bar_prints_the_epoch_and_a_keras_style_line():
    import io

    stream = io.StringIO()
    bar = scratch.ProgressBar(4, verbose=2, epoch=1, epochs=3, stream=stream)
    bar.update(2, {"loss": 0.5})
    bar.finish({"loss": 0.25, "val_loss": 0.5})
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Epoch 1/3"
    assert lines[1].startswith("4/4 [==============================]") and lines[1].endswith("loss: 0.2500 - val_loss: 0.5000")
    silent = io.StringIO()
    scratch.ProgressBar(4, verbose=0, epoch=1, epochs=3, stream=silent).finish({"loss": 1.0})
    assert silent.getvalue() == ""
