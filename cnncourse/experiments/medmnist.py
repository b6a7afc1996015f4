"""MedMNIST 2-D experiments: little data (BreastMNIST, transfer learning) and grades (RetinaMNIST).

Every recipe here takes arrays, not files: the chapters and the command line load the splits
with ``cnncourse.data.load_medmnist`` and pass them in. The pieces:

* ``model_inputs``: uint8 images, grey ``(N, H, W)`` or colour ``(N, H, W, 3)``, to float32 NHWC.
* ``ordinal_targets``, ``ordinal_probabilities``, ``ordinal_grades``: the cumulative ("is the
  grade above k?") formulation of K ordered grades with K - 1 sigmoid outputs.
* ``train_classifier``: ``cnncourse.models.medmnist_cnn`` trained from scratch (AdamW, cosine
  decay, augmentation), softmax or ordinal; its predictions average test-time flips and the
  last epochs' weights (a snapshot ensemble).
* ``transfer_classifier``: start from another trained ``medmnist_cnn`` (the chest X-ray CNN),
  either frozen as a feature extractor with a new linear head, or fine-tuned whole.
* ``evaluate``: AUC and accuracy (two classes); macro AUC, quadratic-weighted kappa, accuracy and
  the confusion matrix (grades).
* ``MedMNISTRecipe`` (``breastmnist_recipe``, ``retinamnist_recipe``): the command line's recipes
  (``python -m cnncourse.experiments medmnist --dataset breastmnist --seed 0``), run by
  ``pipeline.run``: train on the training split, choose nothing on test, report validation and test once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..checks import check_positive_int
from ..seeding import seed_offset, set_seed
from ..models import predict_in_batches
from .pipeline import Recipe

__all__ = [
    "BREAST_RECIPE",
    "RETINA_RECIPE",
    "ClassifierRun",
    "model_inputs",
    "ordinal_targets",
    "ordinal_probabilities",
    "ordinal_grades",
    "flip_views",
    "train_classifier",
    "transfer_classifier",
    "evaluate",
    "MedMNISTRecipe",
    "breastmnist_recipe",
    "retinamnist_recipe",
]

# The command line's recipes: settings of medmnist_cnn and of train_classifier, chosen on the
# validation split (seeds 0-2) and never on test. "members" networks, each from its own seed, are
# trained and their outputs averaged (a deep ensemble); all of them together train in under
# 3 CPU minutes.
BREAST_RECIPE = {
    "members": 3, "epochs": 30, "batch_size": 32, "learning_rate": 2e-3, "weight_decay": 1e-4, "snapshots": 10,
    "filters": (32, 64, 128), "convs_per_block": 1, "dropout": 0.3, "flips": "horizontal", "translation": 0.1,
    "rotation": 0.0, "output": "softmax", "tta": True,
}
RETINA_RECIPE = {
    "members": 3, "epochs": 30, "batch_size": 32, "learning_rate": 2e-3, "weight_decay": 1e-4, "snapshots": 10,
    "filters": (32, 64, 128), "convs_per_block": 1, "dropout": 0.3, "flips": "horizontal_and_vertical",
    "translation": 0.1, "rotation": 0.1, "output": "ordinal", "tta": True,
}
_TRAIN_KEYS = ("epochs", "batch_size", "learning_rate", "weight_decay", "snapshots", "tta", "label_smoothing")


def model_inputs(images) -> np.ndarray:
    """uint8 images to the models' input: float32 ``(N, H, W, C)`` in [0, 1].

    images : integers 0..255, grey ``(N, H, W)`` (a channel axis is added) or colour
    ``(N, H, W, 3)`` (kept). Returns float32 ``(N, H, W, 1)`` or ``(N, H, W, 3)``.
    """
    array = np.asarray(images)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"images must hold integer pixel values 0..255 (uint8 as loaded), got dtype {array.dtype}")
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[-1] == 3)):
        raise ValueError(f"images must have shape (N, H, W) or (N, H, W, 3), got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"images must have values in 0..255, got values from {array.min()} to {array.max()}")
    if array.ndim == 3:
        array = array[..., np.newaxis]
    return (array / 255.0).astype(np.float32)


def _check_labels(labels, num_classes, name="labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integer labels of shape (N,), got dtype {labels.dtype} and shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{name} must be in 0..{num_classes - 1}, got values from {labels.min()} to {labels.max()}")
    return labels.astype(np.int64)


def ordinal_targets(labels, num_classes: int) -> np.ndarray:
    """Cumulative binary targets of K ordered grades: ``targets[n, k] = 1`` if ``labels[n] > k``.

    labels : int ``(N,)`` in ``0 .. K-1``; num_classes : K >= 2.
    Returns float32 ``(N, K - 1)``; grade 0 is all zeros, grade K-1 all ones, e.g. for K = 5
    grade 2 is ``[1, 1, 0, 0]``.
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    labels = _check_labels(labels, num_classes)
    return (labels[:, None] > np.arange(num_classes - 1)[None, :]).astype(np.float32)


def _check_exceedance(exceedance) -> np.ndarray:
    values = np.asarray(exceedance, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 1:
        raise ValueError(f"exceedance must have shape (N, K - 1), got shape {values.shape}")
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError("exceedance must hold probabilities in [0, 1]")
    return values


def ordinal_probabilities(exceedance) -> np.ndarray:
    """Grade probabilities from the K - 1 sigmoids P(grade > k).

    ``P(grade = k) = P(grade > k - 1) - P(grade > k)`` with ``P(grade > -1) = 1`` and
    ``P(grade > K - 1) = 0``. The sigmoids are trained separately, so they need not fall with k;
    they are first made non-increasing (a running minimum), so no probability is negative.

    exceedance : ``(N, K - 1)`` in [0, 1]. Returns float64 ``(N, K)``, rows summing to 1.
    """
    values = np.minimum.accumulate(_check_exceedance(exceedance), axis=1)
    ones, zeros = np.ones((len(values), 1)), np.zeros((len(values), 1))
    cumulative = np.concatenate([ones, values, zeros], axis=1)
    return cumulative[:, :-1] - cumulative[:, 1:]


def ordinal_grades(exceedance) -> np.ndarray:
    """The predicted grade: how many of the K - 1 sigmoids say "above" (> 0.5). ``(N, K-1)`` -> int64 ``(N,)``."""
    return (_check_exceedance(exceedance) > 0.5).sum(axis=1).astype(np.int64)


def flip_views(images, flips) -> list:
    """The images and their flips, for test-time augmentation.

    images : ``(N, H, W, C)``; flips : None, "horizontal", "vertical" or "horizontal_and_vertical".
    Returns a list of ``(N, H, W, C)`` arrays: the images, then left-right flipped (horizontal)
    and/or upside down (vertical).
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got shape {images.shape}")
    if flips not in (None, "horizontal", "vertical", "horizontal_and_vertical"):
        raise ValueError(f"flips must be None, 'horizontal', 'vertical' or 'horizontal_and_vertical', got {flips!r}")
    views = [images]
    if flips in ("horizontal", "horizontal_and_vertical"):
        views.append(images[:, :, ::-1])
    if flips in ("vertical", "horizontal_and_vertical"):
        views.append(images[:, ::-1])
    return views


@dataclass
class ClassifierRun:
    """A trained classifier and how it predicts.

    Attributes
    ----------
    model : the trained ``keras.Model`` (holding the last snapshot's weights)
    output : "softmax" or "ordinal"
    num_classes : K
    snapshots : weight lists whose predictions are averaged (at least one)
    flips : the flips averaged at prediction time (None = the image alone)
    seconds, cpu_seconds : training time, wall clock and process CPU
    history : per-epoch ``loss``
    """

    model: object
    output: str
    num_classes: int
    snapshots: list
    flips: str | None
    seconds: float
    cpu_seconds: float
    history: dict = field(default_factory=dict)

    def raw_outputs(self, x) -> np.ndarray:
        """The network's outputs averaged over snapshots and flips: ``(N, K)`` softmax or ``(N, K-1)`` sigmoids."""
        views = flip_views(x, self.flips)
        total = 0.0
        for weights in self.snapshots:
            self.model.set_weights(weights)
            total = total + sum(predict_in_batches(self.model, view).astype(np.float64) for view in views)
        return total / (len(self.snapshots) * len(views))

    def predict_proba(self, x) -> np.ndarray:
        """Class (grade) probabilities, float64 ``(N, K)``; x : float32 ``(N, H, W, C)``."""
        outputs = self.raw_outputs(x)
        return outputs if self.output == "softmax" else ordinal_probabilities(np.clip(outputs, 0, 1))

    def predict(self, x) -> np.ndarray:
        """Predicted class, int64 ``(N,)``: the arg-max (softmax) or the count of "above" sigmoids (ordinal)."""
        outputs = self.raw_outputs(x)
        return outputs.argmax(axis=1).astype(np.int64) if self.output == "softmax" else ordinal_grades(np.clip(outputs, 0, 1))


def _check_arrays(x_train, y_train, num_classes):
    x_train = np.asarray(x_train)
    if x_train.ndim != 4 or x_train.dtype != np.float32:
        raise ValueError(f"x_train must be float32 images (N, H, W, C) as model_inputs makes them, "
                         f"got dtype {x_train.dtype} and shape {x_train.shape}")
    y_train = _check_labels(y_train, num_classes, "y_train")
    if len(y_train) != len(x_train):
        raise ValueError(f"y_train must have one label per image ({len(x_train)}), got {len(y_train)}")
    return x_train, y_train


def _fit(model, x_train, y_train, *, output, num_classes, seed, epochs, batch_size, learning_rate, weight_decay,
         snapshots, label_smoothing=0.0):
    """Compile and fit ``model``; return the snapshots (weights of the last ``snapshots`` epochs), history and times."""
    from ..backend import import_keras

    keras = import_keras()
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    snapshots = check_positive_int(snapshots, "snapshots")
    if snapshots > epochs:
        raise ValueError(f"snapshots ({snapshots}) must not exceed epochs ({epochs})")
    if output == "softmax":
        targets = np.eye(num_classes, dtype=np.float32)[y_train]
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=float(label_smoothing))
    else:
        targets = ordinal_targets(y_train, num_classes)
        loss = keras.losses.BinaryCrossentropy(label_smoothing=float(label_smoothing))
    steps = epochs * int(np.ceil(len(x_train) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(float(learning_rate), decay_steps=steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=float(weight_decay)), loss=loss)
    kept, history = [], {"loss": []}

    def on_epoch_end(epoch, logs):
        history["loss"].append(float(logs["loss"]))
        if epoch >= epochs - snapshots:
            kept.append(model.get_weights())

    set_seed(seed)  # the same batches for every model trained with this (requested) seed
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(x_train, targets, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
              callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    return kept, history, time.perf_counter() - wall, time.process_time() - cpu


def train_classifier(x_train, y_train, *, seed: int = 0, num_classes: int = 2, output: str = "softmax",
                     epochs: int = 40, batch_size: int = 32, learning_rate: float = 2e-3, weight_decay: float = 1e-4,
                     snapshots: int = 1, tta: bool = True, label_smoothing: float = 0.0,
                     **model_settings) -> ClassifierRun:
    """Train ``cnncourse.models.medmnist_cnn`` from scratch.

    AdamW with a cosine decay of the learning rate to 0; softmax cross-entropy over K classes
    (``output="softmax"``) or binary cross-entropy on ``ordinal_targets`` (``output="ordinal"``).
    Nothing is chosen on validation: the last ``snapshots`` epochs' weights are all kept and
    their predictions averaged.

    Parameters
    ----------
    x_train : float32 ``(N, H, W, C)`` (``model_inputs``); y_train : int ``(N,)`` in 0..K-1
    seed : int, passed to ``cnncourse.set_seed`` (adds ``$CNNCOURSE_SEED_OFFSET``); it drives the
        initial weights, the augmentation, dropout and the batches
    num_classes : K; output : "softmax" or "ordinal"
    epochs, batch_size, learning_rate, weight_decay : training settings
    snapshots : int, the last epochs whose weights are averaged at prediction time (1 = the last)
    tta : bool, also average the flips the model was trained with
    label_smoothing : float in [0, 1), Keras's label smoothing of the targets
    **model_settings : ``medmnist_cnn``'s keyword arguments (filters, dropout, flips, ...)

    Returns
    -------
    ClassifierRun
    """
    num_classes = check_positive_int(num_classes, "num_classes")
    x_train, y_train = _check_arrays(x_train, y_train, num_classes)
    if not 0 <= float(label_smoothing) < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
    model = _classifier(x_train.shape[1:], num_classes, seed, dict(model_settings, output=output))
    return _train(model, x_train, y_train, seed, num_classes, dict(model_settings, output=output), epochs=epochs,
                  batch_size=batch_size, learning_rate=learning_rate, weight_decay=weight_decay, snapshots=snapshots,
                  tta=tta, label_smoothing=label_smoothing)


def _classifier(input_shape, num_classes, seed, model_settings):
    """``set_seed(seed)``, then ``medmnist_cnn`` with the effective seed (``model_settings`` holds ``output``)."""
    from ..models import medmnist_cnn

    return medmnist_cnn(input_shape=input_shape, num_classes=num_classes, seed=set_seed(seed), **model_settings)


def _train(model, x_train, y_train, seed, num_classes, model_settings, *, epochs, batch_size, learning_rate,
           weight_decay, snapshots=1, tta=True, label_smoothing=0.0) -> ClassifierRun:
    """Fit a ``_classifier`` model (``_fit``) and wrap it in a ``ClassifierRun``."""
    output = model_settings.get("output", "softmax")
    kept, history, wall, cpu = _fit(model, x_train, y_train, output=output, num_classes=num_classes, seed=seed,
                                    epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                                    weight_decay=weight_decay, snapshots=snapshots, label_smoothing=label_smoothing)
    flips = model_settings.get("flips", "horizontal") if tta else None
    return ClassifierRun(model, output, num_classes, kept, flips, wall, cpu, history)


TRANSFER_MODES = ("frozen", "finetune")


def transfer_classifier(pretrained, x_train, y_train, *, mode: str = "finetune", seed: int = 0,
                        num_classes: int = 2, epochs: int = 40, batch_size: int = 32,
                        learning_rate: float | None = None, weight_decay: float = 1e-4,
                        tta: bool = True) -> ClassifierRun:
    """Start from a trained ``medmnist_cnn`` (e.g. the chest X-ray CNN) and train a new softmax head.

    * ``mode="frozen"``: the pretrained network up to its ``"features"`` layer (global average
      pooling) is a fixed feature extractor; only a new ``Dense(K, softmax)`` on those features,
      a linear classifier, is trained (on the unaugmented images, learning rate 1e-2 by default).
    * ``mode="finetune"``: every layer starts from the pretrained weights, the head is new, and all
      are trained with augmentation (learning rate 1e-3 by default, half the scratch rate).

    Parameters
    ----------
    pretrained : ``ClassifierRun`` or ``keras.Model`` built by ``medmnist_cnn`` (softmax output),
        with the input shape of ``x_train``
    x_train : float32 ``(N, H, W, C)``; y_train : int ``(N,)`` in 0..K-1
    mode : "frozen" or "finetune"
    seed, num_classes, epochs, batch_size, weight_decay, tta : as in ``train_classifier``
    learning_rate : float, optional (see above)

    Returns
    -------
    ClassifierRun whose model maps images ``(N, H, W, C)`` to ``(N, K)`` probabilities.
    """
    from ..backend import import_keras

    keras = import_keras()
    if mode not in TRANSFER_MODES:
        raise ValueError(f"mode must be one of {TRANSFER_MODES}, got {mode!r}")
    base = pretrained.model if isinstance(pretrained, ClassifierRun) else pretrained
    if isinstance(pretrained, ClassifierRun):
        base.set_weights(pretrained.snapshots[-1])
    if not isinstance(base, keras.Model) or "features" not in [layer.name for layer in base.layers]:
        raise TypeError(f"pretrained must be a medmnist_cnn model (or its ClassifierRun), got {type(base).__name__}")
    num_classes = check_positive_int(num_classes, "num_classes")
    x_train, y_train = _check_arrays(x_train, y_train, num_classes)
    if tuple(base.input_shape[1:]) != x_train.shape[1:]:
        raise ValueError(f"x_train's images {x_train.shape[1:]} must match the pretrained input {tuple(base.input_shape[1:])}")
    effective = set_seed(seed)
    layers = keras.layers
    flips = None
    # A copy, so that freezing or training it leaves the pretrained model as it was.
    clone = keras.models.clone_model(base)
    clone.set_weights(base.get_weights())
    if mode == "frozen":
        extractor = keras.Model(clone.input, clone.get_layer("features").output, name="pretrained_features")
        extractor.trainable = False
        features = predict_in_batches(extractor, x_train)
        head = keras.Sequential([keras.Input(shape=features.shape[1:]),
                                 layers.Dense(num_classes, activation="softmax", name="probabilities")], name="linear_head")
        kept, history, wall, cpu = _fit(head, features, y_train, output="softmax", num_classes=num_classes,
                                        seed=seed, epochs=epochs, batch_size=batch_size,
                                        learning_rate=1e-2 if learning_rate is None else learning_rate,
                                        weight_decay=weight_decay, snapshots=1)
        head.set_weights(kept[-1])
        inputs = keras.Input(shape=x_train.shape[1:], name="image")
        model = keras.Model(inputs, head(extractor(inputs, training=False)), name="frozen_transfer")
        kept = [model.get_weights()]
    else:
        features = clone.get_layer("dropout").output
        outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="new_probabilities")(features)
        model = keras.Model(clone.input, outputs, name="finetuned_transfer")
        kept, history, wall, cpu = _fit(model, x_train, y_train, output="softmax", num_classes=num_classes,
                                        seed=seed, epochs=epochs, batch_size=batch_size,
                                        learning_rate=1e-3 if learning_rate is None else learning_rate,
                                        weight_decay=weight_decay, snapshots=1)
        flip_layer = [layer for layer in base.layers if layer.name == "random_flip"]
        flips = flip_layer[0].mode if (flip_layer and tta) else None
    return ClassifierRun(model, "softmax", num_classes, kept, flips, wall, cpu, history)


def evaluate(y_true, probabilities, predictions=None) -> dict:
    """Scores of class probabilities against labels.

    y_true : int ``(N,)`` in 0..K-1; probabilities : ``(N, K)``; predictions : int ``(N,)``, optional
    (default the arg-max; pass ``ClassifierRun.predict``'s for an ordinal model).
    Returns a dict of floats: K = 2: ``auc`` (class 1's probability as the score) and ``acc``;
    K > 2: ``auc`` (macro one-vs-rest), ``acc``, ``qwk`` (quadratic-weighted kappa) and
    ``confusion`` (K x K nested list, rows true, columns predicted).
    """
    from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score

    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(f"probabilities must have shape (N, K), K >= 2, got shape {probabilities.shape}")
    num_classes = probabilities.shape[1]
    y_true = _check_labels(y_true, num_classes, "y_true")
    if len(y_true) != len(probabilities):
        raise ValueError(f"y_true must have one label per row of probabilities ({len(probabilities)}), got {len(y_true)}")
    predictions = probabilities.argmax(axis=1) if predictions is None else _check_labels(predictions, num_classes, "predictions")
    result = {"acc": float(np.mean(predictions == y_true))}
    if num_classes == 2:
        result["auc"] = float(roc_auc_score(y_true, probabilities[:, 1]))
    else:
        scores = probabilities / probabilities.sum(axis=1, keepdims=True)
        result["auc"] = float(roc_auc_score(y_true, scores, multi_class="ovr", average="macro", labels=np.arange(num_classes)))
        result["qwk"] = float(cohen_kappa_score(y_true, predictions, weights="quadratic", labels=np.arange(num_classes)))
        result["confusion"] = confusion_matrix(y_true, predictions, labels=np.arange(num_classes)).tolist()
    return result


@dataclass
class MedMNISTRecipe(Recipe):
    """A 2-D MedMNIST recipe of ``pipeline``: an ensemble of ``train_classifier``-trained networks.

    Attributes
    ----------
    dataset : the MedMNIST name, recorded in the result (e.g. "breastmnist")
    settings : ``BREAST_RECIPE``-like dict: ``members`` (networks, member m seeded with seed + 1000 m,
        so seed 0's first member is the seed-0 model itself), ``train_classifier``'s training settings
        and ``medmnist_cnn``'s keyword arguments
    epochs : int, optional, overrides the settings' (and caps ``snapshots``)

    The splits are ``load_medmnist``'s: uint8 images ``(N, H, W)`` or ``(N, H, W, 3)``, int labels ``(N,)``.
    """

    dataset: str
    settings: dict
    epochs: int | None = None

    def __post_init__(self):
        settings = dict(self.settings)
        if self.epochs is not None:
            settings["epochs"] = check_positive_int(self.epochs, "epochs")
            settings["snapshots"] = min(settings["snapshots"], settings["epochs"])
        self.members = check_positive_int(settings.pop("members", 1), "members")
        self.train_settings = {key: settings.pop(key) for key in _TRAIN_KEYS if key in settings}
        self.model_settings = settings

    def _member_seeds(self, seed):
        """The seeds asked for, one per member (``set_seed`` adds the offset back)."""
        return [seed - seed_offset() + 1000 * member for member in range(self.members)]

    @staticmethod
    def _num_classes(splits) -> int:
        """K: one more than the largest label of any split."""
        return int(max(labels.max() for _, labels in splits)) + 1

    def build(self, splits, seed):
        (x_train, _), _, _ = splits
        return [_classifier(model_inputs(x_train[:1]).shape[1:], self._num_classes(splits), member, self.model_settings)
                for member in self._member_seeds(seed)]

    def fit(self, models, splits, seed) -> list:
        (x_train, y_train), _, _ = splits
        num_classes = self._num_classes(splits)
        inputs, labels = model_inputs(x_train), _check_labels(y_train, num_classes, "y_train")
        return [_train(model, inputs, labels, member, num_classes, self.model_settings, **self.train_settings)
                for model, member in zip(models, self._member_seeds(seed))]

    def score(self, runs, splits) -> dict:
        (_, y_train), validation, test = splits
        result = {"dataset": self.dataset, "output": runs[0].output, "members": self.members,
                  "epochs": int(self.train_settings["epochs"]), "train_images": int(len(y_train))}
        for split, (x, y) in (("val", validation), ("test", test)):
            outputs = np.mean([run.raw_outputs(model_inputs(x)) for run in runs], axis=0)
            if runs[0].output == "softmax":
                probabilities, predictions = outputs, outputs.argmax(axis=1)
            else:
                outputs = np.clip(outputs, 0, 1)
                probabilities, predictions = ordinal_probabilities(outputs), ordinal_grades(outputs)
            scores = evaluate(y, probabilities, predictions)
            result.update({f"{split}_{key}": (round(value, 4) if isinstance(value, float) else value)
                           for key, value in scores.items()})
        result.update(params=int(runs[0].model.count_params()), snapshots=len(runs[0].snapshots), tta=runs[0].flips)
        return result


def breastmnist_recipe(epochs: int | None = None) -> MedMNISTRecipe:
    """The command line's BreastMNIST recipe (``BREAST_RECIPE``).

    Its result: ``val_auc``, ``val_acc``, ``test_auc``, ``test_acc`` (class 1, normal or benign, as the
    positive class, as MedMNIST scores it), ``params`` (of one member) and the settings.
    """
    return MedMNISTRecipe("breastmnist", BREAST_RECIPE, epochs)


def retinamnist_recipe(epochs: int | None = None) -> MedMNISTRecipe:
    """The command line's RetinaMNIST recipe (``RETINA_RECIPE``).

    Its result: ``val_auc`` / ``test_auc`` (macro one-vs-rest), ``*_acc``, ``*_qwk`` (quadratic-weighted
    kappa), ``*_confusion`` (5 x 5), ``params`` and the settings.
    """
    return MedMNISTRecipe("retinamnist", RETINA_RECIPE, epochs)
