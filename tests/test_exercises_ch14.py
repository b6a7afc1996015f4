"""Chapter "Grades"'s exercise checkers: right answers pass, typical wrong ones fail readably."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    assert {e.name for e in exercises("14_grades")} == {"grades_ordinal_targets", "grades_qwk", "grades_colour_kernel"}


def test_ordinal_targets():
    assert check("grades_ordinal_targets", lambda y, k: (y[:, None] > np.arange(k - 1)).astype(np.float32))
    with pytest.raises(ExerciseFailed, match="not grade >= k"):
        check("grades_ordinal_targets", lambda y, k: (y[:, None] >= np.arange(k - 1)).astype(float))
    with pytest.raises(ExerciseFailed, match="one-hot"):
        check("grades_ordinal_targets", lambda y, k: np.eye(k)[y])


def test_qwk():
    assert check("grades_qwk", lambda a, b, k: cohen_kappa_score(a, b, weights="quadratic", labels=np.arange(k)))
    with pytest.raises(ExerciseFailed, match="mistakes of one grade"):  # linear weights are another kappa
        check("grades_qwk", lambda a, b, k: cohen_kappa_score(a, b, weights="linear", labels=np.arange(k)))
    with pytest.raises(ExerciseFailed, match="expected a number"):
        check("grades_qwk", lambda a, b, k: "high")


def test_colour_kernel():
    assert check("grades_colour_kernel", lambda kernel: np.repeat(kernel, 3, axis=2) / 3)
    assert check("grades_colour_kernel", lambda kernel: np.concatenate([kernel] * 3, axis=2) / 3)
    with pytest.raises(ExerciseFailed, match="divide by 3"):
        check("grades_colour_kernel", lambda kernel: np.repeat(kernel, 3, axis=2))
    with pytest.raises(ExerciseFailed, match="expected shape"):
        check("grades_colour_kernel", lambda kernel: np.repeat(kernel, 3, axis=3) / 3)
