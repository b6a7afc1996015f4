"""The segmentation experiment: a 2-D U-Net on the hippocampus MRI slices, scored per volume.

    python -m cnncourse.experiments hippocampus --seed 0

trains ``models.unet`` (Keras) on slices cut from the 200 training volumes
(``cnncourse.hippocampus``), predicts every slice of the validation (and test) volumes, puts
the slices back together into 3-D volumes and scores each volume with
``metrics.segmentation_report`` (Dice, HD95, volume in mm³ ...). The settings in
``HIPPOCAMPUS_DEFAULTS`` were chosen on the validation volumes only; the test volumes are
read when ``evaluate_test=True`` (the command line does it, once per seed).
"""

from __future__ import annotations

import numpy as np

from .. import hippocampus, metrics
from ..seeding import set_seed
from ..models import predict_in_batches
from .pipeline import Recipe

HIPPOCAMPUS_DEFAULTS = {
    "shape": (56, 40),        # every slice centred in this; it holds every label of the 260 volumes (in-plane up to 59 × 47)
    "axis": 0,                # slices cut across the first axis
    "context": 1,             # neighbouring slices on each side, as extra channels
    "empty_slices": 1.0,      # the fraction of training slices without hippocampus that are kept (drawn once per run)
    "filters": 8,
    "depth": 3,
    "epochs": 6,
    "batch_size": 32,
    "learning_rate": 2e-3,
    "schedule": "cosine",     # the learning rate decays to 0 along a half cosine over the run; or "constant"
    "loss": "dice+ce",        # soft Dice + cross-entropy; "dice" or "ce" alone for the comparison
    "flip": True,             # random left-right flips of the training slices (each volume is one side)
    "skip_connections": True,
    "batch_norm": True,       # Conv -> BatchNormalization -> ReLU in every block
    "batch_norm_momentum": 0.99,  # Keras's default; short runs (the chapter's) need less, e.g. 0.9
    "largest_component": True,  # keep only the largest 3-D connected component of the predicted hippocampus
}
LOSSES = ("dice+ce", "dice", "ce")


def _settings(overrides) -> dict:
    unknown = set(overrides) - set(HIPPOCAMPUS_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(HIPPOCAMPUS_DEFAULTS)}")
    settings = {**HIPPOCAMPUS_DEFAULTS, **overrides}
    if settings["schedule"] not in ("cosine", "constant"):
        raise ValueError(f"schedule must be 'cosine' or 'constant', got {settings['schedule']!r}")
    if not 0.0 <= float(settings["empty_slices"]) <= 1.0:
        raise ValueError(f"empty_slices must be a fraction in [0, 1], got {settings['empty_slices']!r}")
    if settings["loss"] not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {settings['loss']!r}")
    return settings


def _keras_loss(name: str):
    from ..models import dice_loss

    if name == "dice+ce":
        return dice_loss(cross_entropy=1.0)
    if name == "dice":
        return dice_loss()
    return "sparse_categorical_crossentropy"


def training_slices(volumes, settings, seed):
    """The training slices of ``volumes`` (``hippocampus.volumes_to_slices``), with only the fraction
    ``settings["empty_slices"]`` of the slices without hippocampus kept (drawn from ``default_rng([seed, 1])``).

    Returns ``x`` float32 ``(N, h, w, 2 * context + 1)`` and ``y`` uint8 labels ``(N, h, w)``.
    """
    x, y, _ = hippocampus.volumes_to_slices(volumes, settings["shape"], settings["axis"], settings["context"])
    if settings["empty_slices"] < 1.0:  # its own stream: the batches stay as without it
        empty = ~(y > 0).any(axis=(1, 2))
        dropped = empty & (np.random.default_rng([seed, 1]).random(len(y)) >= settings["empty_slices"])
        x, y = x[~dropped], y[~dropped]
    return x, y


def _unet_model(x, settings, seed):
    """The Keras U-Net of ``settings`` for slices ``x`` ``(N, h, w, c)``, compiled (Adam, cosine or constant rate)."""
    from ..backend import import_keras
    from ..models import unet

    keras = import_keras()
    model = unet("keras", input_shape=x.shape[1:], num_classes=3, filters=settings["filters"],
                 depth=settings["depth"], skip_connections=settings["skip_connections"], seed=seed,
                 batch_norm=settings["batch_norm"], batch_norm_momentum=settings["batch_norm_momentum"])
    learning_rate = settings["learning_rate"]
    if settings["schedule"] == "cosine":
        steps = settings["epochs"] * -(-len(x) // settings["batch_size"])
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_keras_loss(settings["loss"]))
    return model


def _fit_unet(model, x, y, settings, seed, verbose=0) -> list[float]:
    """Train on the slices, one shuffle (and random left-right flips) per epoch from ``default_rng(seed)``;
    returns the loss per epoch."""
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(settings["epochs"]):
        order = rng.permutation(len(x))
        x_epoch, y_epoch = x[order], y[order]
        if settings["flip"]:
            flip = rng.random(len(x)) < 0.5
            x_epoch[flip], y_epoch[flip] = x_epoch[flip][:, :, ::-1], y_epoch[flip][:, :, ::-1]
        fit = model.fit(x_epoch, y_epoch, batch_size=settings["batch_size"], epochs=1, shuffle=False,
                        verbose=verbose)
        history.append(float(fit.history["loss"][-1]))
    return history


def train_unet(volumes, seed: int = 0, verbose: int = 0, **overrides):
    """Train a Keras U-Net on the slices of ``volumes``.

    Parameters
    ----------
    volumes : list of ``hippocampus.Volume`` (the training split, or part of it)
    seed : run seed, passed through ``set_seed`` (it adds ``CNNCOURSE_SEED_OFFSET``)
    verbose : Keras's ``fit`` verbosity
    overrides : any key of ``HIPPOCAMPUS_DEFAULTS``

    Returns
    -------
    ``(model, info)``: the trained ``keras.Model`` (input (N, h, w, 2·context+1), output
    softmax (N, h, w, 3)) and a dict with ``settings``, ``train_seconds`` (wall),
    ``train_cpu_seconds`` (this process's CPU time), ``params``, ``slices``, ``seed`` (the
    seed used, offset included) and ``history`` (loss per epoch).
    """
    from ..timing import Clock

    settings = _settings(overrides)
    seed = set_seed(seed)
    x, y = training_slices(volumes, settings, seed)
    model = _unet_model(x, settings, seed)
    with Clock() as clock:
        history = _fit_unet(model, x, y, settings, seed, verbose)
    info = {
        "settings": settings, "train_seconds": clock.wall, "train_cpu_seconds": clock.cpu,
        "params": int(model.count_params()), "slices": int(len(x)), "seed": seed, "history": history,
    }
    return model, info


def keep_largest_component(labels) -> np.ndarray:
    """Zero every voxel of ``labels`` (X, Y, Z) outside the largest 3-D connected component of ``labels > 0``.

    A hippocampus is one connected structure: small detached blobs are false positives
    (they cost little Dice but a lot of HD95). Returns a new array; an empty input stays empty.
    """
    from scipy import ndimage

    labels = np.asarray(labels)
    components, count = ndimage.label(labels > 0)
    if count <= 1:
        return labels.copy()
    largest = 1 + int(np.bincount(components.ravel())[1:].argmax())
    return np.where(components == largest, labels, 0).astype(labels.dtype)


def predict_volumes(model, volumes, shape=None, axis=None, context=None, batch_size: int = 256,
                    probabilities: bool = False, largest_component: bool = False) -> list[np.ndarray]:
    """Label every slice of each volume with ``model`` and put the slices back together.

    Returns
    -------
    list of (X, Y, Z) uint8 label volumes (arg-max of the softmax; with ``largest_component``
    only the largest connected hippocampus component kept), one per volume; or of
    (X, Y, Z, 3) float32 softmax volumes with ``probabilities=True``.
    """
    shape = HIPPOCAMPUS_DEFAULTS["shape"] if shape is None else shape
    axis = HIPPOCAMPUS_DEFAULTS["axis"] if axis is None else axis
    context = HIPPOCAMPUS_DEFAULTS["context"] if context is None else context
    x, _, index = hippocampus.volumes_to_slices(volumes, shape, axis, context)
    scores = predict_in_batches(model, x, batch_size).astype(np.float32)  # eager: no retracing warnings
    out = scores if probabilities else scores.argmax(-1).astype(np.uint8)
    volumes_out = hippocampus.slices_to_volumes(out, index, [volume.label.shape for volume in volumes], axis)
    if largest_component and not probabilities:
        volumes_out = [keep_largest_component(labels) for labels in volumes_out]
    return volumes_out


def score_volumes(predictions, volumes) -> list[dict]:
    """``metrics.segmentation_report`` of each predicted volume against its reference."""
    if len(predictions) != len(volumes):
        raise ValueError(f"predictions and volumes must pair up, got {len(predictions)} and {len(volumes)}")
    return [metrics.segmentation_report(prediction, volume.label, volume.spacing)
            for prediction, volume in zip(predictions, volumes)]


def evaluate_model(model, volumes, info=None) -> dict:
    """Predict and score ``volumes``: per-volume reports and the summary a run prints.

    Returns
    -------
    dict with ``reports`` (one ``segmentation_report`` per volume), ``predictions`` and
    ``summary``: per structure mean Dice, IoU, HD95, MSD, sensitivity, precision, and the
    volume agreement (``volume_bias`` mm³, ``volume_loa`` the 95 % limits of agreement and
    ``volume_r`` the correlation, both None for a single volume).
    """
    settings = (info or {}).get("settings", HIPPOCAMPUS_DEFAULTS)
    predictions = predict_volumes(model, volumes, settings["shape"], settings["axis"], settings["context"],
                                  largest_component=settings["largest_component"])
    reports = score_volumes(predictions, volumes)
    summary = {}
    for name in reports[0]:
        means = {metric: float(np.mean([report[name][metric] for report in reports]))
                 for metric in ("dice", "iou", "hd95", "msd", "sensitivity", "precision")}
        predicted = [report[name]["volume_predicted"] for report in reports]
        reference = [report[name]["volume_reference"] for report in reports]
        if len(reports) >= 2:
            agreement = metrics.bland_altman(predicted, reference)
            means.update(volume_bias=agreement["bias"], volume_loa=[agreement["lower"], agreement["upper"]],
                         volume_r=agreement["pearson_r"])
        else:  # one volume: a bias, but no spread to give limits of agreement or a correlation
            means.update(volume_bias=float(np.mean(np.subtract(predicted, reference))), volume_loa=None,
                         volume_r=None)
        summary[name] = means
    return {"reports": reports, "predictions": predictions, "summary": summary}


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(item) for item in value]
    if isinstance(value, dict):
        return {key: _round(item) for key, item in value.items()}
    return value


class HippocampusRecipe(Recipe):
    """Train on the training volumes, score validation (and test) per volume: the CLI's recipe, run by ``pipeline.run``.

    The splits are ``hippocampus.load_hippocampus``'s dict of ``Volume`` lists (``"train"``, ``"val"``, ``"test"``).
    evaluate_test : also score the test volumes (the CLI does; model choices use ``val`` only);
    verbose : Keras's ``fit`` verbosity; overrides : any key of ``HIPPOCAMPUS_DEFAULTS``.
    The result: ``experiment``, ``val`` and ``test`` (per structure: ``dice``, ``hd95``, ``msd``,
    ``volume_bias``, ``volume_loa``, ...), ``params``, ``epochs``, ``train_volumes``, ``train_slices``, ``settings``.
    """

    def __init__(self, evaluate_test: bool = True, verbose: int = 0, **overrides):
        self.settings, self.evaluate_test, self.verbose = _settings(overrides), evaluate_test, verbose

    def build(self, splits, seed):
        return _unet_model(training_slices(splits["train"], self.settings, seed)[0], self.settings, seed)

    def fit(self, model, splits, seed):
        x, y = training_slices(splits["train"], self.settings, seed)
        _fit_unet(model, x, y, self.settings, seed, self.verbose)
        return model, len(x)

    def score(self, trained, splits) -> dict:
        model, slices = trained
        info = {"settings": self.settings}
        result = {"experiment": "hippocampus", "val": evaluate_model(model, splits["val"], info)["summary"]}
        if self.evaluate_test:
            result["test"] = evaluate_model(model, splits["test"], info)["summary"]
        settings = dict(self.settings, shape=list(self.settings["shape"]))
        result.update(params=int(model.count_params()), epochs=settings["epochs"], train_volumes=len(splits["train"]),
                      train_slices=slices, settings=settings)
        return _round(result)
