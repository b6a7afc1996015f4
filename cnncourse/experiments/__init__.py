"""Reproducible experiments, runnable from the shell.

    python -m cnncourse.experiments pneumonia --engine keras --seed 0
    python -m cnncourse.experiments pneumonia --engine scratch --seed 0 --epochs 2

Each run prints one JSON line (``test_acc``, ``test_auc``, ``val_auc``, ``threshold``,
``train_seconds``, ``params`` and a few more), so that results can be collected with
``>> results.jsonl``. The functions behind it live in ``cnncourse.experiments.pneumonia``
and are the ones the end-to-end chapter calls.
"""

from .pneumonia import (
    IMPROVED_DEFAULTS,
    PneumoniaRun,
    class_weights,
    evaluate_scores,
    run_experiment,
    to_model_input,
    train_improved,
    train_seed_keras,
    train_seed_scratch,
)

__all__ = [
    "IMPROVED_DEFAULTS",
    "PneumoniaRun",
    "class_weights",
    "evaluate_scores",
    "run_experiment",
    "to_model_input",
    "train_improved",
    "train_seed_keras",
    "train_seed_scratch",
]
