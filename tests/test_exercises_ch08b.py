"""The checker of the comparison over seeds (notebook 08b) accepts correct answers and rejects wrong ones."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check


def paired_difference(auc_without, auc_with):
    differences = np.asarray(auc_with) - np.asarray(auc_without)
    return differences.mean(), differences.std(ddof=1) / np.sqrt(len(differences))


def test_augmentation_comparison_accepts_the_paired_difference():
    assert check("augmentation_comparison", paired_difference)
    assert check("augmentation_comparison", lambda a, b: list(paired_difference(a, b)))


def _unpaired(auc_without, auc_with):
    a, b = np.asarray(auc_without), np.asarray(auc_with)
    return (b - a).mean(), np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda a, b: paired_difference(a, b)[0], "must return a pair"),
        (lambda a, b: ("big", 0.1), "two numbers"),
        (lambda a, b: (-paired_difference(a, b)[0], paired_difference(a, b)[1]), "wrong sign"),
        (lambda a, b: (np.mean(b) - np.mean(a) + 0.01, paired_difference(a, b)[1]), "mean of the per-seed differences"),
        (lambda a, b: (paired_difference(a, b)[0], np.std(np.subtract(b, a), ddof=1)), "divides it by sqrt"),
        (lambda a, b: (paired_difference(a, b)[0], np.std(np.subtract(b, a)) / np.sqrt(len(a))), "ddof=1"),
        (_unpaired, "unpaired"),
        (lambda a, b: (paired_difference(a, b)[0], 0.5), "standard error of the mean paired difference"),
    ],
)
def test_augmentation_comparison_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("augmentation_comparison", wrong)
