"""Medical evaluation of a binary classifier, built on scikit-learn.

A classifier for pneumonia outputs a **score** per image (e.g. the softmax probability of
pneumonia); a **threshold** turns scores into decisions. The functions here take

* ``y_true``: integer labels of shape ``(N,)`` with values in ``{0, 1}`` (1 = positive,
  e.g. pneumonia);
* ``scores``: floats of shape ``(N,)``, higher meaning "more likely positive";

and compute what a clinician asks about a test: how many diseased patients it finds
(sensitivity), how many healthy ones it clears (specificity), how far a positive or
negative result can be trusted (PPV, NPV), the threshold-free ROC AUC, bootstrap
confidence intervals, whether one model ranks the same test images better than another
(a paired bootstrap of the AUC difference, DeLong's test) and a calibration (reliability)
table.

scikit-learn (``roc_auc_score``, ``roc_curve``, ``confusion_matrix``) is the reference
implementation; the few formulas written here are tested against it.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .checks import check_float, check_int, check_positive_int, check_seed

__all__ = [
    "validate_labels",
    "validate_binary",
    "confusion",
    "binary_report",
    "choose_threshold",
    "bootstrap_ci",
    "paired_bootstrap_auc",
    "delong_test",
    "calibration_bins",
    "majority_baseline",
    "THRESHOLD_RULES",
]

THRESHOLD_RULES = ("youden", "balanced_accuracy", "accuracy", "sensitivity")


def _label_vector(values, name: str, note: str) -> np.ndarray:
    """``values`` as an array of shape (N,); a column (N, 1) is flattened, another rank refused."""
    labels = np.asarray(values)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{name} must have shape (N,),{note} got shape {labels.shape}")
    return labels


def validate_labels(values, name: str = "y_true") -> np.ndarray:
    """Check binary labels and return them as int64 of shape (N,).

    Parameters
    ----------
    values : array-like of shape (N,) or a column (N, 1), each 0 or 1 (integers, booleans,
        or floats equal to 0.0 / 1.0)
    name : the argument's name, used in error messages

    Returns
    -------
    int64 array of shape (N,)

    Raises
    ------
    ValueError on a wrong rank or a value other than 0 and 1; TypeError on non-numeric labels.
    """
    labels = _label_vector(values, name, "")
    if labels.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric labels 0/1, got dtype {labels.dtype}")
    unique = np.unique(labels)
    if not np.all(np.isin(unique, (0, 1))):
        raise ValueError(f"{name} must contain only 0 and 1, got values {unique[:10].tolist()}")
    return labels.astype(np.int64)


def validate_binary(y_true, scores, *, scores_name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """Check and convert labels and scores.

    Parameters
    ----------
    y_true : array-like of shape (N,)
        Labels, 0 or 1 (integers, booleans, or floats equal to 0.0 / 1.0).
    scores : array-like of shape (N,)
        Finite real scores. A column ``(N, 1)`` is accepted and flattened.

    Returns
    -------
    (labels int64 (N,), scores float64 (N,))

    Raises
    ------
    ValueError
        On a wrong rank, mismatched lengths, an empty input, NaN or infinite scores,
        or labels outside {0, 1}.
    """
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{scores_name} must be numeric, got {type(scores).__name__}") from None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    labels = validate_labels(y_true, "y_true")
    if values.ndim != 1:
        raise ValueError(
            f"{scores_name} must have shape (N,) (one score per image, e.g. probabilities[:, 1]), "
            f"got shape {values.shape}"
        )
    if labels.shape[0] != values.shape[0]:
        raise ValueError(f"y_true and {scores_name} must have the same length, got {labels.shape[0]} and {values.shape[0]}")
    if labels.shape[0] == 0:
        raise ValueError("y_true is empty")
    if not np.all(np.isfinite(values)):
        bad = int(np.sum(~np.isfinite(values)))
        raise ValueError(f"{scores_name} contains {bad} NaN or infinite value(s)")
    return labels, values


def confusion(y_true, y_pred) -> np.ndarray:
    """The 2 x 2 confusion matrix ``[[TN, FP], [FN, TP]]`` (rows: truth, columns: decision).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (N,), values in {0, 1}

    Returns
    -------
    int64 array of shape (2, 2), laid out as scikit-learn's ``confusion_matrix(labels=[0, 1])``.
    """
    from sklearn.metrics import confusion_matrix

    labels, decisions = validate_labels(y_true, "y_true"), validate_labels(y_pred, "y_pred")
    if decisions.shape != labels.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {labels.shape} and {decisions.shape}")
    return confusion_matrix(labels, decisions, labels=[0, 1]).astype(np.int64)


def _safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or NaN when the denominator is 0 (e.g. no positive decision)."""
    return float(numerator / denominator) if denominator > 0 else float("nan")


def binary_report(y_true, scores, threshold: float = 0.5) -> dict:
    """Sensitivity, specificity, PPV, NPV, accuracy and AUC of ``scores >= threshold``.

    Parameters
    ----------
    y_true : (N,) labels in {0, 1}, 1 = positive (pneumonia)
    scores : (N,) scores, higher = more likely positive
    threshold : float
        An image is called positive when its score is ``>= threshold``.

    Returns
    -------
    dict with floats ``sensitivity`` (TP / (TP + FN), recall), ``specificity``
    (TN / (TN + FP)), ``ppv`` (TP / (TP + FP), precision), ``npv`` (TN / (TN + FN)),
    ``accuracy``, ``balanced_accuracy`` (mean of sensitivity and specificity), ``auc``
    (ROC AUC, threshold-free; NaN when only one class is present), ``threshold``, and
    ``confusion``, the (2, 2) int array ``[[TN, FP], [FN, TP]]``. A ratio whose
    denominator is 0 is NaN.
    """
    from sklearn.metrics import roc_auc_score

    labels, values = validate_binary(y_true, scores)
    threshold = check_float(threshold, "threshold", low=None)
    decisions = (values >= threshold).astype(np.int64)
    matrix = confusion(labels, decisions)
    (tn, fp), (fn, tp) = matrix
    sensitivity = _safe_ratio(tp, tp + fn)
    specificity = _safe_ratio(tn, tn + fp)
    auc = float(roc_auc_score(labels, values)) if len(np.unique(labels)) == 2 else float("nan")
    return {
        "sensitivity": sensitivity,
        "specificity": specificity,
        "ppv": _safe_ratio(tp, tp + fp),
        "npv": _safe_ratio(tn, tn + fn),
        "accuracy": float((tp + tn) / matrix.sum()),
        "balanced_accuracy": float((sensitivity + specificity) / 2),
        "auc": auc,
        "threshold": threshold,
        "confusion": matrix,
    }


def choose_threshold(y_val, scores_val, rule: str = "youden", min_sensitivity: float = 0.95) -> float:
    """A decision threshold chosen on the **validation** split (never on test).

    Parameters
    ----------
    y_val : (N,) validation labels in {0, 1}; both classes must be present.
    scores_val : (N,) validation scores.
    rule : str
        * ``"youden"``: maximise Youden's J = sensitivity + specificity - 1 (equivalently
          balanced accuracy), which ignores the class balance of the validation split;
        * ``"balanced_accuracy"``: the same optimum as ``"youden"``;
        * ``"accuracy"``: maximise accuracy on validation (depends on its class balance);
        * ``"sensitivity"``: the highest threshold whose sensitivity is at least
          ``min_sensitivity`` (a screening rule: miss few patients).
    min_sensitivity : float in (0, 1], used by ``rule="sensitivity"``.

    Returns
    -------
    float: classify as positive when ``score >= threshold``. The cut is placed midway
    between the best validation score cut-off and the next lower validation score, so that
    it does not sit exactly on a validation score; among equally good cut-offs the highest
    is taken.
    """
    from sklearn.metrics import roc_curve

    labels, values = validate_binary(y_val, scores_val, scores_name="scores_val")
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"rule must be one of {THRESHOLD_RULES}, got {rule!r}")
    if len(np.unique(labels)) < 2:
        raise ValueError("y_val must contain both classes to choose a threshold")
    false_positive_rate, true_positive_rate, thresholds = roc_curve(labels, values, drop_intermediate=False)
    # roc_curve's first threshold is +inf (nothing positive); keep only real cut-offs.
    false_positive_rate, true_positive_rate, thresholds = false_positive_rate[1:], true_positive_rate[1:], thresholds[1:]
    if rule in ("youden", "balanced_accuracy"):
        objective = true_positive_rate - false_positive_rate
    elif rule == "accuracy":
        positives, negatives = labels.sum(), len(labels) - labels.sum()
        objective = (true_positive_rate * positives + (1 - false_positive_rate) * negatives) / len(labels)
    else:
        if not 0 < min_sensitivity <= 1:
            raise ValueError(f"min_sensitivity must be in (0, 1], got {min_sensitivity!r}")
        objective = np.where(true_positive_rate >= min_sensitivity, thresholds, -np.inf)
    best = int(np.argmax(objective))
    # Put the cut between this score and the next lower distinct score.
    lower = values[values < thresholds[best]]
    if lower.size:
        return float((thresholds[best] + lower.max()) / 2)
    return float(thresholds[best])


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true,
    scores,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Percentile bootstrap confidence interval of ``metric(y_true, scores)``.

    The test set is resampled with replacement ``n_boot`` times (stratified by class,
    so every resample keeps the original numbers of positives and negatives and the
    AUC is always defined); the interval is the central ``confidence`` part of the
    ``n_boot`` metric values.

    Parameters
    ----------
    metric : callable ``(y_true (N,), scores (N,)) -> float``, e.g.
        ``sklearn.metrics.roc_auc_score`` or ``lambda y, s: np.mean((s >= t) == y)``.
    y_true : (N,) labels in {0, 1}
    scores : (N,) scores
    n_boot : int >= 10, number of resamples
    confidence : float in (0, 1)
    seed : int, seed of ``numpy.random.default_rng``

    Returns
    -------
    (point estimate on the full data, lower bound, upper bound)
    """
    labels, values = validate_binary(y_true, scores)
    if not callable(metric):
        raise TypeError(f"metric must be a function (y_true, scores) -> float, got {type(metric).__name__}")
    n_boot = check_int(n_boot, "n_boot", low=10)
    confidence = check_float(confidence, "confidence", 0.0, 1.0, low_inclusive=False)
    rng = np.random.default_rng(check_seed(seed))
    groups = [np.flatnonzero(labels == value) for value in (0, 1)]
    groups = [group for group in groups if group.size]
    estimates = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        index = np.concatenate([rng.choice(group, size=group.size, replace=True) for group in groups])
        estimates[b] = metric(labels[index], values[index])
    alpha = (1 - confidence) / 2
    lower, upper = np.quantile(estimates, [alpha, 1 - alpha])
    return float(metric(labels, values)), float(lower), float(upper)


def _validate_pair(y_true, scores_a, scores_b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (N,) and two models' scores (N,) on the same images, both classes present."""
    labels, values_a = validate_binary(y_true, scores_a, scores_name="scores_a")
    _, values_b = validate_binary(labels, scores_b, scores_name="scores_b")
    if len(np.unique(labels)) < 2:
        raise ValueError(f"y_true must contain both classes to compute an AUC, got only class {int(labels[0])}")
    return labels, values_a, values_b


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n along the last axis, ties sharing their mean rank; shape of ``values``."""
    from scipy.stats import rankdata

    return rankdata(values, axis=-1)


def paired_bootstrap_auc(y_true, scores_a, scores_b, n_resamples: int = 2000, confidence: float = 0.95,
                         seed: int = 0) -> dict:
    """Paired bootstrap of the ROC-AUC difference of two models scored on the same images.

    Each resample draws the same image indices for both models (with replacement, within
    each class, so that every resample keeps the numbers of positives and negatives), and
    records ``AUC_a - AUC_b`` on it. Because both models see the same resampled images,
    what the images have in common (easy and hard cases) cancels in the difference, and
    the interval is much narrower than the two separate AUC intervals would suggest.

    Parameters
    ----------
    y_true : (N,) labels in {0, 1}; both classes must be present
    scores_a, scores_b : (N,) finite scores of model a and model b on the same N images
    n_resamples : int >= 10
    confidence : float in (0, 1), the interval's coverage
    seed : int, seed of ``numpy.random.default_rng``

    Returns
    -------
    dict with floats ``auc_a``, ``auc_b``, ``difference`` (``auc_a - auc_b`` on the full data,
    as scikit-learn's ``roc_auc_score`` computes them), ``lower`` and ``upper`` (the
    percentile interval of the resampled differences), ``standard_error`` (their standard
    deviation), ``p_value`` (two-sided: twice the smaller share of resampled differences
    on either side of 0, counted as (k + 1) / (n_resamples + 1) so that it is never 0; at
    most 1), ``confidence`` and the int ``n_resamples``.
    """
    from sklearn.metrics import roc_auc_score

    labels, values_a, values_b = _validate_pair(y_true, scores_a, scores_b)
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 10:
        raise ValueError(f"n_resamples must be an integer of at least 10, got {n_resamples!r}")
    if not isinstance(confidence, (int, float, np.floating)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    n_positive, n_negative = positives.size, negatives.size
    differences = np.empty(int(n_resamples))
    chunk = max(1, 2_000_000 // len(labels))  # resamples per block: bounded memory for large N
    for start in range(0, int(n_resamples), chunk):
        count = min(chunk, int(n_resamples) - start)
        # (count, N) indices, positives first: the same rows index both models.
        index = np.concatenate([rng.choice(positives, (count, n_positive)), rng.choice(negatives, (count, n_negative))],
                               axis=1)
        aucs = []
        for values in (values_a, values_b):
            ranks = _midranks(values[index])
            # Mann-Whitney: AUC = (sum of the positives' ranks - n+(n+ + 1)/2) / (n+ n-).
            aucs.append((ranks[:, :n_positive].sum(axis=1) - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative))
        differences[start:start + count] = aucs[0] - aucs[1]
    alpha = (1 - confidence) / 2
    lower, upper = np.quantile(differences, [alpha, 1 - alpha])
    auc_a, auc_b = float(roc_auc_score(labels, values_a)), float(roc_auc_score(labels, values_b))
    # (k + 1) / (n + 1): a bootstrap of n resamples cannot show p below 1 / (n + 1), so it never reports 0.
    tail = min(np.sum(differences <= 0), np.sum(differences >= 0))
    p_value = min(1.0, 2 * (tail + 1) / (int(n_resamples) + 1))
    return {
        "auc_a": auc_a,
        "auc_b": auc_b,
        "difference": auc_a - auc_b,
        "lower": float(lower),
        "upper": float(upper),
        "standard_error": float(np.std(differences, ddof=1)),
        "p_value": float(p_value),
        "confidence": float(confidence),
        "n_resamples": int(n_resamples),
    }


def delong_test(y_true, scores_a, scores_b) -> dict:
    """DeLong's test of two correlated ROC AUCs (two models scored on the same images).

    DeLong, DeLong and Clarke-Pearson (1988): each AUC is a Mann-Whitney statistic, the mean
    of ``psi(x, y)`` over (positive score x, negative score y) pairs, with ``psi = 1`` if
    ``x > y``, 1/2 on a tie, 0 otherwise. Its *structural components* (each positive's
    mean psi over the negatives, ``V10`` (N+,), and each negative's mean over the
    positives, ``V01`` (N-,)) give the covariance of the two AUCs,
    ``S = cov(V10) / N+ + cov(V01) / N-`` (2 x 2), and the difference is tested with
    ``z = (AUC_a - AUC_b) / sqrt(S_aa + S_bb - 2 S_ab)`` against a standard normal.

    Parameters
    ----------
    y_true : (N,) labels in {0, 1}; both classes must be present
    scores_a, scores_b : (N,) finite scores of the two models on the same N images

    Returns
    -------
    dict with floats ``auc_a``, ``auc_b``, ``difference`` (``auc_a - auc_b``),
    ``standard_error`` (of the difference), ``z`` and ``p_value`` (two-sided). Identical
    scores give difference 0, standard error 0, z 0 and p-value 1.
    """
    labels, values_a, values_b = _validate_pair(y_true, scores_a, scores_b)
    positive = labels == 1
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    v10, v01 = [], []
    for values in (values_a, values_b):
        all_ranks = _midranks(values)
        positive_ranks = _midranks(values[positive])
        negative_ranks = _midranks(values[~positive])
        # Rank among all minus rank within its own class = how many of the other class lie below (ties: 1/2).
        v10.append((all_ranks[positive] - positive_ranks) / n_negative)
        v01.append(1 - (all_ranks[~positive] - negative_ranks) / n_positive)
    v10, v01 = np.array(v10), np.array(v01)  # (2, N+), (2, N-)
    auc = v10.mean(axis=1)
    covariance = np.cov(v10) / n_positive + np.cov(v01) / n_negative  # (2, 2)
    variance = max(float(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]), 0.0)
    difference = float(auc[0] - auc[1])
    standard_error = float(np.sqrt(variance))
    if standard_error == 0.0:
        z, p_value = (0.0, 1.0) if difference == 0.0 else (float(np.sign(difference) * np.inf), 0.0)
    else:
        z = difference / standard_error
        p_value = float(math.erfc(abs(z) / math.sqrt(2)))  # 2 * (1 - Phi(|z|))
    return {"auc_a": float(auc[0]), "auc_b": float(auc[1]), "difference": difference,
            "standard_error": standard_error, "z": float(z), "p_value": p_value}


def calibration_bins(y_true, probabilities, n_bins: int = 10) -> dict:
    """A reliability table: mean predicted probability vs observed frequency per bin.

    Parameters
    ----------
    y_true : (N,) labels in {0, 1}
    probabilities : (N,) predicted probabilities of class 1, in [0, 1]
    n_bins : int >= 1, equal-width bins over [0, 1]

    Returns
    -------
    dict of arrays of shape (n_bins,): ``mean_predicted`` (NaN for empty bins),
    ``observed`` (fraction of positives, NaN for empty bins), ``count`` (int), ``edges``
    of shape (n_bins + 1,), and the float ``ece``, the expected calibration error
    sum_b (count_b / N) * |observed_b - mean_predicted_b|.
    """
    labels, values = validate_binary(y_true, probabilities, scores_name="probabilities")
    if np.any((values < 0) | (values > 1)):
        raise ValueError(
            f"probabilities must lie in [0, 1], got values from {values.min():.4g} to {values.max():.4g}"
        )
    n_bins = check_positive_int(n_bins, "n_bins")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin b holds [edges[b], edges[b+1]); the last bin also holds 1.0.
    which = np.clip(np.digitize(values, edges[1:-1], right=False), 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(which, weights=values, minlength=n_bins) / count
        observed = np.bincount(which, weights=labels, minlength=n_bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] / len(values) * np.abs(observed[filled] - mean_predicted[filled])))
    return {"mean_predicted": mean_predicted, "observed": observed, "count": count, "edges": edges, "ece": ece}


def majority_baseline(y_train, y_test) -> dict:
    """The "model" that always answers the training split's majority class.

    Parameters
    ----------
    y_train, y_test : (N,) labels in {0, 1}

    Returns
    -------
    ``binary_report`` of the constant score on ``y_test`` (AUC 0.5 when both classes are
    present in ``y_test``), plus ``majority_class``.
    """
    train_labels, test_labels = validate_labels(y_train, "y_train"), validate_labels(y_test, "y_test")
    if train_labels.size == 0 or test_labels.size == 0:
        raise ValueError("y_train and y_test must not be empty")
    majority_class = int(np.bincount(train_labels, minlength=2).argmax())
    report = binary_report(test_labels, np.full(test_labels.shape, float(majority_class)), threshold=0.5)
    report["majority_class"] = majority_class
    return report


# ----------------------------------------------------------------------------------
# Segmentation: overlap and surface distances of 3-D masks (the segmentation chapter)
# ----------------------------------------------------------------------------------
#
# Conventions for empty masks (defined results, never NaN, never an exception):
#
# * Dice, IoU: both masks empty -> 1.0 (nothing to find, nothing found); one empty -> 0.0.
# * sensitivity TP / (TP + FN): an empty reference -> 1.0 (nothing was missed).
# * precision TP / (TP + FP): an empty prediction -> 1.0 (nothing false was claimed).
# * HD95, mean surface distance: both empty -> 0.0 mm; exactly one empty -> the diagonal of
#   the image in millimetres (the largest distance the image allows: a worst-case penalty,
#   as challenges such as BraTS use), so means over volumes stay finite.
#
# Surfaces follow medpy.metric.binary (the reference the tests compare with): a mask's
# surface is the mask minus its erosion by the face-connected cross, distances are Euclidean
# in millimetres (scipy.ndimage.distance_transform_edt with the voxel spacing).

__all__ += [
    "validate_masks",
    "overlap_scores",
    "dice_score",
    "iou_score",
    "surface_distances",
    "hausdorff95",
    "mean_surface_distance",
    "pixel_accuracy",
    "segmentation_report",
    "summarize_reports",
    "bland_altman",
]

HIPPOCAMPUS_STRUCTURES = {"anterior": (1,), "posterior": (2,), "hippocampus": (1, 2)}


def validate_masks(prediction, reference, spacing=None):
    """Check two masks of one shape; return them as bool arrays (and the spacing as floats).

    Parameters
    ----------
    prediction, reference : (D1, ..., Dn) masks (bool or 0/1 integers), n >= 1, the same shape
    spacing : (n,) positive voxel sizes in mm, or None

    Returns
    -------
    ``(prediction, reference)`` as bool arrays, or ``(prediction, reference, spacing)`` when
    ``spacing`` is given.
    """
    masks = []
    for name, value in (("prediction", prediction), ("reference", reference)):
        array = np.asarray(value)
        if array.ndim < 1:
            raise ValueError(f"{name} must be a mask with at least one axis, got a scalar")
        if array.dtype != bool:
            if not np.issubdtype(array.dtype, np.number) or not np.all(np.isin(array, (0, 1))):
                raise ValueError(f"{name} must be a binary mask (bool or 0/1), got dtype {array.dtype} "
                                 f"with values outside {{0, 1}}")
            array = array.astype(bool)
        masks.append(array)
    if masks[0].shape != masks[1].shape:
        raise ValueError(f"prediction and reference must have the same shape, got {masks[0].shape} "
                         f"and {masks[1].shape}")
    if spacing is None:
        return masks[0], masks[1]
    spacing_array = np.asarray(spacing, dtype=float).reshape(-1)
    if spacing_array.shape != (masks[0].ndim,) or not np.all(np.isfinite(spacing_array)) or np.any(spacing_array <= 0):
        raise ValueError(f"spacing must be {masks[0].ndim} positive voxel sizes in mm (one per axis), got {spacing!r}")
    return masks[0], masks[1], spacing_array


def overlap_scores(prediction, reference) -> dict:
    """Dice, IoU (Jaccard), sensitivity and precision of a predicted mask.

    Parameters
    ----------
    prediction, reference : (D1, ..., Dn) binary masks of one shape

    Returns
    -------
    dict with ``dice`` = 2|P∩R| / (|P| + |R|), ``iou`` = |P∩R| / |P∪R|,
    ``sensitivity`` = |P∩R| / |R|, ``precision`` = |P∩R| / |P| (floats; empty masks as in the
    conventions above), and the counts ``tp``, ``fp``, ``fn``.
    """
    prediction, reference = validate_masks(prediction, reference)
    tp = int(np.count_nonzero(prediction & reference))
    fp = int(np.count_nonzero(prediction & ~reference))
    fn = int(np.count_nonzero(~prediction & reference))
    return {
        "dice": 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 1.0,
        "iou": tp / (tp + fp + fn) if (tp + fp + fn) else 1.0,
        "sensitivity": tp / (tp + fn) if (tp + fn) else 1.0,
        "precision": tp / (tp + fp) if (tp + fp) else 1.0,
        "tp": tp, "fp": fp, "fn": fn,
    }


def dice_score(prediction, reference) -> float:
    """Dice coefficient 2|P∩R| / (|P| + |R|) of two binary masks (1.0 when both are empty)."""
    return overlap_scores(prediction, reference)["dice"]


def iou_score(prediction, reference) -> float:
    """Intersection over union |P∩R| / |P∪R| of two binary masks (1.0 when both are empty)."""
    return overlap_scores(prediction, reference)["iou"]


def _surface(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure=structure, iterations=1)


def surface_distances(prediction, reference, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Distances in mm from each surface voxel of one mask to the other mask's surface.

    Parameters
    ----------
    prediction, reference : (D1, ..., Dn) binary masks of one shape, both non-empty
    spacing : (n,) voxel sizes in mm

    Returns
    -------
    ``(prediction_to_reference, reference_to_prediction)``: 1-D float arrays, one distance per
    surface voxel of the prediction and of the reference.
    """
    from scipy import ndimage

    prediction, reference, spacing = validate_masks(prediction, reference, spacing)
    if not prediction.any() or not reference.any():
        raise ValueError("surface_distances needs two non-empty masks; hausdorff95 and "
                         "mean_surface_distance define the empty cases")
    surfaces = _surface(prediction), _surface(reference)
    to_reference = ndimage.distance_transform_edt(~surfaces[1], sampling=spacing)[surfaces[0]]
    to_prediction = ndimage.distance_transform_edt(~surfaces[0], sampling=spacing)[surfaces[1]]
    return to_reference, to_prediction


def _empty_distance(prediction, reference, spacing):
    """0.0 when both are empty, the image diagonal in mm when one is, None when neither is."""
    if prediction.any() and reference.any():
        return None
    if not prediction.any() and not reference.any():
        return 0.0
    return float(np.sqrt(np.sum((np.asarray(prediction.shape) * spacing) ** 2)))


def hausdorff95(prediction, reference, spacing) -> float:
    """The 95th-percentile Hausdorff distance in mm (HD95), symmetric.

    The 95th percentile of both directed surface-distance sets pooled together (medpy's
    ``hd95``): a "nearly worst" boundary error that ignores the last 5 % of outliers.
    Empty masks: 0.0 when both are empty, the image diagonal in mm when only one is.
    """
    prediction, reference, spacing = validate_masks(prediction, reference, spacing)
    empty = _empty_distance(prediction, reference, spacing)
    if empty is not None:
        return empty
    to_reference, to_prediction = surface_distances(prediction, reference, spacing)
    return float(np.percentile(np.concatenate([to_reference, to_prediction]), 95))


def mean_surface_distance(prediction, reference, spacing) -> float:
    """The average symmetric surface distance in mm (ASSD, medpy's ``assd``).

    The mean over the surface voxels of both masks of the distance to the other mask's
    surface (Heimann et al., 2009): both directed distance sets pooled, then averaged.
    Empty masks as in ``hausdorff95``.
    """
    prediction, reference, spacing = validate_masks(prediction, reference, spacing)
    empty = _empty_distance(prediction, reference, spacing)
    if empty is not None:
        return empty
    to_reference, to_prediction = surface_distances(prediction, reference, spacing)
    return float(np.concatenate([to_reference, to_prediction]).mean())


def pixel_accuracy(prediction, reference) -> float:
    """The fraction of voxels whose label is right, background included (misleading when most are background).

    Parameters
    ----------
    prediction, reference : integer label arrays of one shape
    """
    prediction, reference = np.asarray(prediction), np.asarray(reference)
    if prediction.shape != reference.shape or prediction.size == 0:
        raise ValueError(f"prediction and reference must have the same non-empty shape, got {prediction.shape} "
                         f"and {reference.shape}")
    return float(np.mean(prediction == reference))


def segmentation_report(prediction, reference, spacing, structures=None) -> dict:
    """Every segmentation metric of one labelled volume, per structure.

    Parameters
    ----------
    prediction, reference : (X, Y, Z) integer label volumes of one shape
    spacing : (3,) voxel sizes in mm
    structures : dict name -> tuple of label values making the structure (default: the
        hippocampus, ``{"anterior": (1,), "posterior": (2,), "hippocampus": (1, 2)}``)

    Returns
    -------
    dict name -> dict with ``dice``, ``iou``, ``sensitivity``, ``precision``, ``hd95`` (mm),
    ``msd`` (mm, average symmetric surface distance), ``volume_predicted`` and
    ``volume_reference`` (mm³).
    """
    prediction, reference = np.asarray(prediction), np.asarray(reference)
    if prediction.shape != reference.shape:
        raise ValueError(f"prediction and reference must have the same shape, got {prediction.shape} "
                         f"and {reference.shape}")
    structures = HIPPOCAMPUS_STRUCTURES if structures is None else structures
    voxel = None
    report = {}
    for name, values in structures.items():
        predicted_mask, reference_mask = np.isin(prediction, values), np.isin(reference, values)
        predicted_mask, reference_mask, spacing_mm = validate_masks(predicted_mask, reference_mask, spacing)
        voxel = float(np.prod(spacing_mm))
        scores = overlap_scores(predicted_mask, reference_mask)
        report[name] = {
            "dice": scores["dice"], "iou": scores["iou"],
            "sensitivity": scores["sensitivity"], "precision": scores["precision"],
            "hd95": hausdorff95(predicted_mask, reference_mask, spacing_mm),
            "msd": mean_surface_distance(predicted_mask, reference_mask, spacing_mm),
            "volume_predicted": float(predicted_mask.sum()) * voxel,
            "volume_reference": float(reference_mask.sum()) * voxel,
        }
    return report


def summarize_reports(reports) -> dict:
    """Mean and sd (ddof 1; 0.0 for one volume) over volumes of every metric in ``segmentation_report``s.

    Returns
    -------
    dict name -> metric -> ``{"mean": float, "sd": float}``
    """
    reports = list(reports)
    if not reports:
        raise ValueError("reports must hold at least one segmentation_report")
    summary = {}
    for name in reports[0]:
        summary[name] = {}
        for metric in reports[0][name]:
            values = np.array([report[name][metric] for report in reports], dtype=float)
            sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            summary[name][metric] = {"mean": float(values.mean()), "sd": sd}
    return summary


def bland_altman(measured, reference) -> dict:
    """Agreement of a measurement method with a reference (Bland and Altman, 1986).

    Parameters
    ----------
    measured, reference : (N,) paired measurements (e.g. hippocampal volumes in mm³), N >= 2

    Returns
    -------
    dict with ``mean`` (N,) the pair means, ``difference`` (N,) measured − reference,
    ``bias`` (mean difference), ``sd`` (of the differences, ddof 1), ``lower`` and ``upper``
    (the 95 % limits of agreement, bias ∓ 1.96 sd), ``pearson_r`` (correlation of the pairs;
    0.0 when one side is constant) and ``relative_bias`` (bias / mean reference).
    """
    measured = np.asarray(measured, dtype=float).reshape(-1)
    reference = np.asarray(reference, dtype=float).reshape(-1)
    if measured.shape != reference.shape or measured.size < 2:
        raise ValueError(f"measured and reference must be paired with at least 2 values each, got "
                         f"{measured.size} and {reference.size}")
    if not (np.all(np.isfinite(measured)) and np.all(np.isfinite(reference))):
        raise ValueError("measured and reference must be finite")
    difference = measured - reference
    bias, sd = float(difference.mean()), float(difference.std(ddof=1))
    if measured.std() > 0 and reference.std() > 0:
        pearson_r = float(np.corrcoef(measured, reference)[0, 1])
    else:
        pearson_r = 0.0
    return {
        "mean": (measured + reference) / 2, "difference": difference,
        "bias": bias, "sd": sd, "lower": bias - 1.96 * sd, "upper": bias + 1.96 * sd,
        "pearson_r": pearson_r, "relative_bias": bias / float(reference.mean()) if reference.mean() else 0.0,
    }


# ----------------------------------------------------------------------------------
# Multi-class and ordinal: one-vs-rest AUC, macro AUC, the K x K confusion matrix and
# quadratic-weighted Cohen's kappa (the grading chapters: RetinaMNIST's 5 grades)
# ----------------------------------------------------------------------------------
#
# Conventions:
# * labels are integers 0 .. K-1 of shape (N,); scores are (N, K), column k the score of
#   class k (softmax probabilities, or any scores: an AUC only uses their order);
# * a class with no image in y_true (or every image in it) has no one-vs-rest AUC: by
#   default that is a ValueError naming the class; with ``absent="skip"`` its entry is NaN,
#   on purpose, and the macro AUC averages the classes that have one (and says which);
# * kappa is undefined when both raters use one and the same class for every image
#   (0 / 0): a ValueError, never NaN.

__all__ += [
    "validate_multiclass_labels",
    "validate_multiclass",
    "one_vs_rest_auc",
    "macro_auc",
    "multiclass_confusion",
    "quadratic_weighted_kappa",
    "multiclass_report",
]

ABSENT_RULES = ("raise", "skip")


def validate_multiclass_labels(values, num_classes: int, name: str = "y_true") -> np.ndarray:
    """Check class labels ``0 .. num_classes - 1`` and return them as int64 of shape (N,).

    Parameters
    ----------
    values : array-like of shape (N,) or a column (N, 1): integers, or floats equal to integers
    num_classes : K >= 2
    name : the argument's name, used in error messages

    Raises
    ------
    ValueError on a wrong rank, an empty input or a value outside ``0 .. K-1``; TypeError on
    non-numeric (or boolean) labels.
    """
    num_classes = check_int(num_classes, "num_classes", low=2)
    labels = _label_vector(values, name, " one class per image,")
    if labels.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be integer class labels 0..{num_classes - 1}, got dtype {labels.dtype}")
    if labels.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        raise ValueError(f"{name} must hold whole numbers 0..{num_classes - 1}, got non-integer values")
    bad = np.setdiff1d(np.unique(labels), np.arange(num_classes))
    if bad.size:
        raise ValueError(f"{name} must hold classes 0..{num_classes - 1} (num_classes={num_classes}), "
                         f"got values {bad[:10].tolist()}")
    return labels.astype(np.int64)


def validate_multiclass(y_true, scores, *, scores_name: str = "scores") -> tuple[np.ndarray, np.ndarray]:
    """Check labels against scores of shape (N, K) and convert them.

    Parameters
    ----------
    y_true : array-like (N,), classes ``0 .. K-1``
    scores : array-like (N, K), finite; column ``k`` scores class ``k`` (e.g. softmax probabilities)

    Returns
    -------
    (labels int64 (N,), scores float64 (N, K))
    """
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{scores_name} must be numeric, got {type(scores).__name__}") from None
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"{scores_name} must have shape (N, K), one column per class (K >= 2), "
                         f"got shape {values.shape}")
    labels = validate_multiclass_labels(y_true, values.shape[1])
    if labels.shape[0] != values.shape[0]:
        raise ValueError(f"y_true and {scores_name} must have the same length, got {labels.shape[0]} and {values.shape[0]}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{scores_name} contains {int(np.sum(~np.isfinite(values)))} NaN or infinite value(s)")
    return labels, values


def _binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC of ``scores`` for the boolean ``positive`` (ties count one half)."""
    ranks = _midranks(scores)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def one_vs_rest_auc(y_true, scores, absent: str = "raise") -> np.ndarray:
    """Per-class ROC AUC, each class against all the others (scikit-learn's ``multi_class="ovr"``).

    For class ``k`` the images of class ``k`` are the positives, all others the negatives,
    and ``scores[:, k]`` ranks them: the probability that a random image of class ``k``
    scores higher for ``k`` than a random image of another class.

    Parameters
    ----------
    y_true : (N,) classes ``0 .. K-1``
    scores : (N, K) scores, e.g. softmax probabilities
    absent : "raise" (default) or "skip": what to do with a class whose AUC is undefined
        because ``y_true`` has no image of it (or only images of it). "skip" returns NaN for
        it, on purpose; "raise" is a ValueError naming the class.

    Returns
    -------
    float64 array (K,), AUC of each class (NaN only for skipped classes)
    """
    if absent not in ABSENT_RULES:
        raise ValueError(f"absent must be one of {ABSENT_RULES}, got {absent!r}")
    labels, values = validate_multiclass(y_true, scores)
    aucs = np.full(values.shape[1], np.nan)
    for k in range(values.shape[1]):
        positive = labels == k
        if positive.all() or not positive.any():
            if absent == "raise":
                what = "no image" if not positive.any() else "every image"
                raise ValueError(f"class {k} has {what} in y_true, so its one-vs-rest AUC is undefined; "
                                 "evaluate on a split with every class, or pass absent='skip' to leave it out "
                                 "(its AUC is then NaN and the macro AUC averages the other classes)")
            continue
        aucs[k] = _binary_auc(positive, values[:, k])
    return aucs


def macro_auc(y_true, scores, absent: str = "raise") -> float:
    """The unweighted mean of ``one_vs_rest_auc`` over classes (scikit-learn's ``average="macro"``).

    Every class counts the same, however rare: a model that ignores a rare grade is not
    hidden by the common ones. With ``absent="skip"``, classes missing from ``y_true`` are
    left out of the mean (at least one class must remain); shapes as in ``one_vs_rest_auc``.
    """
    aucs = one_vs_rest_auc(y_true, scores, absent=absent)
    present = ~np.isnan(aucs)
    if not present.any():
        raise ValueError("no class has a defined one-vs-rest AUC (y_true holds a single class)")
    return float(aucs[present].mean())


def multiclass_confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """The K x K confusion matrix: ``C[i, j]`` counts images of class ``i`` predicted as ``j``.

    Rows are the truth and columns the prediction (scikit-learn's ``confusion_matrix``
    with ``labels=range(K)``): every class has a row and a column, even one that never occurs.

    Parameters
    ----------
    y_true, y_pred : (N,) classes ``0 .. K-1`` (predictions as labels: ``scores.argmax(axis=1)``)
    num_classes : K

    Returns
    -------
    int64 array (K, K); its sum is N, its trace the number of correct predictions
    """
    num_classes = check_int(num_classes, "num_classes", low=2)
    truth = validate_multiclass_labels(y_true, num_classes, "y_true")
    predicted = validate_multiclass_labels(y_pred, num_classes, "y_pred")
    if truth.shape != predicted.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {truth.shape[0]} and {predicted.shape[0]}")
    return np.bincount(truth * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def quadratic_weighted_kappa(y_true, y_pred, num_classes: int) -> float:
    """Cohen's kappa with quadratic weights: agreement on ordered grades beyond chance.

    With ``O`` the confusion matrix (``multiclass_confusion``), ``E`` the matrix chance
    would give with the same marginals (``outer(row sums, column sums) / N``) and weights
    ``w[i, j] = (i - j)^2 / (K - 1)^2``, a disagreement by two grades costing four times
    one by one grade,

        kappa = 1 - sum(w * O) / sum(w * E)

    1 is perfect agreement, 0 chance level, below 0 worse than chance. It equals
    ``sklearn.metrics.cohen_kappa_score(y_true, y_pred, weights="quadratic", labels=range(K))``.

    Parameters
    ----------
    y_true, y_pred : (N,) grades ``0 .. K-1``
    num_classes : K (the weights use the grades' values, so a grade no image has still counts)

    Raises
    ------
    ValueError when kappa is undefined: truth and prediction are one and the same class for
    every image (``sum(w * E) = 0``).
    """
    observed = multiclass_confusion(y_true, y_pred, num_classes).astype(np.float64)
    k = observed.shape[0]
    grades = np.arange(k)
    weights = (grades[:, None] - grades[None, :]) ** 2 / (k - 1) ** 2
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    chance = float((weights * expected).sum())
    if chance == 0.0:
        raise ValueError("quadratic-weighted kappa is undefined: y_true and y_pred are the same single class for "
                         "every image, so chance agreement is perfect too (0 / 0)")
    return float(1.0 - (weights * observed).sum() / chance)


def multiclass_report(y_true, scores, y_pred=None, absent: str = "raise") -> dict:
    """Accuracy, per-class and macro AUC, the confusion matrix and quadratic-weighted kappa.

    Parameters
    ----------
    y_true : (N,) classes ``0 .. K-1``
    scores : (N, K) scores (e.g. softmax probabilities)
    y_pred : (N,) predicted classes, optional; default ``scores.argmax(axis=1)`` (an ordinal
        model may predict grades another way)
    absent : as in ``one_vs_rest_auc``

    Returns
    -------
    dict: ``accuracy``, ``auc_per_class`` (float64 (K,)), ``macro_auc``, ``confusion`` (int64 (K, K)),
    ``quadratic_kappa``, ``num_classes``
    """
    labels, values = validate_multiclass(y_true, scores)
    k = values.shape[1]
    predicted = values.argmax(axis=1) if y_pred is None else validate_multiclass_labels(y_pred, k, "y_pred")
    if predicted.shape != labels.shape:
        raise ValueError(f"y_pred must have one class per image ({labels.shape[0]}), got shape {predicted.shape}")
    aucs = one_vs_rest_auc(labels, values, absent=absent)
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "auc_per_class": aucs,
        "macro_auc": macro_auc(labels, values, absent=absent),
        "confusion": multiclass_confusion(labels, predicted, k),
        "quadratic_kappa": quadratic_weighted_kappa(labels, predicted, k),
        "num_classes": k,
    }
