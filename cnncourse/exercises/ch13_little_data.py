"""Checkers for "Diagnosis with little data" (chapters/13_little_data)."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "13_little_data"


def _as_indices(value, what):
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything unreadable is a failure with a message
        raise ExerciseFailed(f"{what}: expected an array of indices, received {type(value).__name__}") from None
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ExerciseFailed(f"{what}: expected a 1-D array of integer indices, received dtype {array.dtype}, shape {array.shape}")
    return array


@register("little_data_kfold", CHAPTER, "stratified k-fold split: k (train_indices, val_indices) pairs")
def _check_kfold(candidate):
    rng = grading_rng(13)
    cases = [
        (np.repeat([0, 1], [147, 399]), 5, "BreastMNIST's training labels (147 malignant, 399 benign), k = 5"),
        (rng.permutation(np.repeat([0, 1], [7, 23])), 3, "30 shuffled labels, k = 3"),
        (rng.integers(0, 3, size=50), 4, "50 labels of three classes, k = 4"),
    ]
    for labels, k, description in cases:
        what = f"stratified_kfold(labels, {k}, seed=0) on {description}"
        folds = call_candidate(candidate, labels, k, seed=0, what=what)
        if not isinstance(folds, (list, tuple)) or len(folds) != k:
            raise ExerciseFailed(f"{what}: expected a list of {k} (train_indices, val_indices) pairs, "
                                 f"received {type(folds).__name__} of length {len(folds) if hasattr(folds, '__len__') else '?'}")
        seen = []
        for number, pair in enumerate(folds):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ExerciseFailed(f"{what}: fold {number} must be a pair (train_indices, val_indices)")
            train, val = (_as_indices(part, f"{what}, fold {number}") for part in pair)
            if np.intersect1d(train, val).size:
                raise ExerciseFailed(f"{what}: fold {number} has images in both its training and validation part")
            if not np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(labels))):
                raise ExerciseFailed(f"{what}: in fold {number} the training and validation parts together must be "
                                     f"every index 0..{len(labels) - 1} exactly once")
            counts = np.bincount(labels[val], minlength=labels.max() + 1)
            expected = np.bincount(labels, minlength=labels.max() + 1) / k
            if np.any(np.abs(counts - expected) >= 1):
                raise ExerciseFailed(f"{what}: fold {number}'s validation part has class counts {counts.tolist()}, "
                                     f"expected about {np.round(expected, 1).tolist()} (stratify: each class split "
                                     "evenly over the folds)")
            seen.append(val)
        if not np.array_equal(np.sort(np.concatenate(seen)), np.arange(len(labels))):
            raise ExerciseFailed(f"{what}: every image must be in exactly one fold's validation part")


def _hanley_mcneil(auc, n_positive, n_negative):
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return float(np.sqrt((auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2))
                         / (n_positive * n_negative)))


@register("little_data_auc_se", CHAPTER, "Hanley and McNeil's standard error of an AUC (auc, n_positive, n_negative)")
def _check_auc_se(candidate):
    rng = grading_rng(31)
    drawn = (round(float(rng.uniform(0.55, 0.98)), 3), int(rng.integers(5, 500)), int(rng.integers(5, 500)))  # no table
    for auc, n_positive, n_negative in ((0.85, 57, 21), (0.85, 114, 42), (0.9, 399, 147), (0.7, 10, 30), (0.5, 50, 50),
                                        drawn):
        what = f"auc_standard_error({auc}, {n_positive}, {n_negative})"
        received = call_candidate(candidate, auc, n_positive, n_negative, what=what)
        expected = _hanley_mcneil(auc, n_positive, n_negative)
        try:
            value = float(received)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}: expected a number, received {received!r}"[:300]) from None
        if np.isclose(value, expected**2, rtol=1e-6):
            raise ExerciseFailed(f"{what}: {value:.6f} is the variance; return its square root")
        if np.isclose(value, _hanley_mcneil(auc, n_negative, n_positive), rtol=1e-6) and n_positive != n_negative:
            raise ExerciseFailed(f"{what}: Q1 goes with the positives' count and Q2 with the negatives'; "
                                 "you swapped them")
        assert_close(value, expected, what=what, rtol=1e-6)


@register("little_data_freeze", CHAPTER, "freeze a Keras model except its output layer (a linear probe)")
def _check_freeze(candidate):
    from ..models import medmnist_cnn

    model = medmnist_cnn(filters=(4, 8), seed=0)
    before = [weight.copy() for weight in model.get_weights()]
    what = "freeze_all_but_output(model)"
    received = call_candidate(candidate, model, what=what)
    if received is not model:
        raise ExerciseFailed(f"{what}: return the model you were given (the same object), received {type(received).__name__}")
    output = model.layers[-1]
    trainable = {weight.path for weight in model.trainable_weights}
    expected = {weight.path for weight in output.weights}
    if trainable != expected:
        missing, extra = sorted(expected - trainable), sorted(trainable - expected)
        raise ExerciseFailed(f"{what}: only the output layer's kernel and bias may be trainable; "
                             f"still trainable: {extra[:4]}, frozen by mistake: {missing[:4]}")
    for old, new in zip(before, model.get_weights()):
        if not np.array_equal(old, new):
            raise ExerciseFailed(f"{what}: freezing must not change any weight")
