"""Reproducible experiments, runnable from the shell.

    python -m cnncourse.experiments pneumonia --engine keras --seed 0
    python -m cnncourse.experiments pneumonia --engine scratch --seed 0 --epochs 2

Each run prints one JSON line (``test_acc``, ``test_auc``, ``val_auc``, ``threshold``,
``train_seconds``, ``params`` and a few more), so that results can be collected with
``>> results.jsonl``. The functions behind it live in ``cnncourse.experiments.pneumonia``
and are the ones the end-to-end chapter calls; ``cnncourse.experiments.engines`` trains the
seed's CNN in Keras and in the NumPy engine from the same start, for the chapter's comparison;
``cnncourse.experiments.tuning`` (``python -m cnncourse.experiments.tuning``) chose the improved
model's settings on a tuning split, without the test split.
"""

from .engines import compare_engines, train_both_engines

from .pneumonia import (
    IMPROVED_DEFAULTS,
    PneumoniaRun,
    class_weights,
    ensemble_scores,
    evaluate_scores,
    run_experiment,
    train_improved,
    train_seed_keras,
    train_seed_scratch,
)

__all__ = [
    "IMPROVED_DEFAULTS",
    "PneumoniaRun",
    "class_weights",
    "compare_engines",
    "ensemble_scores",
    "evaluate_scores",
    "run_experiment",
    "train_both_engines",
    "train_improved",
    "train_seed_keras",
    "train_seed_scratch",
]
