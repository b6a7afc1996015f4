"""Losses of cnncourse.scratch: values by hand, gradient checks, clipping, bad labels."""

import numpy as np
import pytest

from cnncourse import scratch

pytestmark = pytest.mark.usefixtures("single_threaded_blas")

rng = np.random.default_rng(0)
PROBS = rng.dirichlet(np.ones(4), size=6)
LABELS = np.array([0, 3, 1, 2, 2, 0])
LOSS_CASES = [
    ("mae", scratch.MeanAbsoluteError(), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))),
    ("mae_1d", scratch.MeanAbsoluteError(), rng.normal(size=7), rng.normal(size=7)),
    ("mse", scratch.MeanSquaredError(), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))),
    ("bce", scratch.BinaryCrossentropy(), rng.integers(0, 2, (6, 1)), rng.uniform(0.05, 0.95, (6, 1))),
    ("bce_soft_labels", scratch.BinaryCrossentropy(), rng.uniform(size=(6, 2)), rng.uniform(0.05, 0.95, (6, 2))),
    ("bce_logits", scratch.BinaryCrossentropy(from_logits=True), rng.integers(0, 2, (6, 1)), rng.normal(size=(6, 1))),
    ("cce", scratch.CategoricalCrossentropy(), np.eye(4)[LABELS], PROBS),
    ("cce_unnormalised", scratch.CategoricalCrossentropy(), np.eye(4)[LABELS], rng.uniform(0.1, 1, (6, 4))),
    ("cce_logits", scratch.CategoricalCrossentropy(from_logits=True), np.eye(4)[LABELS], rng.normal(size=(6, 4))),
    ("scce", scratch.SparseCategoricalCrossentropy(), LABELS, PROBS),
    ("scce_column_labels", scratch.SparseCategoricalCrossentropy(), LABELS[:, None], PROBS),
    ("scce_logits", scratch.SparseCategoricalCrossentropy(from_logits=True), LABELS, rng.normal(size=(6, 4))),
]


@pytest.mark.parametrize("name, loss, y_true, y_pred", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_gradient_check(name, loss, y_true, y_pred):
    error = scratch.check_loss_gradient(loss, y_true, y_pred)
    assert error < 1e-6, f"{name}: relative error {error:.2e}"
    assert loss.gradient(y_true, y_pred).shape == np.shape(y_pred)
    assert isinstance(loss(y_true, y_pred), float)


def test_mae_is_the_seed_formula():
    y, y_hat = np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 1.0])
    assert scratch.MeanAbsoluteError()(y, y_hat) == pytest.approx((0.5 + 0 + 2) / 3)
    assert scratch.MeanSquaredError()(y, y_hat) == pytest.approx((0.25 + 0 + 4) / 3)
    np.testing.assert_allclose(scratch.MeanAbsoluteError().gradient(y, y_hat), [1 / 3, 0, -1 / 3])


def test_crossentropies_by_hand():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    expected = -(np.log(0.7) + np.log(0.8)) / 2
    assert scratch.SparseCategoricalCrossentropy()([0, 2], p) == pytest.approx(expected)
    assert scratch.CategoricalCrossentropy()(np.eye(3)[[0, 2]], p) == pytest.approx(expected)
    assert scratch.BinaryCrossentropy()([[1], [0]], [[0.9], [0.2]]) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    np.testing.assert_allclose(scratch.SparseCategoricalCrossentropy().per_sample([0, 2], p), -np.log([0.7, 0.8]))


def test_logits_and_probabilities_agree():
    z = rng.normal(size=(5, 3))
    p = scratch.softmax(z)
    labels = np.array([0, 1, 2, 1, 0])
    assert scratch.SparseCategoricalCrossentropy()(labels, p) == pytest.approx(
        scratch.SparseCategoricalCrossentropy(from_logits=True)(labels, z), rel=1e-10)
    assert scratch.BinaryCrossentropy()(labels[:, None] % 2, scratch.sigmoid(z[:, :1])) == pytest.approx(
        scratch.BinaryCrossentropy(from_logits=True)(labels[:, None] % 2, z[:, :1]), rel=1e-10)


def test_probabilities_are_clipped_like_keras():
    # A confident wrong prediction costs -log(1e-7), not infinity; the clipped entry has no gradient.
    loss = scratch.SparseCategoricalCrossentropy()
    p = np.array([[1.0, 0.0]])
    value = loss([1], p)
    assert np.isfinite(value) and value == pytest.approx(-np.log(1e-7) + np.log(1 - 1e-7 + 1e-7), rel=1e-6)
    assert loss.gradient([1], p)[0, 1] == 0.0
    assert scratch.BinaryCrossentropy()([[1.0]], [[0.0]]) == pytest.approx(-np.log(1e-7), rel=1e-6)
    assert scratch.losses.EPSILON == 1e-7


def test_logits_losses_are_stable_for_huge_logits():
    z = np.array([[1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert scratch.SparseCategoricalCrossentropy(from_logits=True)([1], z) == pytest.approx(2000.0)
        assert scratch.BinaryCrossentropy(from_logits=True)([[0.0]], z[:, :1]) == pytest.approx(1000.0)


def test_get_loss_knows_keras_names_and_rejects_the_seeds_typo():
    assert isinstance(scratch.get_loss("sparse_categorical_crossentropy"), scratch.SparseCategoricalCrossentropy)
    assert isinstance(scratch.get_loss("mae"), scratch.MeanAbsoluteError)
    with pytest.raises(ValueError, match=r"loss must be a Loss object or one of .*got 'sparsecategoricalcrossentropy'"):
        scratch.get_loss("sparsecategoricalcrossentropy")


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("labels, message", [
    ([0, 2, 5], r"y_true labels must be in \[0, 2\] for y_pred with 3 classes, got \[5\]"),
    ([0, -1, 1], r"y_true labels must be in \[0, 2\] for y_pred with 3 classes, got \[-1\]"),
    ([0.0, 1.5, 1.0], "y_true must hold integer class indices, got non-integer values"),
    ([0, 1], r"y_true must hold one class index per sample, shape \(3,\), got shape \(2,\)"),
])
def test_sparse_labels_are_checked(labels, message):
    with pytest.raises(ValueError, match=message):
        scratch.SparseCategoricalCrossentropy()(labels, np.full((3, 3), 1 / 3))


def test_shape_mismatch_and_nan_are_rejected():
    with pytest.raises(ValueError, match=r"y_true must have the shape of y_pred \(4, 2\), got \(4, 3\)"):
        scratch.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="y_pred contains 1 NaN or infinite value"):
        scratch.MeanAbsoluteError()([0.0, 1.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"y_pred must have shape \(batch, classes\), got \(3,\)"):
        scratch.SparseCategoricalCrossentropy()([0, 1, 0], np.ones(3))
