"""One way to seed: ``cnncourse.set_seed``, the seed offset, and bit-identical re-runs."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_images

from cnncourse import seed_offset, set_seed
from cnncourse.models import seed_cnn
from cnncourse.scratch import Adam

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_data = pytest.mark.skipif(not (SHARED / "pneumoniamnist.npz").exists(), reason="no local PneumoniaMNIST copy")
pytestmark = pytest.mark.usefixtures("single_threaded_blas")


def test_offset_is_added_and_validated(monkeypatch):
    monkeypatch.delenv("CNNCOURSE_SEED_OFFSET", raising=False)
    assert seed_offset() == 0 and set_seed(5, keras=False) == 5
    monkeypatch.setenv("CNNCOURSE_SEED_OFFSET", "100")
    assert seed_offset() == 100 and set_seed(5, keras=False) == 105
    monkeypatch.setenv("CNNCOURSE_SEED_OFFSET", "seven")
    with pytest.raises(ValueError, match="CNNCOURSE_SEED_OFFSET must be an integer, got 'seven'"):
        set_seed(0, keras=False)
    monkeypatch.setenv("CNNCOURSE_SEED_OFFSET", "-10")
    with pytest.raises(ValueError, match=r"must be in \[0, 2\*\*32\)"):
        set_seed(3, keras=False)


@pytest.mark.parametrize("bad", [1.5, "0", None, True])
def test_bad_seed_is_refused(bad):
    with pytest.raises(TypeError, match="seed must be an int"):
        set_seed(bad, keras=False)


def test_python_and_numpy_are_seeded(monkeypatch):
    monkeypatch.delenv("CNNCOURSE_SEED_OFFSET", raising=False)
    set_seed(3, keras=False)
    first = (random.random(), np.random.rand(3))
    set_seed(3, keras=False)
    second = (random.random(), np.random.rand(3))
    assert first[0] == second[0] and np.array_equal(first[1], second[1])
    set_seed(4, keras=False)
    assert random.random() != first[0]


def test_keras_is_seeded_and_deterministic(monkeypatch):
    monkeypatch.delenv("CNNCOURSE_SEED_OFFSET", raising=False)
    import tensorflow as tf

    draws = []
    for _ in range(2):
        set_seed(11)
        model = seed_cnn("keras", num_classes=2)
        draws.append((model.get_weights()[0], tf.random.uniform((4,)).numpy()))
    assert np.array_equal(draws[0][0], draws[1][0]) and np.array_equal(draws[0][1], draws[1][1])
    from tensorflow.python.framework import config as tf_config  # the public module has no getter

    assert tf_config.is_op_determinism_enabled()


def _train_scratch(seed, x, y):
    set_seed(seed, keras=False)
    model = seed_cnn("scratch", num_classes=2, seed=seed)
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # no seed=: the global state decides
    return model.get_weights(), history.history


def test_scratch_fit_without_seed_is_reproducible_after_set_seed(monkeypatch):
    monkeypatch.delenv("CNNCOURSE_SEED_OFFSET", raising=False)
    x, y = tiny_images(48)
    weights_a, history_a = _train_scratch(1, x, y)
    weights_b, history_b = _train_scratch(1, x, y)
    assert history_a == history_b
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))
    weights_c, _ = _train_scratch(2, x, y)
    assert not np.array_equal(weights_a[0], weights_c[0])


def _run_cli(*arguments, offset="0"):
    env = dict(os.environ, CNNCOURSE_DATA=str(SHARED), TF_CPP_MIN_LOG_LEVEL="3", OPENBLAS_NUM_THREADS="1",
               CNNCOURSE_SEED_OFFSET=offset)
    completed = subprocess.run(
        [sys.executable, "-m", "cnncourse.experiments", "pneumonia", *arguments],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result.pop("train_seconds"), result.pop("train_cpu_seconds")  # clocks differ; everything else must not
    return result


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["scratch", "keras"])
def test_cli_same_seed_same_metrics(engine):
    arguments = ("--engine", engine, "--seed", "0", "--subset", "64", "--epochs", "1")
    if engine == "keras":
        arguments += ("--model", "seed")
    first, second = _run_cli(*arguments), _run_cli(*arguments)
    assert first == second
    shifted = _run_cli(*arguments, offset="5")
    assert shifted["seed"] == 0 and shifted["effective_seed"] == 5
