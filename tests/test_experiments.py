"""The experiments CLI: one JSON line with the agreed keys, in seconds on a tiny subset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnncourse.data import load_pneumoniamnist
import cnncourse.experiments
from cnncourse.experiments import class_weights, evaluate_scores
from cnncourse.experiments.__main__ import build_parser, main

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
KEYS = {"test_acc", "test_auc", "val_auc", "threshold", "train_seconds", "params"}
needs_data = pytest.mark.skipif(not (SHARED / "pneumoniamnist.npz").exists(), reason="no local PneumoniaMNIST copy")


def test_helpers():
    assert class_weights(np.array([0, 1, 1, 1])) == {0: 2.0, 1: 4 / 6}
    with pytest.raises(ValueError, match="both classes"):
        class_weights(np.ones(5, int))
    # The one uint8 -> float32 conversion is cnncourse.data.to_float_images; no second copy lives here.
    assert not hasattr(cnncourse.experiments, "to_model_input")
    y = np.array([0, 0, 1, 1])
    result = evaluate_scores(y, np.array([0.1, 0.3, 0.6, 0.8]), y, np.array([0.2, 0.5, 0.4, 0.9]))
    assert 0.3 < result["threshold"] <= 0.6 and result["val_auc"] == 1.0 and result["test_auc"] == 0.75


def test_parser_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["pneumonia", "--engine", "torch"])
    assert main(["pneumonia", "--engine", "scratch", "--model", "improved"]) == 2
    assert "scratch engine trains only" in capsys.readouterr().err


def _run_cli(*arguments):
    env = dict(os.environ, CNNCOURSE_DATA=str(SHARED), TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-m", "cnncourse.experiments", "pneumonia", *arguments],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1, completed.stdout  # exactly one JSON line, nothing else on stdout
    return json.loads(lines[0])


@needs_data
@pytest.mark.slow
def test_cli_keras_improved_prints_one_json_line():
    result = _run_cli("--engine", "keras", "--seed", "3", "--epochs", "1", "--subset", "256")
    assert KEYS <= set(result)
    assert result["engine"] == "keras" and result["model"] == "improved" and result["train_images"] == 256
    assert 0 <= result["test_acc"] <= 1 and 0 <= result["test_auc"] <= 1 and 0 <= result["threshold"] <= 1
    assert result["params"] > 50_000 and result["train_seconds"] > 0


@needs_data
@pytest.mark.slow
def test_scratch_engine_runs_in_process():
    from cnncourse.experiments import run_experiment

    data = load_pneumoniamnist(SHARED)
    result = run_experiment(engine="scratch", seed=0, epochs=1, subset=64, data_dir=SHARED)
    assert KEYS <= set(result) and result["engine"] == "scratch" and result["model"] == "seed"
    assert result["params"] == 3 * 3 * 32 + 32 + 3 * 3 * 32 * 64 + 64 + 3 * 3 * 64 * 64 + 64 + 576 * 64 + 64 + 64 * 2 + 2
    assert len(data[2][1]) == 624
