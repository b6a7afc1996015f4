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
the test split is used once, to report. Each is a recipe of ``cnncourse.experiments.pipeline``
(``ImprovedRecipe``, ``SeedRecipe``) run by ``pipeline.run``; the ``train_*`` functions are
the chapters' calls of them. The recipes take model inputs: ``model_splits`` converts the
splits of ``load_pneumoniamnist`` once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, fields

import numpy as np

from ..data import to_float_images
from ..metrics import THRESHOLD_RULES, binary_report, choose_threshold, validate_labels
from ..models import predict_in_batches
from ..checks import check_non_negative_int, check_positive_int
from .pipeline import Recipe, run

__all__ = [
    "IMPROVED_DEFAULTS",
    "ImprovedRecipe",
    "KeepBestValidationAUC",
    "PneumoniaRun",
    "SeedRecipe",
    "class_weights",
    "ensemble_scores",
    "evaluate_scores",
    "train_improved",
    "train_seed_keras",
    "train_seed_scratch",
    "model_splits",
    "pneumonia_recipe",
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
    result : dict, JSON-ready: ``seed``, ``effective_seed``, ``engine``, ``model``, ``epochs``,
        ``test_acc`` (at ``threshold``: Youden's J on validation for the seed model, the recipe's
        ``threshold_rule`` for the improved one), ``test_auc``, ``val_auc``, ``threshold``,
        ``test_sensitivity``, ``test_specificity``, ``test_acc_at_0.5``, ``params``,
        ``train_images``, ``train_seconds`` and ``train_cpu_seconds`` (of ``fit``), and the
        improved model's settings
    val_scores : float array (N_val,), the model's probability of pneumonia on validation
        (filled by the recipe's ``score``)
    test_scores : float array (N_test,), the same on test
    history : dict of per-epoch lists (``loss``, and ``val_auc`` where tracked)
    snapshots : list of weight lists (``model.get_weights()``) whose scores are averaged;
        empty where the model itself is the whole predictor (``model`` holds the first)
    """

    model: object
    result: dict
    val_scores: np.ndarray | None
    test_scores: np.ndarray | None
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


def model_splits(splits):
    """The three splits of ``load_pneumoniamnist`` as model inputs: float32 images ``(N, H, W, 1)`` in [0, 1]
    (``to_float_images``) and int labels ``(N,)``."""
    return tuple((to_float_images(images), np.asarray(labels)) for images, labels in splits)


def _keras_scores(model, x, batch_size=512) -> np.ndarray:
    """P(pneumonia) of a two-output softmax Keras model, (N,), in inference mode."""
    return predict_in_batches(model, x, batch_size)[:, 1].astype(np.float64)


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


def _scores(trained, splits, engine, model_name, epochs, params, rule="youden") -> dict:
    """Score validation and test (filling ``trained.val_scores`` / ``test_scores``): the result's common keys."""
    (x_train, _), (_, y_val), (_, y_test) = splits
    return {"engine": engine, "model": model_name, "epochs": int(epochs),
            **evaluate_scores(y_val, trained.val_scores, y_test, trained.test_scores, rule),
            "params": int(params), "train_images": int(len(x_train))}


class KeepBestValidationAUC:
    """After each epoch, score validation and remember the weights of the best AUC (in memory).

    ``on_epoch_end`` is a ``keras.callbacks.LambdaCallback``'s. With ``cycles > 1`` it also keeps
    the weights at the end of each of the ``cycles`` cosine cycles of ``epochs / cycles`` epochs.
    x_val : float32 ``(N_val, H, W, 1)``; y_val : ``(N_val,)``.
    """

    def __init__(self, model, x_val, y_val, epochs: int, cycles: int = 1, verbose: bool = False):
        self.model, self.x_val, self.y_val = model, x_val, y_val
        self.epochs, self.cycles, self.verbose = epochs, cycles, verbose
        self.history = {"loss": [], "val_auc": []}
        self.best_auc, self.best_weights, self.best_epoch = -np.inf, None, -1
        self.cycle_ends = []

    def on_epoch_end(self, epoch, logs):
        from sklearn.metrics import roc_auc_score

        auc = float(roc_auc_score(self.y_val, _keras_scores(self.model, self.x_val)))
        self.history["loss"].append(float(logs["loss"]))
        self.history["val_auc"].append(auc)
        if auc > self.best_auc:
            self.best_auc, self.best_weights, self.best_epoch = auc, self.model.get_weights(), epoch
        if self.cycles > 1 and (epoch + 1) % (self.epochs // self.cycles) == 0:
            self.cycle_ends.append(self.model.get_weights())
        if self.verbose:
            print(f"epoch {epoch + 1:>2}/{self.epochs}: loss {logs['loss']:.4f}, val AUC {auc:.4f}", flush=True)


@dataclass
class ImprovedRecipe(Recipe):
    """``improved_cnn`` trained in Keras; keeps the epoch of best validation AUC (a recipe of ``pipeline``).

    Attributes
    ----------
    epochs, batch_size, learning_rate, weight_decay, use_class_weights : as named
        (``batch_size`` per replica under a ``strategy``)
    cycles : 1 = one cosine decay over all epochs, keeping the epoch of best validation AUC;
        c > 1 = a snapshot ensemble, c cosine cycles (warm restarts) of epochs / c epochs each,
        whose end-of-cycle weights are averaged (no epoch is selected)
    tta_shift : test-time augmentation, pixels 0..3 (``ensemble_scores``)
    threshold_rule : the rule of ``evaluate_scores``
    model_settings : keyword arguments of ``improved_cnn``
    strategy : a ``tf.distribute`` strategy (``distribute.make_strategy``), optional: the model is
        built in its scope, the data come through ``distribute.input_pipeline`` and batch
        normalisation is synchronised across replicas
    verbose : print one line per epoch; progress : show Keras's progress bar
    """

    epochs: int = IMPROVED_DEFAULTS["epochs"]
    batch_size: int = IMPROVED_DEFAULTS["batch_size"]
    learning_rate: float = IMPROVED_DEFAULTS["learning_rate"]
    weight_decay: float = IMPROVED_DEFAULTS["weight_decay"]
    use_class_weights: bool = IMPROVED_DEFAULTS["use_class_weights"]
    cycles: int = IMPROVED_DEFAULTS["cycles"]
    tta_shift: int = IMPROVED_DEFAULTS["tta_shift"]
    threshold_rule: str = IMPROVED_DEFAULTS["threshold_rule"]
    model_settings: dict = field(default_factory=dict)
    strategy: object = None
    verbose: bool = False
    progress: bool = False

    def __post_init__(self):  # every setting checked once, before anything is built
        self.epochs = check_positive_int(self.epochs, "epochs")
        self.batch_size = check_positive_int(self.batch_size, "batch_size")
        self.cycles = check_positive_int(self.cycles, "cycles")
        if self.epochs % self.cycles:
            raise ValueError(f"epochs ({self.epochs}) must be a multiple of cycles ({self.cycles})")
        if check_non_negative_int(self.tta_shift, "tta_shift") > 3:
            raise ValueError(f"tta_shift must be a whole number of pixels from 0 to 3, got {self.tta_shift!r}")
        if self.threshold_rule not in THRESHOLD_RULES + ("argmax",):
            raise ValueError(f"threshold_rule must be one of {THRESHOLD_RULES + ('argmax',)}, got {self.threshold_rule!r}")
        self.replicas = self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    @classmethod
    def from_settings(cls, epochs=None, **settings) -> "ImprovedRecipe":
        """The recipe from keyword settings: the recipe's own attributes, the rest ``improved_cnn``'s."""
        own = {item.name for item in fields(cls)} - {"model_settings"}
        return cls(**{key: value for key, value in settings.items() if key in own},
                   **({} if epochs is None else {"epochs": epochs}),
                   model_settings={key: value for key, value in settings.items() if key not in own})

    def build(self, splits, seed):
        from ..backend import import_keras
        from ..models import improved_cnn

        keras = import_keras()
        (x_train, _), _, _ = splits
        model_settings = dict(self.model_settings)
        if self.strategy is not None:
            model_settings.setdefault("synchronized_batchnorm", True)
        with self.strategy.scope() if self.strategy is not None else contextlib.nullcontext():
            model = improved_cnn(input_shape=x_train.shape[1:], num_classes=2, seed=seed, **model_settings)
            steps = self.epochs * int(np.ceil(len(x_train) / (self.batch_size * self.replicas)))
            if self.cycles == 1:
                schedule = keras.optimizers.schedules.CosineDecay(self.learning_rate, decay_steps=steps)
            else:  # warm restarts: the rate falls to 0 in each cycle, then jumps back (Loshchilov and Hutter)
                schedule = keras.optimizers.schedules.CosineDecayRestarts(
                    self.learning_rate, first_decay_steps=steps // self.cycles, t_mul=1.0, m_mul=1.0)
            model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=self.weight_decay),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, model, splits, seed) -> PneumoniaRun:
        from ..backend import import_keras

        keras = import_keras()
        (x_train, y_train), (x_val, y_val), _ = splits
        tracker = KeepBestValidationAUC(model, x_val, y_val, self.epochs, self.cycles, self.verbose)
        callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=tracker.on_epoch_end)]
        weights = class_weights(y_train) if self.use_class_weights else None
        if self.strategy is None:
            model.fit(x_train, y_train, epochs=self.epochs, batch_size=self.batch_size, class_weight=weights,
                      shuffle=True, verbose=int(self.progress), callbacks=callbacks)
        else:
            from .distribute import input_pipeline

            per_sample = None if weights is None else np.array([weights[label] for label in y_train], np.float32)
            dataset = input_pipeline(x_train, y_train, self.batch_size * self.replicas, seed, sample_weight=per_sample)
            model.fit(dataset, epochs=self.epochs, shuffle=False, verbose=int(self.progress), callbacks=callbacks)
        snapshots = tracker.cycle_ends if self.cycles > 1 else [tracker.best_weights]
        return PneumoniaRun(model, {"best_epoch": tracker.best_epoch + 1 if self.cycles == 1 else None},
                            None, None, tracker.history, snapshots)

    def score(self, trained, splits) -> dict:
        (x_train, _), (x_val, _), (x_test, _) = splits
        trained.val_scores = ensemble_scores(trained.model, x_val, trained.snapshots, self.tta_shift)
        trained.test_scores = ensemble_scores(trained.model, x_test, trained.snapshots, self.tta_shift)
        return {**_scores(trained, splits, "keras", "improved", self.epochs, trained.model.count_params(),
                          self.threshold_rule),
                **trained.result, "replicas": int(self.replicas), "image_size": int(x_train.shape[1]),
                "cycles": self.cycles, "tta_shift": self.tta_shift, "threshold_rule": self.threshold_rule}


@dataclass
class SeedRecipe(Recipe):
    """The seed's listing, corrected and run as written, in either engine (a recipe of ``pipeline``).

    ``seed_cnn`` compiled with Adam and sparse categorical cross-entropy, trained for
    ``epochs`` at batch 32 with no validation and no class weights, the last epoch kept. Only
    the threshold is then chosen on validation (Youden's J), to compare fairly;
    ``test_acc_at_0.5`` is what the listing's ``model.evaluate`` reports.
    engine : "keras" or "scratch" (the NumPy engine, ``cnncourse.scratch``)
    """

    engine: str = "keras"
    epochs: int = SEED_CNN_EPOCHS
    batch_size: int = 32
    progress: bool = False

    def __post_init__(self):
        if self.engine not in ("keras", "scratch"):
            raise ValueError(f"engine must be 'keras' or 'scratch', got {self.engine!r}")
        self.epochs = check_positive_int(self.epochs, "epochs")
        self.batch_size = check_positive_int(self.batch_size, "batch_size")
        self.seeds_keras = self.engine == "keras"

    def build(self, splits, seed):
        from ..models import seed_cnn
        from ..scratch import Adam

        (x_train, _), _, _ = splits
        model = seed_cnn(engine=self.engine, input_shape=x_train.shape[1:], num_classes=2, seed=seed)
        model.compile(optimizer="adam" if self.engine == "keras" else Adam(),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, model, splits, seed) -> PneumoniaRun:
        (x_train, y_train), _, _ = splits
        extra = {} if self.engine == "keras" else {"seed": seed}
        fitted = model.fit(x_train, y_train, epochs=self.epochs, batch_size=self.batch_size,
                           verbose=int(self.progress), **extra)
        return PneumoniaRun(model, {}, None, None, {"loss": list(fitted.history.get("loss", []))})

    def score(self, trained, splits) -> dict:
        _, (x_val, _), (x_test, _) = splits
        if self.engine == "keras":
            trained.val_scores, trained.test_scores = _keras_scores(trained.model, x_val), _keras_scores(trained.model, x_test)
            params = trained.model.count_params()
        else:
            trained.val_scores = np.asarray(trained.model.predict(x_val), dtype=np.float64)[:, 1]
            trained.test_scores = np.asarray(trained.model.predict(x_test), dtype=np.float64)[:, 1]
            params = sum(np.asarray(w).size for w in trained.model.get_weights())
        return _scores(trained, splits, self.engine, "seed", self.epochs, params)


def _trained(recipe, data, seed, subset, size) -> PneumoniaRun:
    """``pipeline.run`` of a recipe on the splits (``load_pneumoniamnist(size=size)``'s when None)."""
    if data is None:
        from ..data import load_pneumoniamnist

        data = load_pneumoniamnist(size=size)
    outcome = run(recipe, model_splits(data), seed, subset)
    outcome.trained.result = outcome.result
    return outcome.trained


def train_improved(seed: int = 0, epochs: int | None = None, subset: int | None = None, data=None,
                   verbose: bool = False, strategy=None, size: int = 28, progress: bool = False,
                   **settings) -> PneumoniaRun:
    """Train ``improved_cnn`` on PneumoniaMNIST (``ImprovedRecipe``); keep the epoch with the best validation AUC.

    Parameters
    ----------
    seed : int, passed to ``cnncourse.set_seed`` (which adds ``$CNNCOURSE_SEED_OFFSET``); the
        effective seed drives the weights, shuffling, augmentation and ``subset``
    epochs : int, default ``IMPROVED_DEFAULTS["epochs"]``
    subset : int, optional, train on a random sample of ``subset`` training images only
    data : the splits as returned by ``load_pneumoniamnist()`` (loaded, at ``size``, if None)
    verbose, strategy, progress : as ``ImprovedRecipe``'s
    **settings : overrides of ``IMPROVED_DEFAULTS`` (``ImprovedRecipe``'s attributes) or
        ``improved_cnn``'s keyword arguments

    Returns
    -------
    PneumoniaRun whose ``history`` has per-epoch ``loss`` and ``val_auc`` and whose
    ``snapshots`` hold the weights its scores average over.
    """
    recipe = ImprovedRecipe.from_settings(epochs, strategy=strategy, verbose=verbose, progress=progress, **settings)
    return _trained(recipe, data, seed, subset, size)


def train_seed_keras(seed: int = 0, epochs: int = SEED_CNN_EPOCHS, subset: int | None = None, data=None,
                     size: int = 28, progress: bool = False) -> PneumoniaRun:
    """The seed's listing, corrected and run as written: ``seed_cnn`` in Keras (``SeedRecipe``)."""
    return _trained(SeedRecipe("keras", epochs, progress=progress), data, seed, subset, size)


def train_seed_scratch(seed: int = 0, epochs: int = SCRATCH_EPOCHS, subset: int | None = None, data=None,
                       batch_size: int = 32, size: int = 28, progress: bool = False) -> PneumoniaRun:
    """The seed's CNN trained by the course's NumPy engine, as the listing does (``SeedRecipe``)."""
    return _trained(SeedRecipe("scratch", epochs, batch_size, progress), data, seed, subset, size)


def pneumonia_recipe(engine: str = "keras", model: str | None = None, epochs: int | None = None, strategy=None,
                     progress: bool = False) -> Recipe:
    """The recipe ``python -m cnncourse.experiments pneumonia`` runs.

    engine "keras" trains ``model="improved"`` (default, ``ImprovedRecipe``) or ``"seed"``;
    engine "scratch" trains ``"seed"`` (``SeedRecipe``, the only model the NumPy engine builds).
    ``strategy`` (``distribute.make_strategy``) applies to the improved model only.
    """
    if engine not in ("keras", "scratch"):
        raise ValueError(f"engine must be 'keras' or 'scratch', got {engine!r}")
    model = model or ("improved" if engine == "keras" else "seed")
    if model not in ("improved", "seed"):
        raise ValueError(f"model must be 'improved' or 'seed', got {model!r}")
    if engine == "scratch" and model != "seed":
        raise ValueError("the scratch engine trains only the seed's CNN: use --model seed (the default)")
    if model == "improved":
        return ImprovedRecipe.from_settings(epochs, strategy=strategy, progress=progress)
    if strategy is not None:
        raise ValueError("--distribute and --mixed-precision apply to the improved Keras model only")
    return SeedRecipe(engine, SEED_CNN_EPOCHS if epochs is None else epochs, progress=progress)
