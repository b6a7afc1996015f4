"""Reproducible experiments, runnable from the shell.

    python -m cnncourse.experiments pneumonia --engine keras --seed 0
    python -m cnncourse.experiments pneumonia --engine scratch --seed 0 --epochs 2
    python -m cnncourse.experiments medmnist --dataset breastmnist --seed 0
    python -m cnncourse.experiments hippocampus --seed 0
    python -m cnncourse.experiments tuning --summarise results.jsonl
    python -m cnncourse.experiments bench

Each run prints one JSON line (``test_acc``, ``test_auc``, ``val_auc``, ``threshold``,
``train_seconds``, ``params`` and a few more), so that results can be collected with
``>> results.jsonl``. Every experiment is a recipe run by ``pipeline.run(recipe, splits, seed)``
(seed, build, fit, score); the command line loads the data once and passes the arrays in.
``pneumonia`` holds the end-to-end chapter's recipes and calls, ``medmnist``, ``volumes`` and
``hippocampus`` the applications'; ``engines`` trains the seed's CNN in Keras and in the NumPy
engine from the same start; ``tuning`` chose the improved model's settings on a tuning split,
without the test split; ``quick`` holds the chapters' short training helpers.
"""

from .engines import compare_engines, train_both_engines

from .pipeline import Recipe, Run, run
from .pneumonia import (
    IMPROVED_DEFAULTS,
    ImprovedRecipe,
    PneumoniaRun,
    SeedRecipe,
    class_weights,
    ensemble_scores,
    evaluate_scores,
    pneumonia_recipe,
    train_improved,
    train_seed_keras,
    train_seed_scratch,
)

__all__ = [
    "IMPROVED_DEFAULTS",
    "ImprovedRecipe",
    "PneumoniaRun",
    "Recipe",
    "Run",
    "SeedRecipe",
    "class_weights",
    "compare_engines",
    "ensemble_scores",
    "evaluate_scores",
    "pneumonia_recipe",
    "run",
    "train_both_engines",
    "train_improved",
    "train_seed_keras",
    "train_seed_scratch",
]
