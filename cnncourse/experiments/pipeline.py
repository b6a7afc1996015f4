"""One experiment pipeline: ``run(recipe, splits, seed)`` seeds, builds, fits and scores.

A recipe is what one experiment does with data it is given (it reads no file); the caller
(the command line, a chapter) loads the splits once. It has three steps, each a method:

* ``build(splits, seed) -> model``: the untrained model(s), initialisers seeded from ``seed``;
* ``fit(model, splits, seed) -> trained``: the training (timed by ``run``); ``trained`` is
  whatever ``score`` needs (the model, its kept weights, its history ...);
* ``score(trained, splits) -> dict``: JSON-ready numbers, validation and test.

``seed`` is always the effective seed ``cnncourse.set_seed`` returned. ``splits`` is what the
recipe's data loader returns: for the MedMNIST and PneumoniaMNIST recipes the three pairs
``((x_train, y_train), (x_val, y_val), (x_test, y_test))`` of uint8 images ``(N, H, W)`` (or
``(N, H, W, 3)``, or volumes ``(N, D, H, W)``) and int labels ``(N,)``; for the hippocampus
recipe ``cnncourse.hippocampus.load_hippocampus``'s dict of ``Volume`` lists.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import check_positive_int, check_seed
from ..seeding import set_seed
from ..timing import Clock

__all__ = ["Recipe", "Run", "run", "training_subset"]


class Recipe:
    """The three steps of an experiment (see the module's docstring); subclasses implement them.

    ``seeds_keras`` (class attribute): whether ``set_seed`` also seeds Keras and TensorFlow
    (False for the NumPy engine, which then never imports TensorFlow).
    """

    seeds_keras = True

    def build(self, splits, seed: int):
        raise NotImplementedError

    def fit(self, model, splits, seed: int):
        raise NotImplementedError

    def score(self, trained, splits) -> dict:
        raise NotImplementedError


@dataclass
class Run:
    """One run of a recipe.

    Attributes
    ----------
    result : dict, JSON-ready: ``seed`` (asked for), ``effective_seed``, the recipe's scores,
        ``train_seconds`` and ``train_cpu_seconds`` (of ``fit``, wall clock and process CPU)
    trained : what the recipe's ``fit`` returned
    """

    result: dict
    trained: object


def run(recipe: Recipe, splits, seed: int, subset: int | None = None) -> Run:
    """Seed (``cnncourse.set_seed``), then ``recipe.build``, ``recipe.fit`` (timed) and ``recipe.score``.

    subset : int, optional, train on a random sample of this many training images, drawn with the
        effective seed (``training_subset``; array splits only)
    """
    requested = check_seed(seed)
    effective = set_seed(requested, keras=recipe.seeds_keras)
    splits = training_subset(splits, subset, effective)
    model = recipe.build(splits, effective)
    with Clock() as clock:
        trained = recipe.fit(model, splits, effective)
    scores = recipe.score(trained, splits)
    result = {"seed": requested, "effective_seed": effective, **scores,
              "train_seconds": round(clock.wall, 1), "train_cpu_seconds": round(clock.cpu, 1)}
    return Run(result, trained)


def training_subset(splits, subset: int | None, seed: int):
    """The splits with a random sample of ``subset`` training images (all of them when None).

    splits : ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``; subset : int from 2 to
    the training split's size; seed : the effective seed (the sample is ``default_rng(seed)``'s
    permutation's first ``subset``, in file order: the file's first images may all be one class).
    """
    if subset is None:
        return splits
    (x_train, y_train), validation, test = splits
    subset = check_positive_int(subset, "subset")
    if not 2 <= subset <= len(y_train):
        raise ValueError(f"subset must be from 2 to the training split's {len(y_train)} images, got {subset}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(y_train))[:subset])
    return (x_train[keep], y_train[keep]), validation, test
