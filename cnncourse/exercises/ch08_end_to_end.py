"""Checkers for chapter 4 (notebook 08), the end-to-end code example."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, register

CHAPTER = "08_end_to_end"


@register("sensitivity_specificity", CHAPTER, "sensitivity and specificity from a 2x2 confusion matrix [[TN, FP], [FN, TP]]")
def _check_sensitivity_specificity(candidate):
    cases = (
        [[3, 1], [2, 4]],  # sensitivity 4/6, specificity 3/4
        [[200, 34], [10, 380]],
        [[0, 5], [0, 7]],  # a "model" that calls everything positive
        [[9, 0], [1, 0]],  # one that calls everything negative
    )
    for matrix in cases:
        (tn, fp), (fn, tp) = matrix
        expected = (tp / (tp + fn), tn / (tn + fp))
        received = call_candidate(candidate, np.array(matrix), what=f"sensitivity_specificity({matrix})")
        if not isinstance(received, (tuple, list)) or len(received) != 2:
            raise ExerciseFailed(
                f"sensitivity_specificity({matrix}) must return a pair (sensitivity, specificity), received {received!r}"
            )
        if np.allclose(received, expected[::-1]) and not np.allclose(expected, expected[::-1]):
            raise ExerciseFailed(
                f"sensitivity_specificity({matrix}): the pair is swapped. Sensitivity is TP / (TP + FN), "
                "the fraction of diseased patients found; specificity TN / (TN + FP)."
            )
        assert_close(received, expected, what=f"sensitivity_specificity({matrix})")


def _youden(labels, scores, threshold):
    decisions = scores >= threshold
    sensitivity = np.mean(decisions[labels == 1])
    specificity = np.mean(~decisions[labels == 0])
    return sensitivity + specificity - 1


@register("threshold_on_validation", CHAPTER, "the threshold that maximises Youden's J on validation data")
def _check_threshold_on_validation(candidate):
    rng = np.random.default_rng(8)
    for n, shift in ((40, 0.3), (300, 0.5), (524, 0.8)):
        labels = rng.integers(0, 2, n)
        labels[:2] = (0, 1)
        scores = np.clip(rng.normal(0.4 + shift * labels, 0.2), 0, 1)
        candidates = np.r_[np.unique(scores), np.inf]
        best = max(_youden(labels, scores, t) for t in candidates)
        received = call_candidate(candidate, labels.copy(), scores.copy(), what="threshold_on_validation(y_val, scores_val)")
        try:
            threshold = float(received)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"threshold_on_validation must return one number, received {received!r}") from None
        achieved = _youden(labels, scores, threshold)
        if achieved < best - 1e-12:
            raise ExerciseFailed(
                f"threshold_on_validation on {n} validation images returned {threshold:.4f}, whose Youden's J "
                f"(sensitivity + specificity - 1) is {achieved:.4f}; the best threshold reaches {best:.4f}. "
                "Try every distinct validation score as a cut-off (score >= threshold means positive)."
            )


@register("ppv_at_prevalence", CHAPTER, "positive predictive value from sensitivity, specificity and prevalence (Bayes)")
def _check_ppv_at_prevalence(candidate):
    for sensitivity, specificity, prevalence in ((0.95, 0.80, 0.74), (0.95, 0.80, 0.625), (0.9, 0.9, 0.01), (1.0, 0.5, 0.5)):
        expected = sensitivity * prevalence / (sensitivity * prevalence + (1 - specificity) * (1 - prevalence))
        received = call_candidate(
            candidate, sensitivity, specificity, prevalence,
            what=f"ppv_at_prevalence({sensitivity}, {specificity}, {prevalence})",
        )
        assert_close(received, expected, what=f"ppv_at_prevalence({sensitivity}, {specificity}, {prevalence})")


def _auc_list(candidate, key, what):
    """``candidate[key]`` as a float array of validation AUCs, one per seed, or ExerciseFailed."""
    try:
        values = np.asarray(candidate[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"{what}[{key!r}] must be a list of validation AUCs, one per seed, "
                             f"received {candidate[key]!r}"[:300]) from None
    if values.ndim != 1 or values.size < 3:
        raise ExerciseFailed(f"{what}[{key!r}] must hold one validation AUC per seed for at least 3 seeds, "
                             f"received shape {values.shape}: one run is an anecdote")
    if not np.all(np.isfinite(values)) or np.any((values < 0) | (values > 1)):
        raise ExerciseFailed(f"{what}[{key!r}]: an AUC lies in [0, 1], received {values.tolist()}")
    if np.any(values < 0.9):
        raise ExerciseFailed(
            f"{what}[{key!r}] = {np.round(values, 4).tolist()}: improved_cnn reaches a validation AUC above 0.95 "
            "even on the chapter's small budget (1,500 images, 6 epochs); below 0.9 is implausible. Did you pass "
            "an accuracy, a loss, or a run of one epoch?"
        )
    if np.ptp(values) == 0:
        raise ExerciseFailed(f"{what}[{key!r}]: every seed gave exactly {values[0]:.4f}. Different seeds give "
                             "different weights and AUCs; did you train with the same seed each time?")
    return values


@register("augmentation_comparison", CHAPTER,
          "validation AUC with and without bilinear rotations over 3+ seeds: the paired difference and its standard error")
def _check_augmentation_comparison(candidate):
    """The student's measurement: a dict (or a function returning one) with the validation AUCs
    (last epoch) of ``train_improved`` with whole-pixel shifts only (``shifts``) and with bilinear
    rotations added (``shifts_and_rotations``), one per seed, paired by seed, and the mean paired
    ``difference`` (rotations minus shifts) with its ``standard_error``."""
    what = "augmentation_comparison"
    keys = ("shifts", "shifts_and_rotations", "difference", "standard_error")
    if callable(candidate):  # a function that runs the experiment and returns the dict
        candidate = call_candidate(candidate, what="augmentation_comparison()")
    if not isinstance(candidate, dict) or not set(keys) <= set(candidate):
        raise ExerciseFailed(f"pass a dict with the keys {list(keys)}, received {candidate!r}"[:300])
    shifts = _auc_list(candidate, "shifts", what)
    rotations = _auc_list(candidate, "shifts_and_rotations", what)
    if shifts.size != rotations.size:
        raise ExerciseFailed(f"{what}: the two lists must be paired by seed (the same seeds, in the same order), "
                             f"received {shifts.size} and {rotations.size} values")
    if np.array_equal(shifts, rotations):
        raise ExerciseFailed(f"{what}: the two lists are identical; the second must come from "
                             "train_improved(..., rotation=0.03, interpolation='bilinear')")
    paired = rotations - shifts  # one difference per seed: the same seed, the same subset and start
    expected_difference = float(paired.mean())
    expected_error = float(paired.std(ddof=1) / np.sqrt(paired.size))
    for key in ("difference", "standard_error"):
        try:
            float(candidate[key])
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}[{key!r}] must be one number, received {candidate[key]!r}"[:300]) from None
    difference, error = float(candidate["difference"]), float(candidate["standard_error"])
    if np.isclose(difference, -expected_difference, atol=1e-4) and abs(expected_difference) > 1e-4:
        raise ExerciseFailed(f"{what}: the difference has the wrong sign; take shifts_and_rotations minus shifts "
                             f"(= {expected_difference:+.4f})")
    if not np.isclose(difference, expected_difference, atol=1e-4):
        raise ExerciseFailed(f"{what}: the difference must be the mean of the per-seed differences "
                             f"(shifts_and_rotations - shifts), {expected_difference:+.4f}; received {difference:+.4f}")
    unpaired = float(np.sqrt(shifts.var(ddof=1) / shifts.size + rotations.var(ddof=1) / rotations.size))
    if np.isclose(error, paired.std(ddof=1), rtol=1e-3) and paired.size > 1:
        raise ExerciseFailed(f"{what}: {error:.4g} is the standard deviation of the per-seed differences; the standard "
                             f"error of their mean divides it by sqrt(number of seeds): {expected_error:.4g}")
    if not np.isclose(error, expected_error, rtol=1e-3, atol=1e-6):
        hint = " (that is the unpaired error; pair the runs by seed)" if np.isclose(error, unpaired, rtol=1e-3) else ""
        raise ExerciseFailed(f"{what}: the standard error of the mean paired difference is "
                             f"std(differences, ddof=1) / sqrt(n) = {expected_error:.4g}; received {error:.4g}{hint}")
