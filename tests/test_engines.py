"""cnncourse.experiments.engines: the seed CNN trained by Keras and by the NumPy engine from the same start."""

import numpy as np
import pytest

from cnncourse.experiments.engines import compare_engines, epoch_orders, train_both_engines

pytest.importorskip("keras")
pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def _lesion_data(n, seed):
    """uint8 phantoms (n, 28, 28) with or without a bright lesion, and their labels (n,)."""
    from cnncourse.data import synthetic_lesions

    images, labels, _ = synthetic_lesions(n, seed=seed)
    return np.round(images * 255).astype(np.uint8), labels


@pytest.fixture(scope="module")
def tiny_splits():
    return _lesion_data(96, 0), _lesion_data(32, 1), _lesion_data(40, 2)


@pytest.fixture(scope="module")
def two_epochs(tiny_splits):
    from cnncourse.data import to_float_images

    (x_train, y_train), (x_val, y_val), _ = tiny_splits
    return train_both_engines(to_float_images(x_train), y_train, to_float_images(x_val), y_val, epochs=2,
                              batch_size=16, seed=3)


def test_epoch_orders_are_seeded_permutations():
    orders = epoch_orders(10, 3, seed=4)
    assert len(orders) == 3 and all(sorted(order) == list(range(10)) for order in orders)
    assert not np.array_equal(orders[0], orders[1])  # a new order every epoch
    assert all(np.array_equal(a, b) for a, b in zip(orders, epoch_orders(10, 3, seed=4)))
    assert not np.array_equal(orders[0], epoch_orders(10, 1, seed=5)[0])


def test_both_engines_follow_the_same_curves(two_epochs):
    assert set(two_epochs) == {"keras", "scratch"}
    for run in two_epochs.values():
        assert set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert all(len(values) == 2 for values in run.history.values())
        assert run.seconds > 0
    keras_run, scratch_run = two_epochs["keras"], two_epochs["scratch"]
    # Same start, same batches, same optimizer: only float32 rounding differs after 12 Adam steps.
    for name in ("loss", "val_loss"):
        assert np.allclose(keras_run.history[name], scratch_run.history[name], atol=1e-3), name
    assert np.allclose(keras_run.history["val_accuracy"], scratch_run.history["val_accuracy"], atol=2 / 32)


def test_trained_engines_predict_alike(two_epochs, tiny_splits):
    from cnncourse.data import to_float_images

    images = to_float_images(tiny_splits[2][0])
    keras_probabilities = two_epochs["keras"].probabilities(images)
    scratch_probabilities = two_epochs["scratch"].probabilities(images)
    assert keras_probabilities.shape == scratch_probabilities.shape == (40, 2)
    assert np.abs(keras_probabilities - scratch_probabilities).max() < 1e-3


def test_compare_engines_per_seed(tiny_splits):
    comparisons = compare_engines(tiny_splits, seeds=(0,), subset=48, epochs=1, batch_size=16)
    (comparison,) = comparisons
    assert comparison["train_images"] == 48 and comparison["seed"] >= 0
    for run in comparison["runs"].values():
        assert run.val_scores.shape == (32,) and run.test_scores.shape == (40,)
        assert np.all((run.test_scores >= 0) & (run.test_scores <= 1))


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"x_train": np.zeros((4, 28, 28), np.float32)}, ValueError, r"x_train must have shape \(N, H, W, 1\)"),
        ({"x_train": np.zeros((4, 28, 28, 1), np.uint8)}, TypeError, "x_train must be float32"),
        ({"x_val": np.zeros((0, 28, 28, 1), np.float32), "y_val": np.zeros(0, int)}, ValueError, "x_val is empty"),
        ({"y_train": np.array([0, 1, 2, 1])}, ValueError, "y_train must contain only 0 and 1"),
        ({"y_train": np.array([0, 1, 1])}, ValueError, "x_train and y_train must have the same length"),
        ({"y_val": np.array([0, 1])}, ValueError, "x_val and y_val must have the same length"),
        ({"x_val": np.zeros((3, 14, 14, 1), np.float32)}, ValueError, "x_val images must have the shape of x_train"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": 2.5}, (TypeError, ValueError), "batch_size"),
        ({"seed": -1}, ValueError, r"seed must be an int in \[0, 2\*\*32\), got -1"),
        ({"seed": 1.5}, TypeError, r"seed must be an int in \[0, 2\*\*32\), got float 1.5"),
    ],
)
def test_train_both_engines_rejects_bad_input(change, error, message):
    arguments = {"x_train": np.zeros((4, 28, 28, 1), np.float32), "y_train": np.array([0, 1, 0, 1]),
                 "x_val": np.zeros((3, 28, 28, 1), np.float32), "y_val": np.array([0, 1, 1]), "epochs": 1,
                 "batch_size": 2, "seed": 0}
    arguments.update(change)
    with pytest.raises(error, match=message):
        train_both_engines(**arguments)


def test_compare_engines_rejects_bad_arguments(tiny_splits):
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        compare_engines(tiny_splits, seeds=())
    for bad in (1, 97, 2.5, True):
        with pytest.raises(ValueError, match="subset must be an integer from 2 to 96"):
            compare_engines(tiny_splits, subset=bad)
    with pytest.raises(ValueError, match="epochs"):
        compare_engines(tiny_splits, subset=None, epochs=0)
