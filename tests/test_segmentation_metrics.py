"""Segmentation metrics (cnncourse.metrics): by hand on tiny masks, against medpy, and the empty cases."""

import math

import numpy as np
import pytest
from scipy import ndimage

from cnncourse import metrics


def square(shape, top, left, size):
    mask = np.zeros(shape, dtype=bool)
    mask[top:top + size, left:left + size] = True
    return mask


# ---------------------------------------------------------------- by hand


def test_overlap_by_hand_on_a_5x5_mask():
    reference = square((5, 5), 1, 1, 3)      # 9 pixels
    prediction = square((5, 5), 1, 2, 3)     # 9 pixels, shifted right by one: 6 shared
    scores = metrics.overlap_scores(prediction, reference)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (6, 3, 3)
    assert scores["dice"] == pytest.approx(12 / 18)
    assert scores["iou"] == pytest.approx(6 / 12)
    assert scores["sensitivity"] == pytest.approx(6 / 9)
    assert scores["precision"] == pytest.approx(6 / 9)
    assert metrics.dice_score(prediction, reference) == pytest.approx(2 / 3)
    assert metrics.iou_score(prediction, reference) == pytest.approx(0.5)


def test_dice_and_iou_are_linked():
    rng = np.random.default_rng(0)
    for _ in range(20):
        prediction, reference = rng.random((6, 7, 5)) < 0.3, rng.random((6, 7, 5)) < 0.3
        dice, iou = metrics.dice_score(prediction, reference), metrics.iou_score(prediction, reference)
        assert dice == pytest.approx(2 * iou / (1 + iou))


def test_surface_distance_by_hand_with_spacing():
    # two single voxels 3 voxels apart along the first axis, 2 mm voxels that way: 6 mm
    prediction, reference = np.zeros((5, 5, 5), bool), np.zeros((5, 5, 5), bool)
    prediction[0, 2, 2], reference[3, 2, 2] = True, True
    spacing = (2.0, 1.0, 0.5)
    assert metrics.hausdorff95(prediction, reference, spacing) == pytest.approx(6.0)
    assert metrics.mean_surface_distance(prediction, reference, spacing) == pytest.approx(6.0)
    to_reference, to_prediction = metrics.surface_distances(prediction, reference, spacing)
    assert to_reference.tolist() == [6.0] and to_prediction.tolist() == [6.0]


def test_identical_masks_are_perfect():
    mask = square((8, 8), 2, 2, 4)
    assert metrics.dice_score(mask, mask) == 1.0
    assert metrics.hausdorff95(mask, mask, (1, 1)) == 0.0
    assert metrics.mean_surface_distance(mask, mask, (1, 1)) == 0.0


def test_shift_by_one_voxel_gives_one_mm_hd95():
    reference = square((10, 10), 3, 3, 4)
    prediction = square((10, 10), 3, 4, 4)
    assert metrics.hausdorff95(prediction, reference, (1.0, 1.0)) == pytest.approx(1.0)
    assert metrics.hausdorff95(prediction, reference, (1.0, 2.5)) == pytest.approx(2.5)


# ---------------------------------------------------------------- empty masks


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (2.0, 1.0, 0.5)])
def test_empty_cases_are_defined(spacing):
    empty, full = np.zeros((4, 5, 6), bool), np.zeros((4, 5, 6), bool)
    full[1:3, 1:3, 1:3] = True
    diagonal = math.sqrt(sum((n * s) ** 2 for n, s in zip(empty.shape, spacing)))
    # both empty: perfect agreement
    both = metrics.overlap_scores(empty, empty)
    assert (both["dice"], both["iou"], both["sensitivity"], both["precision"]) == (1.0, 1.0, 1.0, 1.0)
    assert metrics.hausdorff95(empty, empty, spacing) == 0.0
    assert metrics.mean_surface_distance(empty, empty, spacing) == 0.0
    # empty prediction: nothing found, nothing false claimed
    missed = metrics.overlap_scores(empty, full)
    assert (missed["dice"], missed["iou"], missed["sensitivity"], missed["precision"]) == (0.0, 0.0, 0.0, 1.0)
    assert metrics.hausdorff95(empty, full, spacing) == pytest.approx(diagonal)
    assert metrics.mean_surface_distance(empty, full, spacing) == pytest.approx(diagonal)
    # empty reference: nothing to miss, everything predicted is false
    invented = metrics.overlap_scores(full, empty)
    assert (invented["dice"], invented["iou"], invented["sensitivity"], invented["precision"]) == (0.0, 0.0, 1.0, 0.0)
    assert metrics.hausdorff95(full, empty, spacing) == pytest.approx(diagonal)
    for value in (*missed.values(), *invented.values()):
        assert np.isfinite(value)


def test_surface_distances_refuses_empty_masks():
    with pytest.raises(ValueError, match="non-empty"):
        metrics.surface_distances(np.zeros((3, 3), bool), np.ones((3, 3), bool), (1, 1))


def test_segmentation_report_with_a_missing_structure():
    reference = np.zeros((6, 6, 6), np.uint8)
    reference[1:3, 1:4, 1:4] = 1
    reference[3:5, 1:4, 1:4] = 2
    prediction = np.where(reference == 2, 0, reference)   # the posterior part is not found at all
    report = metrics.segmentation_report(prediction, reference, (1.0, 1.0, 1.0))
    assert set(report) == {"anterior", "posterior", "hippocampus"}
    assert report["anterior"]["dice"] == 1.0 and report["anterior"]["hd95"] == 0.0
    assert report["posterior"]["dice"] == 0.0 and report["posterior"]["hd95"] == pytest.approx(math.sqrt(108))
    assert report["hippocampus"]["dice"] == pytest.approx(2 * 18 / (18 + 36))
    assert report["hippocampus"]["volume_reference"] == 36.0
    assert report["hippocampus"]["volume_predicted"] == 18.0
    for structure in report.values():
        assert all(np.isfinite(value) for value in structure.values())


# ---------------------------------------------------------------- against medpy (the reference implementation)

medpy_binary = pytest.importorskip("medpy.metric.binary")


def random_blobs(rng, shape):
    """Smooth random blobs: thresholded, blurred noise (realistic surfaces, not salt and pepper)."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=1.5)
    return noise > np.quantile(noise, 0.8)


@pytest.mark.parametrize("case", range(6))
def test_against_medpy(case):
    rng = np.random.default_rng(case)
    shape = tuple(int(n) for n in rng.integers(8, 20, size=3))
    spacing = tuple(float(s) for s in rng.uniform(0.5, 2.5, size=3))
    reference = random_blobs(rng, shape)
    prediction = ndimage.binary_dilation(reference) if case % 2 else random_blobs(rng, shape) | reference
    prediction = prediction & (rng.random(shape) > 0.05)
    scores = metrics.overlap_scores(prediction, reference)
    assert scores["dice"] == pytest.approx(medpy_binary.dc(prediction, reference))
    assert scores["iou"] == pytest.approx(medpy_binary.jc(prediction, reference))
    assert scores["sensitivity"] == pytest.approx(medpy_binary.sensitivity(prediction, reference))
    assert scores["precision"] == pytest.approx(medpy_binary.precision(prediction, reference))
    assert metrics.hausdorff95(prediction, reference, spacing) == pytest.approx(
        medpy_binary.hd95(prediction, reference, voxelspacing=spacing))
    assert metrics.mean_surface_distance(prediction, reference, spacing) == pytest.approx(
        medpy_binary.assd(prediction, reference, voxelspacing=spacing))


def test_2d_against_medpy():
    rng = np.random.default_rng(11)
    reference, prediction = random_blobs(rng, (30, 25)), random_blobs(rng, (30, 25))
    assert metrics.hausdorff95(prediction, reference, (0.7, 1.3)) == pytest.approx(
        medpy_binary.hd95(prediction, reference, voxelspacing=(0.7, 1.3)))


# ---------------------------------------------------------------- summaries, Bland-Altman, pixel accuracy


def test_bland_altman_by_hand():
    reference = np.array([100.0, 200.0, 300.0, 400.0])
    measured = reference + np.array([10.0, -10.0, 30.0, 10.0])   # differences: mean 10, sd 16.33
    agreement = metrics.bland_altman(measured, reference)
    sd = np.std([10, -10, 30, 10], ddof=1)
    assert agreement["bias"] == pytest.approx(10.0)
    assert agreement["sd"] == pytest.approx(sd)
    assert agreement["lower"] == pytest.approx(10 - 1.96 * sd) and agreement["upper"] == pytest.approx(10 + 1.96 * sd)
    assert agreement["pearson_r"] == pytest.approx(np.corrcoef(measured, reference)[0, 1])
    assert agreement["relative_bias"] == pytest.approx(10 / 250)
    np.testing.assert_allclose(agreement["mean"], (measured + reference) / 2)


def test_summarize_reports():
    reports = [{"a": {"dice": 0.5}}, {"a": {"dice": 0.7}}, {"a": {"dice": 0.9}}]
    summary = metrics.summarize_reports(reports)
    assert summary["a"]["dice"]["mean"] == pytest.approx(0.7)
    assert summary["a"]["dice"]["sd"] == pytest.approx(0.2)


def test_pixel_accuracy_misleads_when_background_dominates():
    reference = np.zeros((20, 20), np.uint8)
    reference[9:11, 9:11] = 1
    nothing = np.zeros_like(reference)
    assert metrics.pixel_accuracy(nothing, reference) == pytest.approx(0.99)
    assert metrics.dice_score(nothing == 1, reference == 1) == 0.0


# ---------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="same shape"):
        metrics.dice_score(np.zeros((3, 3), bool), np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="binary mask"):
        metrics.dice_score(np.full((3, 3), 2), np.zeros((3, 3), bool))
    with pytest.raises(ValueError, match="spacing must be 3 positive"):
        metrics.hausdorff95(np.ones((3, 3, 3), bool), np.ones((3, 3, 3), bool), (1.0, 1.0))
    with pytest.raises(ValueError, match="spacing must be 2 positive"):
        metrics.hausdorff95(np.ones((3, 3), bool), np.ones((3, 3), bool), (1.0, 0.0))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.bland_altman([1.0], [2.0])
    with pytest.raises(ValueError, match="finite"):
        metrics.bland_altman([1.0, np.nan], [2.0, 3.0])
    with pytest.raises(ValueError, match="same shape"):
        metrics.segmentation_report(np.zeros((2, 2, 2)), np.zeros((2, 2, 3)), (1, 1, 1))
    with pytest.raises(ValueError, match="at least one"):
        metrics.summarize_reports([])
