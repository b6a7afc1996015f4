"""Checkers for chapter 09, From DICOM to tensor (从 DICOM 到张量).

==================  =====================================================================
name                what the student writes
==================  =====================================================================
dicom_window        ``apply_window(values, center, width)``: DICOM's LINEAR window, [0, 1]
dicom_hounsfield    ``to_hounsfield(stored, slope, intercept)``: stored values to HU
dicom_monochrome1   ``brighter_is_denser(image, photometric)``: invert MONOCHROME1 only
dicom_center_crop   ``center_square_crop(image)``: the largest centred square
==================  =====================================================================
"""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "09_dicom"


def _reference_window(values, center, width):
    from cnncourse.dicom import apply_window

    return apply_window(values, center, width)


@register("dicom_window", CHAPTER, "DICOM linear windowing: (values, center, width) -> [0, 1]")
def check_window(candidate) -> None:
    """``candidate(values, center, width)`` must follow PS3.3 C.11.2.1.2.1, scaled to [0, 1]."""
    cases = [
        # (values, center, width, what)
        (np.array([-1000.0, -160.5, 39.5, 239.5, 240.0, 1000.0]), 40.0, 400.0, "a mediastinal window (40, 400)"),
        (np.array([-1000.0, -600.0, -100.0, 200.0]), -600.0, 1500.0, "a lung window (-600, 1500)"),
        (np.arange(-3, 4, dtype=np.float64), 0.0, 4.0, "a narrow window (0, 4)"),
        (np.linspace(-1200, 2000, 12).reshape(3, 4), 400.0, 1800.0, "a bone window (400, 1800) on a 3×4 array"),
        (np.array([[0, 100], [2000, 4095]], dtype=np.int16), 2047.0, 4096.0, "int16 values, window (2047, 4096)"),
    ]
    rng = grading_rng(9)  # a case drawn from the grading seed: no table of answers
    center, width = float(rng.integers(-800, 800)), float(rng.integers(2, 2000))
    cases.append((np.round(rng.uniform(-1200, 2000, (3, 5)), 1), center, width, f"a window ({center:g}, {width:g})"))
    for values, center, width, what in cases:
        received = call_candidate(candidate, values.copy(), center, width, what="your apply_window")
        received_array = np.asarray(received)
        if received_array.shape != values.shape:
            raise ExerciseFailed(
                f"your apply_window, {what}: the output must have the input's shape {values.shape}, "
                f"got {received_array.shape}"
            )
        if received_array.size and (np.nanmin(received_array) < 0 or np.nanmax(received_array) > 1):
            raise ExerciseFailed(
                f"your apply_window, {what}: values must lie in [0, 1] (clip below and above the window), got "
                f"{np.nanmin(received_array):.4g} to {np.nanmax(received_array):.4g}"
            )
        assert_close(received, _reference_window(values, center, width), f"your apply_window, {what}", atol=1e-5)


@register("dicom_hounsfield", CHAPTER, "stored values to Hounsfield units: stored * slope + intercept")
def check_hounsfield(candidate) -> None:
    """``candidate(stored, slope, intercept)`` must return float HU, without integer overflow."""
    cases = [
        (np.array([24, 1024, 1064, 2024], dtype=np.uint16), 1, -1024, "uint16 stored values, slope 1, intercept -1024"),
        (np.array([[-2000, 0], [40, 3071]], dtype=np.int16), 1.0, -1024.0, "int16 stored values (padding -2000)"),
        (np.array([0, 1, 400, 4095], dtype=np.uint16), 2.5, -100.5, "slope 2.5, intercept -100.5"),
        (np.array([65535, 0], dtype=np.uint16), 1, -1024, "the largest uint16 value, 65535"),
    ]
    rng = grading_rng(19)  # a case drawn from the grading seed: no table of answers
    slope, intercept = round(float(rng.uniform(0.5, 3.0)), 2), float(rng.integers(-2048, 0))
    cases.append((rng.integers(0, 65536, 6).astype(np.uint16), slope, intercept, f"slope {slope}, intercept {intercept:g}"))
    for stored, slope, intercept, what in cases:
        original = stored.copy()
        try:
            received = call_candidate(candidate, stored, slope, intercept, what="your to_hounsfield")
        except ExerciseFailed as failure:
            if isinstance(failure.__cause__, OverflowError):
                raise ExerciseFailed(
                    f"{failure}\n  Stored values are unsigned integers here ({stored.dtype}): convert them to float "
                    f"first, e.g. stored.astype(np.float64) * slope + intercept."
                ) from failure.__cause__
            raise
        if not np.array_equal(stored, original):
            raise ExerciseFailed(f"your to_hounsfield, {what}: it changed its input array; return a new array")
        received_array = np.asarray(received)
        if received_array.dtype.kind != "f":
            raise ExerciseFailed(
                f"your to_hounsfield, {what}: return floats (HU are real numbers and can be negative), got dtype "
                f"{received_array.dtype}; convert with stored.astype(np.float64) before multiplying"
            )
        expected = stored.astype(np.float64) * slope + intercept
        assert_close(received, expected, f"your to_hounsfield, {what}", rtol=1e-9, atol=1e-6)


@register("dicom_monochrome1", CHAPTER, "invert MONOCHROME1 so that brighter always means denser")
def check_monochrome1(candidate) -> None:
    """``candidate(image, photometric)``: 1 − image for MONOCHROME1, unchanged for MONOCHROME2, else ValueError."""
    image = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    image = np.concatenate([image, grading_rng(29).random((2, 3)).astype(np.float32)], axis=1)  # drawn: no table
    for photometric, expected in (("MONOCHROME1", 1.0 - image), ("MONOCHROME2", image)):
        original = image.copy()
        received = call_candidate(candidate, image, photometric, what=f"your brighter_is_denser(image, {photometric!r})")
        if not np.array_equal(image, original):
            raise ExerciseFailed(f"your brighter_is_denser({photometric!r}) changed its input; return a new array")
        assert_close(received, expected, f"your brighter_is_denser(image, {photometric!r})")
    for photometric in ("RGB", "PALETTE COLOR"):
        try:
            candidate(image, photometric)
        except NotImplementedError:
            raise ExerciseFailed(
                "your brighter_is_denser is not implemented yet: replace the `raise NotImplementedError` stub."
            ) from None
        except ValueError:
            continue
        except Exception as error:
            raise ExerciseFailed(
                f"your brighter_is_denser(image, {photometric!r}) should raise ValueError, "
                f"but raised {type(error).__name__}: {error}"
            ) from error
        raise ExerciseFailed(
            f"your brighter_is_denser(image, {photometric!r}) returned an image; a colour image has no single "
            f"grey level to invert, so raise ValueError"
        )


@register("dicom_center_crop", CHAPTER, "the largest centred square of an (H, W) image")
def check_center_crop(candidate) -> None:
    """``candidate(image)`` must return image[top:top+s, left:left+s] with s = min(H, W)."""
    from cnncourse.dicom import center_square_crop

    rng = grading_rng(39)
    drawn = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))  # drawn from the grading seed: no table of answers
    for shape in ((5, 8), (9, 4), (6, 6), (7, 10), (1955, 1841), drawn):
        image = np.arange(shape[0] * shape[1]).reshape(shape) + int(rng.integers(0, 1000))
        expected = center_square_crop(image).copy()  # before the candidate runs, on its own copy
        given = image.copy()
        received = call_candidate(candidate, given, what=f"your center_square_crop on shape {shape}")
        if not np.array_equal(given, image):
            raise ExerciseFailed(
                f"your center_square_crop on shape {shape} changed the image it was given (a crop is a view: "
                "editing it in place edits the input); return the crop without modifying it"
            )
        assert_close(received, expected, f"your center_square_crop on shape {shape}", rtol=0, atol=0)
