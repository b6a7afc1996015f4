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



def _paired_cases():
    """(auc_without, auc_with) pairs: validation AUCs per seed, paired by seed (the same subset and start)."""
    without = np.array([0.985, 0.983, 0.986])
    strong_seed_effect = np.array([0.95, 0.97, 0.99, 0.96, 0.98])  # seeds differ more than the variants do
    rng = grading_rng(83)  # one pair drawn from the grading seed: no table of answers
    drawn = np.round(rng.uniform(0.90, 0.99, 6), 4)
    return (
        (without, without + np.array([-0.001, -0.0012, -0.0009])),
        (np.array([0.990, 0.970, 0.980, 0.985]), np.array([0.991, 0.975, 0.990, 0.980])),
        (strong_seed_effect, strong_seed_effect + np.array([0.002, 0.001, 0.003, 0.002, 0.001])),
        (drawn, np.round(drawn + rng.normal(0.003, 0.004, 6), 4)),
    )


@register("augmentation_comparison", CHAPTER,
          "mean paired difference of per-seed validation AUCs (with minus without an augmentation) and its standard error")
def _check_augmentation_comparison(candidate):
    for without, with_ in _paired_cases():
        what = f"paired_difference(auc_without={without.tolist()}, auc_with={with_.tolist()})"
        received = call_candidate(candidate, without.copy(), with_.copy(), what=what)
        if not isinstance(received, (tuple, list)) or len(received) != 2:
            raise ExerciseFailed(f"{what} must return a pair (difference, standard_error), received {received!r}"[:300])
        try:
            difference, error = float(received[0]), float(received[1])
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what} must return two numbers, received {received!r}"[:300]) from None
        paired = with_ - without  # one difference per seed
        expected_difference = float(paired.mean())
        expected_error = float(paired.std(ddof=1) / np.sqrt(paired.size))
        if np.isclose(difference, -expected_difference, atol=1e-9) and abs(expected_difference) > 1e-9:
            raise ExerciseFailed(f"{what}: the difference has the wrong sign; take auc_with minus auc_without "
                                 f"(= {expected_difference:+.5f})")
        if not np.isclose(difference, expected_difference, atol=1e-9):
            raise ExerciseFailed(f"{what}: the difference is the mean of the per-seed differences "
                                 f"auc_with - auc_without, {expected_difference:+.5f}; received {difference:+.5f}")
        unpaired = float(np.sqrt(without.var(ddof=1) / without.size + with_.var(ddof=1) / with_.size))
        if np.isclose(error, paired.std(ddof=1), rtol=1e-6):
            raise ExerciseFailed(f"{what}: {error:.5g} is the standard deviation of the per-seed differences; the "
                                 f"standard error of their mean divides it by sqrt(number of seeds): {expected_error:.5g}")
        if np.isclose(error, paired.std(ddof=0) / np.sqrt(paired.size), rtol=1e-6):
            raise ExerciseFailed(f"{what}: use the sample standard deviation (ddof=1) of the differences, "
                                 f"expected {expected_error:.5g}, received {error:.5g}")
        if not np.isclose(error, expected_error, rtol=1e-6, atol=1e-12):
            hint = " (that is the unpaired error, which ignores that both runs of a seed share their subset and start)" \
                if np.isclose(error, unpaired, rtol=1e-6) else ""
            raise ExerciseFailed(f"{what}: the standard error of the mean paired difference is "
                                 f"std(differences, ddof=1) / sqrt(n) = {expected_error:.5g}; received {error:.5g}{hint}")
