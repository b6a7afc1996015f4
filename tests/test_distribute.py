"""Training past one device: MirroredStrategy over two logical CPUs gives the result of one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_data = pytest.mark.skipif(not (SHARED / "pneumoniamnist.npz").exists(), reason="no local PneumoniaMNIST copy")
ENV = dict(os.environ, CNNCOURSE_DATA=str(SHARED), TF_CPP_MIN_LOG_LEVEL="3", OPENBLAS_NUM_THREADS="1")

TWO_REPLICAS = """
import json, numpy as np
from cnncourse.experiments.distribute import describe, logical_cpus, make_strategy
devices = logical_cpus(2)           # before TensorFlow touches a device
from cnncourse.experiments import train_improved
one, two = make_strategy([devices[0].name]), make_strategy([device.name for device in devices])
# Same global batch (64 = 1 x 64 = 2 x 32), no augmentation or dropout: the only randomness left is
# the seeded weights and shuffle, which both runs share.
common = dict(seed=0, epochs=2, subset=256, augment=False, dropout=0.0)
single = train_improved(strategy=one, batch_size=64, **common)
double = train_improved(strategy=two, batch_size=32, **common)
print(json.dumps({"devices": [describe(one), describe(two)],
                  "replicas": [single.result["replicas"], double.result["replicas"]],
                  "max_score_difference": float(np.max(np.abs(single.val_scores - double.val_scores))),
                  "val_auc": [single.result["val_auc"], double.result["val_auc"]],
                  "loss": [single.history["loss"], double.history["loss"]]}))
"""


@needs_data
@pytest.mark.slow
def test_two_replicas_train_like_one():
    completed = subprocess.run([sys.executable, "-c", TWO_REPLICAS], capture_output=True, text=True, env=ENV,
                               timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["devices"] == ["1 x CPU", "2 x CPU"] and result["replicas"] == [1, 2]
    # Stated tolerance: the gradients are summed in another order, nothing else differs.
    assert result["max_score_difference"] < 1e-3, result
    assert abs(result["val_auc"][0] - result["val_auc"][1]) <= 0.002, result
    assert np.allclose(result["loss"][0], result["loss"][1], rtol=1e-3), result


def test_input_pipeline_batches_shuffles_and_checks():
    from cnncourse.experiments.distribute import input_pipeline

    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
    y = np.arange(10) % 2
    batches = [batch for batch in input_pipeline(x, y, batch_size=4, seed=3).as_numpy_iterator()]
    assert [len(batch[0]) for batch in batches] == [4, 4, 2]
    first = np.concatenate([batch[0].ravel() for batch in batches])
    assert sorted(first.tolist()) == list(range(10)) and first.tolist() != list(range(10))
    again = np.concatenate([batch[0].ravel() for batch in input_pipeline(x, y, 4, seed=3).as_numpy_iterator()])
    assert np.array_equal(first, again), "the same seed gives the same order"
    weighted = next(input_pipeline(x, y, 4, seed=0, sample_weight=np.ones(10, np.float32)).as_numpy_iterator())
    assert len(weighted) == 3
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        input_pipeline(x, y, 0, seed=0)
    with pytest.raises(ValueError, match="same, positive number of samples, got 10 and 9"):
        input_pipeline(x, y[:9], 4, seed=0)


def test_mixed_precision_is_refused_without_a_gpu():
    import tensorflow as tf

    from cnncourse.experiments.distribute import mixed_precision

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: mixed precision is allowed here")
    with pytest.raises(ValueError, match="mixed precision needs a GPU"):
        mixed_precision(True)
    assert mixed_precision(False) == "float32"


@pytest.mark.slow
def test_cli_trains_at_a_larger_size_and_says_where(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in ("train", "val", "test"):
        labels = np.arange(32) % 2
        images = rng.integers(0, 120, (32, 64, 64)).astype(np.uint8)
        images[labels == 1, 20:44, 20:44] = 230  # a bright square marks "pneumonia"
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels.reshape(-1, 1).astype(np.uint8)
    np.savez(tmp_path / "pneumoniamnist_64.npz", **arrays)
    completed = subprocess.run(
        [sys.executable, "-m", "cnncourse.experiments", "pneumonia", "--size", "64", "--data-dir", str(tmp_path),
         "--epochs", "1", "--distribute", "mirrored", "--progress"],
        capture_output=True, text=True, env=dict(ENV, CNNCOURSE_SKIP_MD5="1"),  # a fake file: no official MD5
        timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, "progress goes to stderr; stdout holds one JSON line"
    result = json.loads(lines[0])
    assert result["image_size"] == 64 and result["replicas"] == 1 and result["device"] == "1 x CPU"
    assert "finished in" in completed.stderr and "on 1 x CPU" in completed.stderr
    assert "1/1" in completed.stderr, "Keras's progress bar"
