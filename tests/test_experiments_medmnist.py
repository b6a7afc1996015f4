"""MedMNIST 2-D recipes (cnncourse.experiments.medmnist) and their command line, on tiny data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from conftest import tiny_images

from cnncourse.experiments.__main__ import MEDMNIST_RECIPES, main
from cnncourse.experiments.medmnist import (
    evaluate,
    flip_views,
    model_inputs,
    ordinal_grades,
    ordinal_probabilities,
    ordinal_targets,
    train_classifier,
    transfer_classifier,
)

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs = {name: pytest.mark.skipif(not (SHARED / f"{name}.npz").exists(), reason=f"no local {name}.npz")
         for name in ("breastmnist", "retinamnist")}


def test_model_inputs_grey_and_colour():
    grey = model_inputs(np.full((2, 4, 5), 255, np.uint8))
    assert grey.shape == (2, 4, 5, 1) and grey.dtype == np.float32 and grey.max() == 1.0
    colour = model_inputs(np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3))
    assert colour.shape == (2, 4, 4, 3) and np.isclose(colour[0, 0, 0, 2], 2 / 255)
    with pytest.raises(TypeError, match="integer pixel values"):
        model_inputs(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 3\)"):
        model_inputs(np.zeros((2, 4, 4, 2), np.uint8))


def test_ordinal_targets_probabilities_and_grades():
    labels = np.array([0, 2, 4, 1])
    targets = ordinal_targets(labels, 5)
    assert targets.shape == (4, 4) and targets.dtype == np.float32
    np.testing.assert_array_equal(targets, [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(ordinal_grades(targets), labels)  # the targets decode to their grades
    # Probabilities: differences of the cumulative P(grade > k); a non-monotone row is repaired.
    exceedance = np.array([[0.9, 0.6, 0.2, 0.1], [0.3, 0.5, 0.1, 0.0]])
    probabilities = ordinal_probabilities(exceedance)
    np.testing.assert_allclose(probabilities[0], [0.1, 0.3, 0.4, 0.1, 0.1])
    np.testing.assert_allclose(probabilities[1], [0.7, 0.0, 0.2, 0.1, 0.0])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert probabilities.min() >= 0
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.4"):
        ordinal_targets([0, 5], 5)
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        ordinal_targets([0], 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ordinal_probabilities([[1.5, 0.2]])


def test_flip_views():
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4, 1)
    views = flip_views(x, "horizontal_and_vertical")
    assert len(views) == 3 and views[1][0, 0, 0, 0] == x[0, 0, 3, 0] and views[2][0, 0, 0, 0] == x[0, 2, 0, 0]
    assert len(flip_views(x, None)) == 1
    with pytest.raises(ValueError, match="flips must be"):
        flip_views(x, "diagonal")


def test_evaluate_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), 8)
    probabilities = rng.dirichlet(np.ones(5), size=len(y))
    result = evaluate(y, probabilities)
    predictions = probabilities.argmax(axis=1)
    assert np.isclose(result["auc"], roc_auc_score(y, probabilities, multi_class="ovr", average="macro"))
    assert np.isclose(result["qwk"], cohen_kappa_score(y, predictions, weights="quadratic"))
    assert np.isclose(result["acc"], np.mean(predictions == y))
    assert np.array(result["confusion"]).sum() == len(y) and np.trace(result["confusion"]) == (predictions == y).sum()
    # Always grade 0: accuracy is the share of grade 0, kappa is 0.
    always_zero = evaluate(y, np.eye(5)[np.zeros(len(y), int)])
    assert always_zero["acc"] == 0.2 and always_zero["qwk"] == 0.0
    binary = evaluate(np.array([0, 1, 1, 0]), np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]]))
    assert binary == {"acc": 0.75, "auc": 1.0}
    with pytest.raises(ValueError, match="one label per row"):
        evaluate(y[:-1], probabilities)


@pytest.mark.slow
def test_train_softmax_ordinal_and_transfer_on_tiny_data():
    x, y = tiny_images(channels=3, classes=5)
    ordinal = train_classifier(x, y, seed=0, num_classes=5, output="ordinal", epochs=2, snapshots=2,
                               filters=(8, 16), flips="horizontal_and_vertical")
    assert ordinal.model.get_layer("block1_conv1").kernel.shape == (3, 3, 3, 8)  # the colour input's kernel
    assert ordinal.model.output_shape == (None, 4) and len(ordinal.snapshots) == 2
    probabilities = ordinal.predict_proba(x)
    assert probabilities.shape == (48, 5) and np.allclose(probabilities.sum(axis=1), 1)
    assert ordinal.predict(x).shape == (48,) and ordinal.cpu_seconds > 0

    x, y = tiny_images()
    first = train_classifier(x, y, seed=1, epochs=2, filters=(8, 16))
    again = train_classifier(x, y, seed=1, epochs=2, filters=(8, 16))
    np.testing.assert_allclose(first.predict_proba(x), again.predict_proba(x), atol=1e-5)  # reproducible
    for mode in ("frozen", "finetune"):
        run = transfer_classifier(first, x, y, mode=mode, seed=2, epochs=2)
        assert run.predict_proba(x).shape == (48, 2)
    # Frozen: the pretrained convolutions are unchanged by training the head.
    frozen = transfer_classifier(first, x, y, mode="frozen", seed=2, epochs=3)
    kernel = frozen.model.get_layer("pretrained_features").get_layer("block1_conv1").kernel.numpy()
    np.testing.assert_array_equal(kernel, first.model.get_layer("block1_conv1").kernel.numpy())
    # The pretrained model is left as it was: still trainable, for the next transfer.
    assert all(layer.trainable for layer in first.model.layers)
    with pytest.raises(ValueError, match="mode must be one of"):
        transfer_classifier(first, x, y, mode="partial")
    with pytest.raises(ValueError, match="must match the pretrained input"):
        transfer_classifier(first, np.zeros((4, 28, 28, 3), np.float32), y[:4])
    with pytest.raises(ValueError, match="y_train must be in 0..1"):
        train_classifier(x, y + 1, epochs=1)
    with pytest.raises(ValueError, match="snapshots"):
        train_classifier(x, y, epochs=1, snapshots=2)


def test_cli_table_and_arguments(capsys):
    assert {"breastmnist", "retinamnist"} <= set(MEDMNIST_RECIPES)
    with pytest.raises(SystemExit):
        main(["medmnist"])  # --dataset is required
    assert "the following arguments are required: --dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["medmnist", "--dataset", "dermamnist"])
    with pytest.raises(SystemExit):
        main(["pneumonia", "--dataset", "breastmnist"])  # medmnist's argument only
    assert "unrecognized arguments: --dataset breastmnist" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("dataset", [pytest.param("breastmnist", marks=needs["breastmnist"]),
                                     pytest.param("retinamnist", marks=needs["retinamnist"])])
def test_cli_prints_one_json_line(dataset):
    env = dict(os.environ, CNNCOURSE_DATA=str(SHARED), TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-m", "cnncourse.experiments", "medmnist", "--dataset", dataset, "--seed", "1",
         "--epochs", "1", "--subset", "120"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, completed.stdout
    result = json.loads(lines[0])
    assert result["dataset"] == dataset and result["train_images"] == 120 and result["seed"] == 1
    assert result["members"] == 3 and result["epochs"] == 1
    for key in ("val_auc", "test_auc", "val_acc", "test_acc"):
        assert 0 <= result[key] <= 1
    assert result["params"] > 10_000 and result["train_cpu_seconds"] > 0
    if dataset == "retinamnist":
        assert -1 <= result["test_qwk"] <= 1 and np.array(result["test_confusion"]).shape == (5, 5)
        assert np.array(result["test_confusion"]).sum() == 400
