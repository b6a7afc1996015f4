"""The segmentation chapter's exercise checkers: correct answers pass, typical wrong ones fail readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    assert {exercise.name for exercise in exercises("12_segmentation")} == {
        "segmentation_dice", "transpose_output_size", "structure_volume_mm3", "bland_altman_limits"}


# segmentation_dice ---------------------------------------------------------------------------


def good_dice(prediction, reference):
    prediction, reference = np.asarray(prediction, bool), np.asarray(reference, bool)
    total = prediction.sum() + reference.sum()
    return 1.0 if total == 0 else 2.0 * (prediction & reference).sum() / total


def test_dice_accepts_a_correct_answer():
    assert check("segmentation_dice", good_dice)


def test_dice_refuses_nan_for_two_empty_masks():
    def nan_dice(prediction, reference):
        with np.errstate(invalid="ignore"):
            return 2.0 * (prediction & reference).sum() / (prediction.sum() + reference.sum())

    with pytest.raises(ExerciseFailed, match="Both masks are empty"):
        check("segmentation_dice", nan_dice)


def test_dice_refuses_iou():
    def iou(prediction, reference):
        union = (prediction | reference).sum()
        return 1.0 if union == 0 else (prediction & reference).sum() / union

    with pytest.raises(ExerciseFailed, match="wrong values"):
        check("segmentation_dice", iou)


# transpose_output_size -----------------------------------------------------------------------


def test_output_size_accepts_keras_rule():
    assert check("transpose_output_size", lambda n, k, s, p: n * s if p == "same" else n * s + max(k - s, 0))


def test_output_size_explains_small_kernels():
    with pytest.raises(ExerciseFailed, match="smaller than the stride"):
        check("transpose_output_size", lambda n, k, s, p: n * s if p == "same" else (n - 1) * s + k)


def test_output_size_refuses_the_convolution_rule():
    with pytest.raises(ExerciseFailed, match="expected"):
        check("transpose_output_size", lambda n, k, s, p: (n - k) // s + 1)


# structure_volume_mm3 ------------------------------------------------------------------------


def test_volume_accepts_a_correct_answer():
    assert check("structure_volume_mm3", lambda labels, spacing, label: (labels == label).sum() * np.prod(spacing))


def test_volume_explains_voxel_counts():
    with pytest.raises(ExerciseFailed, match="number of voxels"):
        check("structure_volume_mm3", lambda labels, spacing, label: (labels == label).sum())


# bland_altman_limits -------------------------------------------------------------------------


def good_limits(measured, reference):
    difference = np.asarray(measured) - np.asarray(reference)
    bias, sd = difference.mean(), difference.std(ddof=1)
    return bias, bias - 1.96 * sd, bias + 1.96 * sd


def test_limits_accept_a_correct_answer():
    assert check("bland_altman_limits", good_limits)


def test_limits_explain_the_sign():
    with pytest.raises(ExerciseFailed, match="wrong sign"):
        check("bland_altman_limits", lambda a, b: good_limits(b, a))


def test_limits_explain_ddof():
    def population(measured, reference):
        difference = np.asarray(measured) - np.asarray(reference)
        bias, sd = difference.mean(), difference.std()
        return bias, bias - 1.96 * sd, bias + 1.96 * sd

    with pytest.raises(ExerciseFailed, match="ddof=1"):
        check("bland_altman_limits", population)
