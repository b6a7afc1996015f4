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
