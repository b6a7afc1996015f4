"""Checkers for chapter 4 (notebook 08), the end-to-end code example."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "08_end_to_end"


@register("sensitivity_specificity", CHAPTER, "sensitivity and specificity from a 2x2 confusion matrix [[TN, FP], [FN, TP]]")
def _check_sensitivity_specificity(candidate):
    drawn = grading_rng(81).integers(1, 400, 4).tolist()  # a matrix drawn from the grading seed: no table of answers
    cases = (
        [[3, 1], [2, 4]],  # sensitivity 4/6, specificity 3/4
        [[200, 34], [10, 380]],
        [[0, 5], [0, 7]],  # a "model" that calls everything positive
        [[9, 0], [1, 0]],  # one that calls everything negative
        [drawn[:2], drawn[2:]],
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
    rng = grading_rng(8)
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
    drawn = tuple(round(float(value), 3) for value in grading_rng(82).uniform((0.5, 0.5, 0.01), (1.0, 1.0, 0.99)))
    for sensitivity, specificity, prevalence in ((0.95, 0.80, 0.74), (0.95, 0.80, 0.625), (0.9, 0.9, 0.01), (1.0, 0.5, 0.5),
                                                 drawn):
        expected = sensitivity * prevalence / (sensitivity * prevalence + (1 - specificity) * (1 - prevalence))
        received = call_candidate(
            candidate, sensitivity, specificity, prevalence,
            what=f"ppv_at_prevalence({sensitivity}, {specificity}, {prevalence})",
        )
        assert_close(received, expected, what=f"ppv_at_prevalence({sensitivity}, {specificity}, {prevalence})")
