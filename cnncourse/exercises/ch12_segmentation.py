"""Checkers for the segmentation chapter (病变定位与评估).

Every expected answer comes from the package (``cnncourse.metrics``, the transposed
convolution's output-size rule as Keras computes it), so the checkers and the chapter agree
on one definition.
"""

import numpy as np

from ..metrics import bland_altman, dice_score
from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "12_segmentation"


def _masks():
    """``(prediction, reference, what)``: the chapter's 5×5 example, random 3-D masks, the empty cases."""
    reference = np.zeros((5, 5), bool)
    reference[1:4, 1:4] = True
    prediction = np.zeros((5, 5), bool)
    prediction[1:4, 2:5] = True
    yield prediction, reference, "the 5×5 example"
    rng = grading_rng(12)
    for shape in ((4, 6, 5), (7, 3, 2)):
        yield rng.random(shape) < 0.4, rng.random(shape) < 0.3, f"random masks {shape}"
    empty = np.zeros((3, 4, 5), bool)
    some = empty.copy()
    some[1, 1:3, 2] = True
    yield some, empty, "a prediction where the reference is empty"
    yield empty, some, "an empty prediction"
    yield empty, empty.copy(), "both masks empty"


@register("segmentation_dice", CHAPTER, "the Dice coefficient of two binary masks, empty masks included")
def _check_dice(candidate):
    for prediction, reference, what in _masks():
        label = f"dice(prediction, reference) for {what}"
        received = call_candidate(candidate, prediction.copy(), reference.copy(), what=label)
        if received is None:
            raise ExerciseFailed(f"{label}: received None. Does your function `return` its result?")
        if not np.isscalar(received) and np.shape(received) != ():
            raise ExerciseFailed(f"{label}: expected one number, got an array of shape {np.shape(received)}")
        if not np.isfinite(float(received)):
            hint = " Both masks are empty: 0 / 0. Decide what agreement means there (the chapter uses 1.0)." \
                if not prediction.any() and not reference.any() else ""
            raise ExerciseFailed(f"{label}: got {received}, expected a finite number.{hint}")
        assert_close(float(received), dice_score(prediction, reference), what=label)
    return True


def _output_length(n, kernel, stride, padding):
    # Keras's rule for Conv2DTranspose without output_padding (keras.src.utils.conv_utils)
    return n * stride if padding == "same" else n * stride + max(kernel - stride, 0)


@register("transpose_output_size", CHAPTER, "the output length of a transposed convolution (Keras's rule)")
def _check_output_size(candidate):
    rng = grading_rng(121)
    drawn = [(int(rng.integers(1, 65)), int(rng.integers(1, 8)), int(rng.integers(1, 5)), padding)
             for padding in ("valid", "same", "valid")]  # drawn from the grading seed: no table of answers
    cases = [(3, 2, 1, "valid"), (3, 3, 1, "valid"), (3, 2, 2, "valid"), (3, 2, 2, "same"), (4, 3, 2, "valid"),
             (4, 3, 2, "same"), (5, 1, 3, "valid"), (7, 5, 1, "same"), (6, 2, 3, "valid"), *drawn]
    for n, kernel, stride, padding in cases:
        what = f"output_size(n={n}, kernel_size={kernel}, stride={stride}, padding={padding!r})"
        received = call_candidate(candidate, n, kernel, stride, padding, what=what)
        expected = _output_length(n, kernel, stride, padding)
        if received is None or not isinstance(received, (int, np.integer)) or isinstance(received, bool):
            raise ExerciseFailed(f"{what}: expected the int {expected}, got {received!r}")
        if int(received) != expected:
            hint = ""
            if padding == "valid" and kernel < stride and int(received) == (n - 1) * stride + kernel:
                hint = (" (n - 1)·s + k is right when k >= s; when the kernel is smaller than the stride, Keras "
                        "still gives each input pixel a block of s outputs.")
            raise ExerciseFailed(f"{what}: expected {expected}, got {received}.{hint}")
    return True


@register("structure_volume_mm3", CHAPTER, "the volume in mm³ of one label of a label volume, from the voxel spacing")
def _check_volume(candidate):
    rng = grading_rng(3)
    labels = rng.integers(0, 3, size=(6, 5, 4)).astype(np.uint8)
    for spacing in ((1.0, 1.0, 1.0), (0.5, 1.0, 2.0), (1.2, 0.9, 3.0)):
        for label in (1, 2):
            what = f"volume_mm3(labels {labels.shape}, spacing={spacing}, label={label})"
            received = call_candidate(candidate, labels.copy(), spacing, label, what=what)
            if received is None:
                raise ExerciseFailed(f"{what}: received None. Does your function `return` its result?")
            expected = float((labels == label).sum()) * float(np.prod(spacing))
            if np.isclose(float(received), float((labels == label).sum())) and not np.isclose(float(received), expected):
                raise ExerciseFailed(f"{what}: got {received}, the number of voxels; multiply by the volume of "
                                     f"one voxel, {np.prod(spacing):g} mm³ (the product of the spacing)")
            assert_close(float(received), expected, what=what)
    return True


@register("bland_altman_limits", CHAPTER, "Bland-Altman bias and 95 % limits of agreement of paired measurements")
def _check_limits(candidate):
    rng = grading_rng(5)
    reference = rng.uniform(2000, 4500, size=30)
    measured = reference + rng.normal(-80, 150, size=30)
    for a, b in ((measured, reference), (reference[:5], reference[:5] + np.array([10.0, -20.0, 5.0, 0.0, 40.0]))):
        what = f"limits(measured {a.shape}, reference {b.shape})"
        received = call_candidate(candidate, a.copy(), b.copy(), what=what)
        if received is None or np.shape(received) != (3,):
            raise ExerciseFailed(f"{what}: expected a tuple (bias, lower, upper), got {received!r}")
        expected = bland_altman(a, b)
        bias, lower, upper = (float(value) for value in received)
        if np.isclose(bias, -expected["bias"]) and not np.isclose(expected["bias"], 0.0):
            raise ExerciseFailed(f"{what}: your bias has the wrong sign; take measured − reference")
        population = np.std(a - b)
        if np.isclose(upper - bias, 1.96 * population) and not np.isclose(population, expected["sd"]):
            raise ExerciseFailed(f"{what}: use the sample standard deviation of the differences (ddof=1)")
        assert_close((bias, lower, upper), (expected["bias"], expected["lower"], expected["upper"]), what=what)
    return True
