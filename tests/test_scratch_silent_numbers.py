"""Issue 24: numbers the engine used to return silently are now clear errors (or right)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from cnncourse.scratch import SGD, Adam, Dense, Sequential
from cnncourse.scratch.losses import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy


@pytest.mark.parametrize("labels", [[[2.0]], [[-1.0]]])
def test_binary_crossentropy_refuses_labels_outside_0_1(labels):
    with pytest.raises(ValueError, match=r"y_true must hold binary labels in \[0, 1\]"):
        BinaryCrossentropy()(np.array(labels), np.array([[0.3]]))


def test_crossentropies_refuse_labels_outside_their_range():
    with pytest.raises(ValueError, match=r"labels in \[0, 1\]"):
        CategoricalCrossentropy()(np.array([[2.0, -1.0]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\]"):
        SparseCategoricalCrossentropy()(np.array([2]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*from_logits=True"):
        BinaryCrossentropy()(np.array([[1.0]]), np.array([[3.0]]))


def test_categorical_crossentropy_of_a_zero_row_is_an_error_not_nan():
    # Keras 3 returns NaN here (0 / 0 before its clip); the engine names the row instead.
    with pytest.raises(ValueError, match=r"row \(1,\) sums to 0"):
        CategoricalCrossentropy()(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.5, 0.5], [0.0, 0.0]]))
    # Tiny but non-zero probabilities are clipped as Keras clips them: a finite loss.
    value = CategoricalCrossentropy()(np.array([[0.0, 1.0]]), np.array([[1e-30, 0.0]], dtype=np.float32))
    assert np.isclose(value, -np.log(np.float32(1e-7)), rtol=1e-5)


def _model(seed=0, optimizer=None):
    model = Sequential([Dense(3, input_shape=(4,), seed=seed), Dense(2, activation="softmax", seed=seed + 1)])
    model.compile(optimizer if optimizer is not None else Adam(0.01), "sparse_categorical_crossentropy")
    return model


def test_set_weights_refuses_float32_overflow():
    model = _model()
    weights = model.get_weights()
    before = [w.copy() for w in weights]
    weights[0] = np.full(weights[0].shape, 1e39)
    with pytest.raises(ValueError, match=r"weight 'kernel' holds values up to 1e\+39, beyond float32"):
        model.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before)), "nothing changed"


def test_adam_epsilon_must_be_positive():
    with pytest.raises(ValueError, match=r"epsilon must be in \(0.0, inf\)"):
        Adam(epsilon=0.0)


def test_an_update_that_overflows_changes_nothing_and_fit_stops_at_once():
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    y = np.array([0, 1] * 4)
    model = _model(optimizer=SGD(1e38))
    # The first step leaves huge but finite weights; the next step's loss is not finite: fit stops there.
    with pytest.raises(FloatingPointError, match=r"step 2: the model's outputs hold NaN or infinity, so the loss is not finite; training stopped"):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.optimizer.iterations == 1
    with pytest.raises(FloatingPointError, match="outputs hold NaN or infinity"):
        model.predict(x)
    parameter = np.ones(2, np.float32)
    with pytest.raises(ValueError, match="overflows"):
        SGD(1e38).apply_gradients([(np.full(2, 1e10), parameter)])
    assert np.array_equal(parameter, np.ones(2, np.float32))


def test_a_layer_cannot_be_used_twice_or_by_two_models():
    layer = Dense(4, input_shape=(4,), seed=0)
    with pytest.raises(ValueError, match="already in this model"):
        Sequential([layer, layer])
    shared = Dense(2, seed=1)
    Sequential([Dense(4, input_shape=(4,), seed=0), shared])
    with pytest.raises(ValueError, match="already belongs to the model"):
        Sequential([Dense(4, input_shape=(4,), seed=0), shared])


def test_an_optimizer_cannot_be_shared_by_two_models():
    optimizer = Adam(0.01)
    model = _model(optimizer=optimizer)
    model.compile(optimizer, "sparse_categorical_crossentropy")  # recompiling the same model is fine
    with pytest.raises(ValueError, match="already used by the model"):
        _model(seed=5, optimizer=optimizer)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_a_copied_model_resumes_with_its_optimizer_state(duplicate):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)).astype(np.float32), rng.integers(0, 2, 16)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    twin = duplicate(model)
    assert twin.optimizer.iterations == model.optimizer.iterations
    assert len(twin.optimizer._state) == len(model.optimizer._state)
    for layer, name in twin.trainable_pairs():
        assert id(layer.params[name]) in twin.optimizer._state, "the moments follow the copied weights"
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    twin.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_backward_needs_a_forward_and_the_output_shape():
    model = _model()
    with pytest.raises(RuntimeError, match="call forward"):
        model.backward(np.ones((2, 2)))
    model.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"dy must have the shape of the last forward's output \(2, 2\), got \(3, 2\)"):
        model.backward(np.ones((3, 2)))
    assert model.backward(np.ones((2, 2))).shape == (2, 4)
