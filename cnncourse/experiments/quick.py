"""The chapters' quick experiments: the seed's CNN trained for a few epochs, tracked per epoch.

Chapters 3.3 (losses) and 3.4 (optimizers) compare choices on the same small stratified
subset of the training split (``cnncourse.data.stratified_subset``), over several seeds.
``load_quick_data`` gives them that data, ``train_tracked`` is the one training loop they
share, and ``mean_sd`` is how they report a number over seeds. ``train_and_validate`` is the
plainer loop of chapters 2.2 (pooling) and 2.3 (dense layers): fit on the whole training split
for a few epochs, score validation.
"""

from __future__ import annotations

import time

import numpy as np

from ..checks import check_positive_int, check_seed

__all__ = ["load_quick_data", "train_tracked", "train_and_validate", "mean_sd"]


def load_quick_data(n: int = 1500, seed: int = 0, data_dir=None):
    """A stratified subset of PneumoniaMNIST's training split and the whole validation split, as model inputs.

    Parameters
    ----------
    n : int, images in the subset (``cnncourse.data.stratified_subset``)
    seed : int, the subset's seed; pass ``set_seed(s)``'s effective seed
    data_dir : optional folder of the data file (see ``load_pneumoniamnist``)

    Returns
    -------
    x_small : float32 ``(n, 28, 28, 1)``; y_small : int64 ``(n,)``, the same share of
    pneumonia as the training split; x_val : float32 ``(M, 28, 28, 1)``; y_val : int64 ``(M,)``
    """
    from ..data import load_pneumoniamnist, stratified_subset, to_float_images

    (x_train, y_train), (x_val, y_val), _ = load_pneumoniamnist(data_dir)
    if not 0 < int(n) <= len(y_train):
        raise ValueError(f"n must be between 1 and the training split's {len(y_train)} images, got {n!r}")
    images_small, y_small = stratified_subset(x_train, y_train, n, seed=seed)
    return to_float_images(images_small), y_small, to_float_images(x_val), y_val


def _check_inputs(x_train, y_train, x_val, y_val, seed, epochs, batch_size, probes):
    x_train, x_val, y_val = np.asarray(x_train), np.asarray(x_val), np.asarray(y_val)
    for name, images in (("x_train", x_train), ("x_val", x_val)):
        if images.ndim != 4 or images.dtype != np.float32:
            raise ValueError(f"{name} must be float32 images (N, H, W, C) as data.to_float_images makes them, "
                             f"got dtype {images.dtype} and shape {images.shape}")
    if x_val.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"x_val's images {x_val.shape[1:]} must have the shape of x_train's {x_train.shape[1:]}")
    if len(y_train) != len(x_train):
        raise ValueError(f"y_train must have one target per image ({len(x_train)}), got {len(y_train)}")
    if y_val.shape != (len(x_val),) or not set(np.unique(y_val)) <= {0, 1}:
        raise ValueError(f"y_val must be 0/1 labels of shape ({len(x_val)},), got shape {y_val.shape}")
    check_seed(seed)
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    probes = dict(probes or {})
    for name, probe in probes.items():
        if not isinstance(name, str) or not callable(probe):
            raise TypeError(f"probes must map names to functions of the model, got {name!r}: {probe!r}")
    return probes


def train_tracked(x_train, y_train, x_val, y_val, *, seed: int, optimizer, loss="sparse_categorical_crossentropy",
                  epochs: int = 4, batch_size: int = 32, class_weight=None, probes=None) -> dict:
    """Train the seed's CNN (Keras, two classes) and record how it learns, epoch by epoch.

    ``set_seed(seed)`` seeds the initial weights; it is then called again before training,
    so every loss or optimizer trained with one seed starts from the same weights and sees
    the same batches.

    Parameters
    ----------
    x_train : float32 ``(N, H, W, 1)``, the training images
    y_train : the targets ``loss`` expects: labels ``(N,)``, or one-hot ``(N, 2)``
    x_val : float32 ``(M, H, W, 1)``; y_val : 0/1 labels ``(M,)``
    seed : int; the effective seed (with ``$CNNCOURSE_SEED_OFFSET``) is recorded
    optimizer : a fresh Keras optimizer (or its name)
    loss : a Keras loss name or object
    epochs, batch_size : int
    class_weight : dict, optional, Keras's ``class_weight``
    probes : dict name -> function(model), optional; each is measured on the initial
        weights and after every epoch

    Returns
    -------
    dict with ``seed`` (int, effective), ``loss`` (``(epochs,)``, the training loss of each
    epoch), ``val_auc`` (``(epochs,)``, validation ROC AUC after each epoch), ``val_prob``
    (``(M,)``, the final P(class 1) on validation), ``seconds`` (float, the training time),
    ``model`` (the trained Keras model) and, for each probe, an array ``(epochs + 1, ...)``.
    """
    probes = _check_inputs(x_train, y_train, x_val, y_val, seed, epochs, batch_size, probes)
    from sklearn.metrics import roc_auc_score

    from ..backend import import_keras
    from ..models import seed_cnn
    from ..seeding import set_seed

    keras = import_keras()
    effective = set_seed(seed)
    model = seed_cnn("keras", input_shape=np.shape(x_train)[1:], num_classes=2, seed=effective)
    set_seed(seed)  # the same batches for every choice trained with this seed
    model.compile(optimizer=optimizer, loss=loss)
    record = {"seed": effective, "val_auc": []}
    measured = {name: [probe(model)] for name, probe in probes.items()}

    def on_epoch_end(epoch, logs):
        record["val_auc"].append(roc_auc_score(y_val, model.predict(x_val, verbose=0)[:, 1]))
        for name, probe in probes.items():
            measured[name].append(probe(model))

    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=int(epochs), batch_size=int(batch_size), verbose=0,
                        class_weight=class_weight,
                        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    record["seconds"] = time.perf_counter() - start
    record["loss"] = np.array(history.history["loss"])
    record["val_auc"] = np.array(record["val_auc"])
    record["val_prob"] = model.predict(x_val, verbose=0)[:, 1]
    record["model"] = model
    record.update({name: np.array(values) for name, values in measured.items()})
    return record


def train_and_validate(model, x_train, y_train, x_val, y_val, epochs: int = 3, batch_size: int = 64) -> dict:
    """Compile a two-class Keras model with Adam, fit it, and score the validation split.

    Call ``set_seed`` first: it fixes the initial weights and the order of the batches.

    Parameters
    ----------
    model : an uncompiled ``keras.Model`` with a two-way softmax output ``(N, 2)``
    x_train : float32 ``(N, H, W, C)``; y_train : 0/1 labels ``(N,)``
    x_val : float32 ``(M, H, W, C)``; y_val : 0/1 labels ``(M,)``
    epochs, batch_size : int

    Returns
    -------
    dict with ``seconds`` (float, the training's wall time), ``val_scores`` (``(M,)``, P(class 1)),
    ``val_acc`` (accuracy at 0.5) and ``val_auc`` (ROC AUC)
    """
    from sklearn.metrics import roc_auc_score

    epochs, batch_size = check_positive_int(epochs, "epochs"), check_positive_int(batch_size, "batch_size")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    seconds = time.perf_counter() - start
    scores = model.predict(x_val, verbose=0)[:, 1]  # P(pneumonia)
    return {"seconds": seconds, "val_scores": scores, "val_acc": float(np.mean((scores > 0.5) == y_val)),
            "val_auc": float(roc_auc_score(y_val, scores))}


def mean_sd(values, digits: int = 3) -> str:
    """``"mean ± sd"`` of numbers measured over seeds (sample sd, ``ddof=1``), e.g. ``"0.971 ± 0.004"``.

    Parameters
    ----------
    values : array-like ``(n,)`` of finite numbers, ``n >= 2``
    digits : int >= 0, decimals shown
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise ValueError(f"values must be two or more finite numbers (one per seed), got {values.tolist()!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}")
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"
