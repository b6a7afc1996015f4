"""Chapter 8's exercise checkers accept correct answers and reject wrong ones."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check
from cnncourse.metrics import choose_threshold


def sensitivity_specificity(confusion):
    (tn, fp), (fn, tp) = np.asarray(confusion)
    return tp / (tp + fn), tn / (tn + fp)


def threshold_on_validation(y_val, scores_val):
    candidates = np.unique(scores_val)
    j = [np.mean(scores_val[y_val == 1] >= t) + np.mean(scores_val[y_val == 0] < t) - 1 for t in candidates]
    return float(candidates[int(np.argmax(j))])


def ppv_at_prevalence(sensitivity, specificity, prevalence):
    true_positives = sensitivity * prevalence
    return true_positives / (true_positives + (1 - specificity) * (1 - prevalence))


def test_correct_answers_pass():
    assert check("sensitivity_specificity", sensitivity_specificity)
    assert check("threshold_on_validation", threshold_on_validation)
    assert check("threshold_on_validation", lambda y, s: choose_threshold(y, s, rule="youden"))
    assert check("ppv_at_prevalence", ppv_at_prevalence)


@pytest.mark.parametrize(
    "name, wrong, message",
    [
        ("sensitivity_specificity", lambda c: sensitivity_specificity(c)[::-1], "swapped"),
        ("sensitivity_specificity", lambda c: np.trace(np.asarray(c)) / np.sum(c), "pair"),
        ("threshold_on_validation", lambda y, s: 0.5, "Youden"),
        ("threshold_on_validation", lambda y, s: "high", "one number"),
        ("ppv_at_prevalence", lambda se, sp, p: se * p, "wrong values"),
    ],
)
def test_wrong_answers_fail(name, wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check(name, wrong)


def test_stub_fails_readably():
    def stub(*args):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="not implemented"):
        check("ppv_at_prevalence", stub)


# Validation AUCs (last epoch) of train_improved on the chapter's small budget, three seeds.
SHIFTS = [0.985, 0.983, 0.986]
ROTATIONS = [0.981, 0.984, 0.979]


def augmentation_answer(shifts=SHIFTS, rotations=ROTATIONS):
    differences = np.asarray(rotations) - np.asarray(shifts)
    return {"shifts": shifts, "shifts_and_rotations": rotations, "difference": differences.mean(),
            "standard_error": differences.std(ddof=1) / np.sqrt(len(differences))}


def test_augmentation_comparison_accepts_a_consistent_answer():
    assert check("augmentation_comparison", augmentation_answer())
    assert check("augmentation_comparison", augmentation_answer([0.99, 0.97, 0.98, 0.985], [0.991, 0.975, 0.99, 0.98]))
    assert check("augmentation_comparison", lambda: augmentation_answer())  # a function that measures and returns it


def test_augmentation_comparison_needs_three_seeds():
    answer = augmentation_answer([0.985, 0.983], [0.981, 0.984])
    with pytest.raises(ExerciseFailed, match="at least 3 seeds"):
        check("augmentation_comparison", answer)


def _with(**changes):
    answer = augmentation_answer()
    answer.update(changes)
    return answer


@pytest.mark.parametrize(
    "answer, message",
    [
        (0.004, "pass a dict"),
        ({"shifts": SHIFTS}, "pass a dict"),
        (_with(shifts=[0.985, 0.985, 0.985]), "same seed"),
        (_with(shifts=[0.90, 0.88, 0.91]), "implausible"),
        (_with(shifts=[85.0, 84.0, 86.0]), r"\[0, 1\]"),
        (_with(shifts=["a", "b", "c"]), "list of validation AUCs"),
        (_with(shifts_and_rotations=SHIFTS), "identical"),
        (_with(shifts_and_rotations=ROTATIONS[:2] + [0.98, 0.99]), "paired by seed"),
        (_with(difference=-augmentation_answer()["difference"]), "wrong sign"),
        (_with(difference=0.02), "mean of the per-seed differences"),
        (_with(difference="small"), "one number"),
        (_with(standard_error=np.std(np.subtract(ROTATIONS, SHIFTS), ddof=1)), "divides it by sqrt"),
        (_with(standard_error=np.sqrt(np.var(SHIFTS, ddof=1) / 3 + np.var(ROTATIONS, ddof=1) / 3)), "unpaired"),
        (_with(standard_error=0.5), "standard error of the mean paired difference"),
    ],
)
def test_augmentation_comparison_rejects_wrong_answers(answer, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("augmentation_comparison", answer)
