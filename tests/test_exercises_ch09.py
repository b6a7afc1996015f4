"""The chapter 09 (From DICOM to tensor) checkers accept correct answers and reject wrong ones readably."""

from __future__ import annotations

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises

# ----------------------------------------------------------------------------- correct answers


def window_right(values, center, width):
    x = np.asarray(values, dtype=np.float64)
    return np.clip((x - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def hounsfield_right(stored, slope, intercept):
    return np.asarray(stored, dtype=np.float64) * slope + intercept


def monochrome1_right(image, photometric):
    if photometric == "MONOCHROME1":
        return 1.0 - image
    if photometric == "MONOCHROME2":
        return image.copy()
    raise ValueError(f"cannot show {photometric} as grey-scale")


def crop_right(image):
    h, w = image.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return image[top : top + s, left : left + s]


# ----------------------------------------------------------------------------- wrong answers


def window_min_max(values, center, width):  # forgets DICOM's -0.5 / -1
    x = np.asarray(values, dtype=np.float64)
    return np.clip((x - (center - width / 2)) / width, 0.0, 1.0)


def window_unclipped(values, center, width):
    x = np.asarray(values, dtype=np.float64)
    return (x - (center - 0.5)) / (width - 1) + 0.5


def window_flat(values, center, width):
    return np.asarray(values, dtype=np.float64).ravel() * 0


def hounsfield_integer(stored, slope, intercept):  # overflows for uint16 + negative intercept
    return stored * slope + intercept


def hounsfield_sign(stored, slope, intercept):
    return np.asarray(stored, dtype=np.float64) * slope - intercept


def hounsfield_in_place(stored, slope, intercept):
    stored[...] = 0
    return np.zeros(stored.shape)


def monochrome1_always_inverts(image, photometric):
    return 1.0 - image


def monochrome1_ignores_colour(image, photometric):
    return 1.0 - image if photometric == "MONOCHROME1" else image


def monochrome1_wrong_error(image, photometric):
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise KeyError(photometric)
    return 1.0 - image if photometric == "MONOCHROME1" else image


def crop_top_left(image):
    s = min(image.shape)
    return image[:s, :s]


def crop_rounds_up(image):
    h, w = image.shape
    s = min(h, w)
    top, left = -(-(h - s) // 2), -(-(w - s) // 2)
    return image[top : top + s, left : left + s]


def stub(*args):
    raise NotImplementedError


# ----------------------------------------------------------------------------- tests


def test_chapter_09_registers_four_checkers():
    names = {e.name for e in exercises("09_dicom")}
    assert names == {"dicom_window", "dicom_hounsfield", "dicom_monochrome1", "dicom_center_crop"}


@pytest.mark.parametrize(
    "name, right",
    [
        ("dicom_window", window_right),
        ("dicom_hounsfield", hounsfield_right),
        ("dicom_monochrome1", monochrome1_right),
        ("dicom_center_crop", crop_right),
    ],
)
def test_correct_answers_pass(name, right, capsys):
    assert check(name, right) is True
    assert "correct" in capsys.readouterr().out


def test_package_functions_pass_their_own_checkers():
    from cnncourse.dicom import apply_window, center_square_crop

    assert check("dicom_window", apply_window)
    assert check("dicom_center_crop", center_square_crop)


@pytest.mark.parametrize(
    "name, wrong, message",
    [
        ("dicom_window", window_min_max, "wrong values"),
        ("dicom_window", window_unclipped, r"\[0, 1\]"),
        ("dicom_window", window_flat, "shape"),
        ("dicom_hounsfield", hounsfield_integer, "OverflowError|dtype|wrong values"),
        ("dicom_hounsfield", hounsfield_sign, "wrong values"),
        ("dicom_hounsfield", hounsfield_in_place, "changed its input"),
        ("dicom_monochrome1", monochrome1_always_inverts, "MONOCHROME2"),
        ("dicom_monochrome1", monochrome1_ignores_colour, "raise ValueError"),
        ("dicom_monochrome1", monochrome1_wrong_error, "should raise ValueError.*KeyError"),
        ("dicom_center_crop", crop_top_left, "wrong values"),
        ("dicom_center_crop", crop_rounds_up, "wrong values"),
    ],
)
def test_wrong_answers_fail_readably(name, wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check(name, wrong)


@pytest.mark.parametrize("name", ["dicom_window", "dicom_hounsfield", "dicom_monochrome1", "dicom_center_crop"])
def test_the_student_stub_fails_with_not_implemented(name):
    with pytest.raises(ExerciseFailed, match="not implemented"):
        check(name, stub)


def test_center_crop_edited_in_place_is_caught():
    from cnncourse.dicom import center_square_crop

    def crop_then_edit(image):
        crop = center_square_crop(image)
        crop[0, 0] = -1  # a view: this also edits the input
        return crop

    with pytest.raises(ExerciseFailed, match="changed its input"):
        check("dicom_center_crop", crop_then_edit)
