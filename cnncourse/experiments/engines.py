"""The seed's CNN trained by both engines, Keras and the NumPy engine, from the same start.

``train_both_engines`` builds ``seed_cnn`` in Keras, copies its initial weights into the
NumPy engine (``cnncourse.scratch``) with ``get_weights`` / ``set_weights``, and trains
both with the same optimizer (Adam at Keras's defaults), the same loss (sparse
categorical cross-entropy), the same batch size and the same data order: one permutation
of the training set per epoch, drawn once from ``numpy.random.default_rng(seed)`` and
given to both engines, which then train with ``shuffle=False``. After every epoch both
are scored on the validation split, so the two learning curves can be laid side by side.

Whatever still differs is floating-point rounding (TensorFlow's kernels and NumPy's sum
in another order), which grows slowly over thousands of Adam steps.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from ..metrics import validate_labels
from ..models import predict_in_batches
from ..checks import check_positive_int, check_seed

__all__ = ["ENGINES", "EngineRun", "epoch_orders", "train_both_engines", "compare_engines"]

ENGINES = ("keras", "scratch")
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass
class EngineRun:
    """One engine's training of the seed CNN.

    Attributes
    ----------
    engine : "keras" or "scratch"
    model : the trained ``keras.Sequential`` or ``cnncourse.scratch.Sequential``
    history : dict of per-epoch lists, each of length ``epochs``: ``loss`` and ``accuracy``
        (running means over the epoch's batches, as ``fit`` reports them), ``val_loss`` and
        ``val_accuracy`` (the model after the epoch, on the validation split)
    seconds : wall-clock seconds spent in ``fit`` (validation scoring excluded)
    val_scores, test_scores : float64 (N_val,) and (N_test,), P(pneumonia) after training,
        filled by ``compare_engines`` (None otherwise)
    """

    engine: str
    model: object
    history: dict = field(default_factory=dict)
    seconds: float = 0.0
    val_scores: np.ndarray | None = None
    test_scores: np.ndarray | None = None

    def probabilities(self, images) -> np.ndarray:
        """Softmax outputs ``(N, 2)`` of float32 images ``(N, 28, 28, 1)``, in inference mode."""
        if self.engine == "keras":
            return np.asarray(predict_in_batches(self.model, images), dtype=np.float64)
        return np.asarray(self.model.predict(images, batch_size=512), dtype=np.float64)


def epoch_orders(n_samples: int, epochs: int, seed: int) -> list[np.ndarray]:
    """One permutation of ``range(n_samples)`` per epoch, from ``default_rng(seed)``: a list of ``epochs`` int arrays ``(n_samples,)``."""
    n_samples = check_positive_int(n_samples, "n_samples")
    epochs = check_positive_int(epochs, "epochs")
    rng = np.random.default_rng(seed)
    return [rng.permutation(n_samples) for _ in range(epochs)]


def _check_images(images, name: str) -> np.ndarray:
    array = np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 1:
        raise ValueError(f"{name} must have shape (N, H, W, 1), got shape {array.shape}")
    if array.dtype != np.float32:
        raise TypeError(f"{name} must be float32 in [0, 1] (cnncourse.data.to_float_images), got dtype {array.dtype}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return array


def train_both_engines(x_train, y_train, x_val, y_val, epochs: int = 3, batch_size: int = 32,
                       seed: int = 0) -> dict[str, EngineRun]:
    """Train ``seed_cnn(num_classes=2)`` in Keras and in the NumPy engine from the same start.

    Parameters
    ----------
    x_train : float32 (N, H, W, 1) in [0, 1]; y_train : (N,) labels in {0, 1}
    x_val : float32 (N_val, H, W, 1); y_val : (N_val,) labels in {0, 1}
    epochs, batch_size : positive ints
    seed : int, the effective seed (``cnncourse.set_seed``'s return value): it draws the
        initial weights (Keras's initialisers, copied to the NumPy engine) and the epochs'
        data orders

    Returns
    -------
    ``{"keras": EngineRun, "scratch": EngineRun}``, each with the per-epoch curves
    ``loss``, ``accuracy``, ``val_loss`` and ``val_accuracy``.
    """
    # Everything is checked before anything is built or trained.
    x_train, x_val = _check_images(x_train, "x_train"), _check_images(x_val, "x_val")
    y_train, y_val = validate_labels(y_train, "y_train"), validate_labels(y_val, "y_val")
    if len(y_train) != len(x_train):
        raise ValueError(f"x_train and y_train must have the same length, got {len(x_train)} and {len(y_train)}")
    if len(y_val) != len(x_val):
        raise ValueError(f"x_val and y_val must have the same length, got {len(x_val)} and {len(y_val)}")
    if x_val.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x_val images must have the shape of x_train's, got {x_val.shape[1:]} and {x_train.shape[1:]}")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)

    from ..models import seed_cnn_twins
    from ..timing import blas_threads

    keras_model, scratch_model = seed_cnn_twins(x_train.shape[1:], num_classes=2, seed=seed)

    runs = {"keras": EngineRun("keras", keras_model), "scratch": EngineRun("scratch", scratch_model)}
    for run in runs.values():
        run.history = {name: [] for name in CURVES}
    for order in epoch_orders(len(x_train), epochs, seed):
        images, labels = x_train[order], y_train[order]  # the same order for both engines
        for run in runs.values():
            start = time.perf_counter()
            with blas_threads(1) if run.engine == "scratch" else contextlib.nullcontext():
                logs = run.model.fit(images, labels, epochs=1, batch_size=batch_size, shuffle=False, verbose=0).history
            run.seconds += time.perf_counter() - start
            run.history["loss"].append(float(logs["loss"][0]))
            run.history["accuracy"].append(float(logs["accuracy"][0]))
            probabilities = np.clip(run.probabilities(x_val), 1e-7, 1.0)
            run.history["val_loss"].append(float(-np.mean(np.log(probabilities[np.arange(len(y_val)), y_val]))))
            run.history["val_accuracy"].append(float(np.mean(probabilities.argmax(axis=1) == y_val)))
    return runs


def compare_engines(data, seeds=(0, 1, 2), subset: int | None = 2000, epochs: int = 5,
                    batch_size: int = 32) -> list[dict]:
    """``train_both_engines`` once per seed, on a random training subset; score validation and test.

    Parameters
    ----------
    data : the splits of ``cnncourse.data.load_pneumoniamnist()``: uint8 images (N, 28, 28)
        and labels (N,) for train, validation and test
    seeds : the seeds asked for; each goes through ``cnncourse.set_seed``, so
        ``$CNNCOURSE_SEED_OFFSET`` reaches the weights, the subset and the data orders
    subset : train on this many training images, a stratified random sample drawn per seed
        (``cnncourse.data.stratified_subset``; None: all)
    epochs, batch_size : as in ``train_both_engines``

    Returns
    -------
    one dict per seed: ``seed`` (the effective seed), ``train_images`` and ``runs``, the
    ``{"keras": EngineRun, "scratch": EngineRun}`` of ``train_both_engines`` with
    ``val_scores`` and ``test_scores`` filled in
    """
    from ..data import stratified_subset, to_float_images
    from ..seeding import set_seed

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    if subset is not None and (isinstance(subset, bool) or not isinstance(subset, (int, np.integer))
                               or not 2 <= subset <= len(y_train)):
        raise ValueError(f"subset must be an integer from 2 to {len(y_train)} (the training images), got {subset!r}")
    epochs = check_positive_int(epochs, "epochs")
    val_in, test_in = to_float_images(x_val), to_float_images(x_test)
    comparisons = []
    for seed in seeds:
        effective = set_seed(seed)
        images, labels = x_train, np.asarray(y_train)
        if subset is not None and subset < len(y_train):
            images, labels = stratified_subset(x_train, y_train, int(subset), seed=effective)
        runs = train_both_engines(to_float_images(images), labels, val_in, y_val,
                                  epochs=epochs, batch_size=batch_size, seed=effective)
        for run in runs.values():
            run.val_scores, run.test_scores = run.probabilities(val_in)[:, 1], run.probabilities(test_in)[:, 1]
        comparisons.append({"seed": effective, "train_images": int(len(labels)), "runs": runs})
    return comparisons
