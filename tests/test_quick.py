"""cnncourse.experiments.quick: the chapters' shared training loop and their mean ± sd."""

import numpy as np
import pytest

from cnncourse.experiments.quick import mean_sd, train_and_validate, train_tracked


def _tiny_data(n=48, m=20):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n + m, 28, 28, 1)).astype(np.float32)
    y = np.arange(n + m) % 2
    x[y == 1, 10:18, 10:18] += 0.5  # a bright square: something to learn
    return x[:n], y[:n], x[n:], y[n:]


@pytest.mark.slow
def test_train_tracked_records_each_epoch_and_repeats_itself():
    pytest.importorskip("keras")
    x, y, x_val, y_val = _tiny_data()
    calls = []

    def probe(model):
        calls.append(1)
        return [len(model.layers), 7.0]

    first = train_tracked(x, y, x_val, y_val, seed=0, optimizer="adam", epochs=2, batch_size=16, probes={"p": probe})
    assert first["loss"].shape == (2,) and first["val_auc"].shape == (2,)
    assert first["val_prob"].shape == (20,) and np.all((0 <= first["val_prob"]) & (first["val_prob"] <= 1))
    assert first["p"].shape == (3, 2) and len(calls) == 3  # initial weights + 2 epochs
    assert isinstance(first["seed"], int) and first["seconds"] >= 0
    again = train_tracked(x, y, x_val, y_val, seed=0, optimizer="adam", epochs=2, batch_size=16)
    np.testing.assert_allclose(again["loss"], first["loss"], rtol=1e-5)  # same weights, same batches


@pytest.mark.parametrize("change, error, words", [
    ({"x_train": np.zeros((48, 28, 28), np.float32)}, ValueError, "x_train must be float32 images"),
    ({"x_val": np.zeros((20, 28, 28, 1))}, ValueError, "x_val must be float32 images"),
    ({"x_val": np.zeros((20, 14, 14, 1), np.float32)}, ValueError, "must have the shape of x_train"),
    ({"y_train": np.zeros(47)}, ValueError, "y_train must have one target per image"),
    ({"y_val": np.full(20, 2)}, ValueError, "y_val must be 0/1 labels"),
    ({"seed": -1}, ValueError, "seed must be an int in"),
    ({"epochs": 0}, ValueError, "epochs must be"),
    ({"batch_size": 2.5}, TypeError, "batch_size must be"),
    ({"probes": {"p": 3}}, TypeError, "probes must map names to functions"),
])
def test_train_tracked_rejects_bad_arguments_before_training(change, error, words):
    x, y, x_val, y_val = _tiny_data()
    arguments = dict(x_train=x, y_train=y, x_val=x_val, y_val=y_val, seed=0, optimizer="adam") | change
    with pytest.raises(error, match=words):
        train_tracked(**arguments)


@pytest.mark.slow
def test_train_and_validate_scores_validation_and_repeats_itself():
    pytest.importorskip("keras")
    from cnncourse import set_seed
    from cnncourse.models import seed_cnn

    x, y, x_val, y_val = _tiny_data()
    results = []
    for _ in range(2):
        effective = set_seed(0)
        results.append(train_and_validate(seed_cnn("keras", num_classes=2, seed=effective), x, y, x_val, y_val,
                                          epochs=2, batch_size=16))
    first, again = results
    assert first["val_scores"].shape == (20,) and 0 <= first["val_acc"] <= 1 and 0 <= first["val_auc"] <= 1
    assert first["val_acc"] == np.mean((first["val_scores"] > 0.5) == y_val) and first["seconds"] >= 0
    np.testing.assert_allclose(again["val_scores"], first["val_scores"], rtol=1e-5)  # same seed, same model
    with pytest.raises(ValueError, match="epochs"):
        train_and_validate(seed_cnn("keras", num_classes=2, seed=0), x, y, x_val, y_val, epochs=0)


def test_mean_sd_uses_the_sample_sd():
    assert mean_sd([1.0, 2.0, 3.0]) == "2.000 ± 1.000"
    assert mean_sd(np.array([0.5, 0.5]), digits=1) == "0.5 ± 0.0"


@pytest.mark.parametrize("values, digits, words", [
    ([1.0], 3, "two or more"), ([[1.0, 2.0]], 3, "two or more"), ([1.0, np.nan], 3, "finite"),
    ([1.0, 2.0], -1, "digits must be"),
])
def test_mean_sd_rejects_bad_arguments(values, digits, words):
    with pytest.raises(ValueError, match=words):
        mean_sd(values, digits)


def test_load_quick_data_is_a_stratified_subset_as_model_inputs(tmp_path, monkeypatch):
    from cnncourse import data
    from cnncourse.experiments.quick import load_quick_data

    monkeypatch.setenv(data.SKIP_MD5_ENV, "1")  # a fake file: its structure is checked, not its MD5

    rng = np.random.default_rng(0)
    arrays = {}
    for split, size in (("train", 60), ("val", 12), ("test", 6)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (size, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(size) % 4 != 0).astype(np.uint8)[:, None]  # 75 % class 1
    np.savez(tmp_path / data.FILENAME, **arrays)
    x_small, y_small, x_val, y_val = load_quick_data(n=20, seed=1, data_dir=tmp_path)
    assert x_small.shape == (20, 28, 28, 1) and x_small.dtype == np.float32 and x_small.max() <= 1.0
    assert np.bincount(y_small).tolist() == [5, 15] and x_val.shape == (12, 28, 28, 1) and y_val.shape == (12,)
    again = load_quick_data(n=20, seed=1, data_dir=tmp_path)[0]
    np.testing.assert_array_equal(again, x_small)
    with pytest.raises(ValueError, match="n must be"):
        load_quick_data(n=60, data_dir=tmp_path)
