"""PneumoniaMNIST end to end: train, pick the epoch and threshold on validation, test once.

Three recipes, each returning a ``PneumoniaRun``:

* ``train_improved``: ``cnncourse.models.improved_cnn`` (batch normalisation, dropout,
  realistic augmentation) trained in Keras with class weights, AdamW and a cosine
  learning-rate schedule; the weights of the epoch with the best **validation** AUC are
  kept. Its settings were chosen by ``cnncourse.experiments.tuning`` on a tuning split
  carved out of the training split, without the test split.
* ``train_seed_keras``: the seed's CNN exactly as its listing trains it (Adam, sparse
  categorical cross-entropy, 5 epochs, batch 32, no validation), with the listing's
  faults corrected (two outputs, real data).
* ``train_seed_scratch``: the same seed CNN in the course's NumPy engine.

In all three the decision threshold is chosen on the validation split (Youden's J) and
the test split is used once, to report.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np

from ..data import to_float_images
from ..metrics import THRESHOLD_RULES, binary_report, choose_threshold, validate_labels
from ..checks import check_positive_int
from ..seeding import set_seed

__all__ = [
    "IMPROVED_DEFAULTS",
    "PneumoniaRun",
    "class_weights",
    "ensemble_scores",
    "evaluate_scores",
    "train_improved",
    "train_seed_keras",
    "train_seed_scratch",
    "run_experiment",
]

# Training settings of the improved model (the architecture's are improved_cnn's defaults).
# epochs, tta_shift and threshold_rule are what cnncourse.experiments.tuning chose on its
# tuning split (recorded/tuning.jsonl); tests/test_tuning.py keeps the two in step.
IMPROVED_DEFAULTS = {
    "epochs": 10,
    "batch_size": 64,
    "learning_rate": 2e-3,
    "weight_decay": 1e-4,
    "use_class_weights": True,
    "cycles": 1,
    "tta_shift": 1,
    "threshold_rule": "argmax",
}
SEED_CNN_EPOCHS = 5  # as in the seed's listing
SCRATCH_EPOCHS = SEED_CNN_EPOCHS  # the NumPy engine trains the listing's 5 epochs in well under a minute


@dataclass
class PneumoniaRun:
    """One trained model and its results.

    Attributes
    ----------
    model : the trained model (``keras.Model`` or ``cnncourse.scratch.Sequential``)
    result : dict, JSON-ready: ``test_acc``, ``test_auc``, ``val_auc``, ``threshold``,
        ``train_seconds``, ``params`` and more (see ``run_experiment``)
    val_scores : float array (N_val,), the model's probability of pneumonia on validation
    test_scores : float array (N_test,), the same on test
    history : dict of per-epoch lists (``loss``, and ``val_auc`` where tracked)
    snapshots : list of weight lists (``model.get_weights()``) whose scores are averaged;
        empty where the model itself is the whole predictor (``model`` holds the first)
    """

    model: object
    result: dict
    val_scores: np.ndarray
    test_scores: np.ndarray
    history: dict = field(default_factory=dict)
    snapshots: list = field(default_factory=list)


def class_weights(labels) -> dict[int, float]:
    """Keras ``class_weight``: ``n / (2 * n_c)`` per class, so both classes weigh the same in total.

    labels : (N,) in {0, 1}. Returns ``{0: w0, 1: w1}``; for PneumoniaMNIST's training
    split (26% normal) the normal images weigh about 2.8 times as much as pneumonia ones.
    """
    labels = validate_labels(labels, "labels")
    counts = np.bincount(labels, minlength=2)
    if np.any(counts == 0):
        raise ValueError(f"labels must contain both classes, got counts {counts.tolist()}")
    return {c: float(len(labels) / (2 * counts[c])) for c in (0, 1)}


def evaluate_scores(y_val, val_scores, y_test, test_scores, rule: str = "youden") -> dict:
    """Choose the threshold on validation, then report on test (the test set is touched once).

    Parameters
    ----------
    y_val, val_scores : (N_val,) validation labels and pneumonia scores
    y_test, test_scores : (N_test,) test labels and pneumonia scores
    rule : a threshold rule of ``cnncourse.metrics.choose_threshold``, or ``"argmax"``:
        the fixed threshold 0.5, the larger of a two-class softmax's outputs

    Returns
    -------
    dict of floats: ``test_acc``, ``test_auc``, ``val_auc``, ``threshold``,
    ``test_sensitivity``, ``test_specificity``, ``test_acc_at_0.5`` (the plain argmax
    decision of a two-class softmax).
    """
    threshold = 0.5 if rule == "argmax" else choose_threshold(y_val, val_scores, rule=rule)
    validation = binary_report(y_val, val_scores, threshold)
    test = binary_report(y_test, test_scores, threshold)
    return {
        "test_acc": round(test["accuracy"], 4),
        "test_auc": round(test["auc"], 4),
        "val_auc": round(validation["auc"], 4),
        "threshold": round(threshold, 4),
        "test_sensitivity": round(test["sensitivity"], 4),
        "test_specificity": round(test["specificity"], 4),
        "test_acc_at_0.5": round(binary_report(y_test, test_scores, 0.5)["accuracy"], 4),
    }


def _load(data, data_dir, subset, seed=0, size=28):
    """The three splits as model inputs; ``subset`` keeps N random training images (seeded)."""
    if data is None:
        from ..data import load_pneumoniamnist

        data = load_pneumoniamnist(data_dir, size=size)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = data
    if subset is not None:
        if int(subset) < 2:
            raise ValueError(f"subset must be at least 2 images, got {subset!r}")
        if int(subset) > len(y_train):
            raise ValueError(f"subset must be at most the training split's {len(y_train)} images, got {subset!r}")
        # A random sample: the file's first images are all pneumonia.
        keep = np.sort(np.random.default_rng(seed).permutation(len(y_train))[: int(subset)])
        x_train, y_train = x_train[keep], y_train[keep]
    return (
        (to_float_images(x_train), np.asarray(y_train)),
        (to_float_images(x_val), np.asarray(y_val)),
        (to_float_images(x_test), np.asarray(y_test)),
    )


class _Clock:
    """Wall-clock and process CPU seconds of a block (CPU time is immune to other load)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _keras_scores(model, x, batch_size=512) -> np.ndarray:
    """P(pneumonia) of a two-output softmax Keras model, (N,), in inference mode."""
    return model.predict(x, batch_size=batch_size, verbose=0)[:, 1].astype(np.float64)


def ensemble_scores(model, x, snapshots=(), tta_shift: int = 0) -> np.ndarray:
    """P(pneumonia), (N,): the mean over weight snapshots and test-time shifted views.

    model : a two-output softmax ``keras.Model``; x : float32 images ``(N, H, W, C)``
    snapshots : weight lists (``model.get_weights()``) to average over; none = the model as it is.
        The model is left holding the first snapshot.
    tta_shift : pixels; 0 = the images alone, s > 0 = the mean over the image and its four shifts
        by s pixels (``cnncourse.augment.shifted_views``), the shifts training augments with
    """
    from ..augment import shifted_views

    views = shifted_views(x, tta_shift) if tta_shift else [x]
    snapshots = list(snapshots) or [None]
    total = np.zeros(len(x))
    for weights in reversed(snapshots):  # the first is set last, so the model keeps it
        if weights is not None:
            model.set_weights(weights)
        total += sum(_keras_scores(model, view) for view in views)
    return total / (len(snapshots) * len(views))


def _result(engine, model, requested, seed, epochs, y_val, val_scores, y_test, test_scores, clock, params,
            train_images, rule="youden", **extra) -> dict:
    """The JSON-ready result of one run, the same keys for every recipe (``extra`` appended)."""
    return {
        "engine": engine,
        "model": model,
        "seed": int(requested),
        "effective_seed": int(seed),
        "epochs": int(epochs),
        **evaluate_scores(y_val, val_scores, y_test, test_scores, rule),
        "train_seconds": round(clock.wall, 1),
        "train_cpu_seconds": round(clock.cpu, 1),
        "params": int(params),
        "train_images": int(train_images),
        **extra,
    }


def train_improved(seed: int = 0, epochs: int | None = None, subset: int | None = None, data=None,
                   data_dir=None, verbose: bool = False, strategy=None, size: int = 28, progress: bool = False,
                   **settings) -> PneumoniaRun:
    """Train ``improved_cnn`` on PneumoniaMNIST; keep the epoch with the best validation AUC.

    Parameters
    ----------
    seed : int, passed to ``cnncourse.set_seed`` (which adds ``$CNNCOURSE_SEED_OFFSET``); the
        effective seed drives the weights, shuffling, augmentation and ``subset``
    epochs : int, default ``IMPROVED_DEFAULTS["epochs"]``
    subset : int, optional, train on a random sample of ``subset`` training images only
    data : the splits as returned by ``load_pneumoniamnist()``, optional (loaded if None)
    verbose : print one line per epoch
    strategy : a ``tf.distribute`` strategy (``cnncourse.experiments.distribute.make_strategy``),
        optional. The model is built in its scope, the data come through ``input_pipeline``,
        ``batch_size`` is per replica (the global batch grows with the replicas) and batch
        normalisation is synchronised across replicas.
    size : image side of the PneumoniaMNIST file to load (28, 64, 128 or 224)
    progress : show Keras's progress bar
    **settings : overrides of ``IMPROVED_DEFAULTS`` or of ``improved_cnn``'s keyword arguments.
        ``batch_size``, ``learning_rate``, ``weight_decay``, ``use_class_weights``: as named;
        ``cycles``: 1 = one cosine decay over all epochs, keeping the epoch of best validation
        AUC; c > 1 = a snapshot ensemble, c cosine cycles (warm restarts) of epochs / c epochs
        each, whose end-of-cycle weights are averaged (no epoch is selected);
        ``tta_shift``: test-time augmentation (``ensemble_scores``);
        ``threshold_rule``: the rule of ``evaluate_scores``

    Returns
    -------
    PneumoniaRun whose ``history`` has per-epoch ``loss`` and ``val_auc`` and whose
    ``snapshots`` hold the weights its scores average over.
    """
    from sklearn.metrics import roc_auc_score

    from ..backend import import_keras
    from ..models import improved_cnn

    keras = import_keras()
    config = dict(IMPROVED_DEFAULTS)
    model_settings = {key: value for key, value in settings.items() if key not in config}
    config.update({key: value for key, value in settings.items() if key in config})
    epochs = check_positive_int(epochs if epochs is not None else config["epochs"], "epochs")
    cycles = check_positive_int(config["cycles"], "cycles")
    if epochs % cycles:
        raise ValueError(f"epochs ({epochs}) must be a multiple of cycles ({cycles})")
    tta_shift = config["tta_shift"]
    if isinstance(tta_shift, bool) or not isinstance(tta_shift, (int, np.integer)) or not 0 <= tta_shift <= 3:
        raise ValueError(f"tta_shift must be a whole number of pixels from 0 to 3, got {tta_shift!r}")
    if config["threshold_rule"] not in THRESHOLD_RULES + ("argmax",):
        raise ValueError(f"threshold_rule must be one of {THRESHOLD_RULES + ('argmax',)}, got {config['threshold_rule']!r}")
    requested, seed = seed, set_seed(seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = _load(data, data_dir, subset, seed, size)
    replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    global_batch = config["batch_size"] * replicas
    if strategy is not None:
        model_settings.setdefault("synchronized_batchnorm", True)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = improved_cnn(input_shape=x_train.shape[1:], num_classes=2, seed=seed, **model_settings)
        steps = epochs * int(np.ceil(len(x_train) / global_batch))
        if cycles == 1:
            schedule = keras.optimizers.schedules.CosineDecay(config["learning_rate"], decay_steps=steps)
        else:  # warm restarts: the rate falls to 0 in each cycle, then jumps back (Loshchilov and Hutter)
            schedule = keras.optimizers.schedules.CosineDecayRestarts(
                config["learning_rate"], first_decay_steps=steps // cycles, t_mul=1.0, m_mul=1.0)
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=config["weight_decay"]),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    history = {"loss": [], "val_auc": []}
    best = {"auc": -np.inf, "weights": None, "epoch": -1}
    cycle_ends = []  # weights at the end of each cosine cycle (cycles > 1)

    class KeepBestValidationAUC(keras.callbacks.Callback):
        """Score validation after each epoch; remember the weights of the best AUC (in memory)."""

        def on_epoch_end(self, epoch, logs=None):
            auc = float(roc_auc_score(y_val, _keras_scores(self.model, x_val)))
            history["loss"].append(float(logs["loss"]))
            history["val_auc"].append(auc)
            if auc > best["auc"]:
                best.update(auc=auc, weights=self.model.get_weights(), epoch=epoch)
            if cycles > 1 and (epoch + 1) % (epochs // cycles) == 0:
                cycle_ends.append(self.model.get_weights())
            if verbose:
                print(f"epoch {epoch + 1:>2}/{epochs}: loss {logs['loss']:.4f}, val AUC {auc:.4f}", flush=True)

    weights = class_weights(y_train) if config["use_class_weights"] else None
    with _Clock() as clock:
        if strategy is None:
            model.fit(
                x_train, y_train, epochs=epochs, batch_size=config["batch_size"], class_weight=weights,
                shuffle=True, verbose=int(progress), callbacks=[KeepBestValidationAUC()],
            )
        else:
            from .distribute import input_pipeline

            per_sample = None if weights is None else np.array([weights[label] for label in y_train], np.float32)
            dataset = input_pipeline(x_train, y_train, global_batch, seed, sample_weight=per_sample)
            model.fit(dataset, epochs=epochs, shuffle=False, verbose=int(progress), callbacks=[KeepBestValidationAUC()])
    snapshots = cycle_ends if cycles > 1 else [best["weights"]]
    val_scores = ensemble_scores(model, x_val, snapshots, tta_shift)
    test_scores = ensemble_scores(model, x_test, snapshots, tta_shift)
    result = _result("keras", "improved", requested, seed, epochs, y_val, val_scores, y_test, test_scores, clock,
                     model.count_params(), len(x_train), rule=config["threshold_rule"],
                     best_epoch=best["epoch"] + 1 if cycles == 1 else None, replicas=int(replicas),
                     image_size=int(x_train.shape[1]), cycles=cycles, tta_shift=tta_shift,
                     threshold_rule=config["threshold_rule"])
    return PneumoniaRun(model, result, val_scores, test_scores, history, snapshots)


def train_seed_keras(seed: int = 0, epochs: int = SEED_CNN_EPOCHS, subset: int | None = None, data=None,
                     data_dir=None, size: int = 28, progress: bool = False) -> PneumoniaRun:
    """The seed's listing, corrected and run as written: ``seed_cnn`` in Keras.

    ``compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])``
    then ``fit(x_train, y_train, epochs=5)`` (batch 32, no validation, no class weights, the
    last epoch kept). Only the threshold is then chosen on validation, to compare fairly;
    ``test_acc_at_0.5`` is what the listing's ``model.evaluate`` reports.
    """
    from ..backend import import_keras
    from ..models import seed_cnn

    keras = import_keras()
    epochs = check_positive_int(epochs, "epochs")
    requested, seed = seed, set_seed(seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = _load(data, data_dir, subset, seed, size)
    model = seed_cnn(engine="keras", input_shape=x_train.shape[1:], num_classes=2, seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with _Clock() as clock:
        fitted = model.fit(x_train, y_train, epochs=epochs, verbose=int(progress))
    val_scores, test_scores = _keras_scores(model, x_val), _keras_scores(model, x_test)
    result = _result("keras", "seed", requested, seed, epochs, y_val, val_scores, y_test, test_scores, clock,
                     model.count_params(), len(x_train))
    return PneumoniaRun(model, result, val_scores, test_scores, {"loss": list(fitted.history["loss"])})


def train_seed_scratch(seed: int = 0, epochs: int = SCRATCH_EPOCHS, subset: int | None = None, data=None,
                       data_dir=None, batch_size: int = 32, size: int = 28, progress: bool = False) -> PneumoniaRun:
    """The seed's CNN trained by the course's NumPy engine (``cnncourse.scratch``), as the listing does.

    Same recipe as ``train_seed_keras``: Adam, sparse categorical cross-entropy, batch 32,
    5 epochs, no validation during training; the threshold is then chosen on validation.
    """
    from ..models import seed_cnn
    from ..scratch import Adam

    epochs = check_positive_int(epochs, "epochs")
    requested, seed = seed, set_seed(seed, keras=False)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = _load(data, data_dir, subset, seed, size)
    model = seed_cnn(engine="scratch", input_shape=x_train.shape[1:], num_classes=2, seed=seed)
    model.compile(optimizer=Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with _Clock() as clock:
        fitted = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=int(progress), seed=seed)
    val_scores = np.asarray(model.predict(x_val), dtype=np.float64)[:, 1]
    test_scores = np.asarray(model.predict(x_test), dtype=np.float64)[:, 1]
    result = _result("scratch", "seed", requested, seed, epochs, y_val, val_scores, y_test, test_scores, clock,
                     sum(np.asarray(w).size for w in model.get_weights()), len(x_train))
    return PneumoniaRun(model, result, val_scores, test_scores, {"loss": list(fitted.history.get("loss", []))})


def run_experiment(engine: str = "keras", model: str | None = None, seed: int = 0, epochs: int | None = None,
                   subset: int | None = None, data_dir=None, size: int = 28, distribute: str = "none",
                   mixed_precision: bool = False, progress: bool = False) -> dict:
    """What ``python -m cnncourse.experiments pneumonia`` runs; returns the JSON-ready result.

    engine "keras" trains ``model="improved"`` (default) or ``"seed"``; engine "scratch"
    trains ``"seed"`` (the only model the NumPy engine builds). ``distribute="mirrored"``
    trains the improved model under ``tf.distribute.MirroredStrategy`` over every GPU (or
    the CPU); ``mixed_precision`` needs a GPU.

    The dict holds ``test_acc`` (at ``threshold``: Youden's J on validation for the seed model,
    the recipe's ``threshold_rule`` for the improved one), ``test_auc``,
    ``val_auc``, ``threshold``, ``train_seconds`` (wall clock of training, validation
    scoring included), ``train_cpu_seconds``, ``params``, plus ``engine``, ``model``,
    ``seed``, ``epochs``, ``test_sensitivity``, ``test_specificity``, ``test_acc_at_0.5``,
    ``train_images`` and ``device`` (where it trained, e.g. ``"1 x CPU"``).
    """
    if engine not in ("keras", "scratch"):
        raise ValueError(f"engine must be 'keras' or 'scratch', got {engine!r}")
    model = model or ("improved" if engine == "keras" else "seed")
    if model not in ("improved", "seed"):
        raise ValueError(f"model must be 'improved' or 'seed', got {model!r}")
    if engine == "scratch" and model != "seed":
        raise ValueError("the scratch engine trains only the seed's CNN: use --model seed (the default)")
    if distribute not in ("none", "mirrored"):
        raise ValueError(f"distribute must be 'none' or 'mirrored', got {distribute!r}")
    if (distribute != "none" or mixed_precision) and model != "improved":
        raise ValueError("--distribute and --mixed-precision apply to the improved Keras model only")
    if engine == "scratch":
        run = train_seed_scratch(seed, epochs if epochs is not None else SCRATCH_EPOCHS, subset, data_dir=data_dir,
                                 size=size, progress=progress)
        run.result["device"] = "CPU (NumPy)"
        return run.result
    from .distribute import describe, make_strategy
    from .distribute import mixed_precision as set_policy

    set_policy(mixed_precision)
    if model == "seed":
        run = train_seed_keras(seed, epochs if epochs is not None else SEED_CNN_EPOCHS, subset, data_dir=data_dir,
                               size=size, progress=progress)
        run.result["device"] = describe()
    else:
        strategy = make_strategy() if distribute == "mirrored" else None
        run = train_improved(seed, epochs, subset, data_dir=data_dir, strategy=strategy, size=size, progress=progress)
        run.result["device"] = describe(strategy)
    return run.result
