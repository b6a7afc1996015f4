"""cnncourse.dicom on real DICOM files shipped by pydicom and pydicom-data.

Each file and what the pipeline must do with it:

=================================  ========================  =========================================
file                               what it is                 what is checked
=================================  ========================  =========================================
CT_small.dcm (pydicom.examples.ct) CT, MONOCHROME2, int16    HU = stored − 1024, lung < −700 HU, bone
                                   slope 1, intercept −1024   > +300 HU; windows; pydicom parity
693_UNCR.dcm (pydicom-data)        head CT, padding −2000     air ≈ −1000 HU, brain ≈ +30 HU, the file's
                                                              window 40/100
eCT_Supplemental.dcm               Enhanced CT, 2 frames,     rescale and window read from the
                                   functional groups          functional groups (else silently wrong)
RG1_UNCR.dcm (pydicom-data)        chest CR, MONOCHROME1,     mediastinum darker than lungs in stored
                                   15 bits, window 15000/30000 values, brighter after read_image
MR2_UNCR.dcm (pydicom-data)        MR, slope 3.774114         rescale applied, the file's window
emri_small.dcm                     MR, 10 frames              (frames, H, W), frame choice, out of range
mlut_18.dcm / vlut_04.dcm          Modality / VOI LUT Seq.    pydicom's LUT functions are used
examples_rgb_color.dcm             US, RGB                    refused, or BT.601 luma on request
examples_palette.dcm               US, PALETTE COLOR          refused, or palette then luma on request
examples_ybr_color.dcm             US, YBR_FULL_422, JPEG     refused, or luma on request
JPEG-LL.dcm                        NM, JPEG Lossless          no decoder installed: names pylibjpeg
RG1_J2KR.dcm                       RG1 in JPEG 2000           names pylibjpeg-openjpeg when no decoder
rtplan.dcm                         RT Plan                    no pixel data
emri_small_jpeg_2k_lossless_too_short.dcm  truncated          DicomError, no bare traceback
a truncated copy of CT_small.dcm, a text file, a PNG file     DicomError with a readable message
=================================  ========================  =========================================
"""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut, apply_windowing

from cnncourse import dicom
from cnncourse.dicom import (
    DicomError,
    apply_window,
    center_square_crop,
    header_summary,
    read_image,
    read_modality,
    to_model_input,
)


def data_file(name: str) -> str:
    """The path of a file from pydicom's test files or pydicom-data, never downloading."""
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install pydicom-data)")
    return path


def raw_pixels(name: str) -> tuple[Dataset, np.ndarray]:
    ds = pydicom.dcmread(data_file(name))
    return ds, ds.pixel_array


def chest_regions(image: np.ndarray) -> tuple[float, float]:
    """Mean of the mediastinum (central strip) and of both lung fields, rows 25–55 %."""
    height, width = image.shape
    rows = slice(int(0.25 * height), int(0.55 * height))
    mediastinum = image[rows, int(0.46 * width) : int(0.54 * width)]
    lungs = np.concatenate(
        [
            image[rows, int(0.20 * width) : int(0.35 * width)].ravel(),
            image[rows, int(0.65 * width) : int(0.80 * width)].ravel(),
        ]
    )
    return float(mediastinum.mean()), float(lungs.mean())


def pydicom_window_01(values, center, width, bits_stored=16, signed=True):
    """pydicom's apply_windowing on a minimal data set, scaled from its output range to [0, 1]."""
    ds = Dataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored = bits_stored
    ds.PixelRepresentation = int(signed)
    ds.WindowCenter = center
    ds.WindowWidth = width
    y_min = -(2 ** (bits_stored - 1)) if signed else 0
    y_max = 2 ** (bits_stored - 1) - 1 if signed else 2**bits_stored - 1
    out = apply_windowing(np.asarray(values, dtype=np.float64), ds)
    return (out - y_min) / (y_max - y_min)


# ----------------------------------------------------------------------------- CT


def test_ct_small_is_in_hounsfield_units():
    ds, raw = raw_pixels("CT_small.dcm")
    assert ds.Modality == "CT" and ds.RescaleSlope == 1 and ds.RescaleIntercept == -1024
    hu = read_modality(data_file("CT_small.dcm"))
    assert hu.dtype == np.float32 and hu.shape == (128, 128)
    np.testing.assert_array_equal(hu, raw.astype(np.float32) - 1024)
    np.testing.assert_array_equal(hu, apply_modality_lut(raw, ds).astype(np.float32))
    # The top corners are lung (−700 to −900 HU), the vertebral body bone (>+300 HU).
    assert np.median(hu[:20, :20]) < -700 and np.median(hu[:20, -20:]) < -700
    assert hu.max() > 300
    assert -1100 < hu.min() < -700


def test_dataset_and_path_give_the_same_result():
    import pydicom.examples

    np.testing.assert_array_equal(read_modality(pydicom.examples.ct), read_modality(data_file("CT_small.dcm")))


def test_head_ct_air_is_minus_1000_hu_and_brain_about_30():
    hu = read_modality(data_file("693_UNCR.dcm"))
    assert hu.min() == -3024  # Pixel Padding Value −2000 stored, outside the field of view
    in_field = hu > -2000
    histogram, edges = np.histogram(hu[in_field], bins=np.arange(-1200, 1600, 10))
    assert abs(edges[histogram.argmax()] - -1000) <= 20  # the most common value: air
    air = hu[in_field & (hu < -900)]
    assert abs(np.median(air) - -1000) < 20
    assert 15 < np.median(hu[200:320, 200:320]) < 45  # brain parenchyma


def test_head_ct_uses_its_own_window():
    ds = pydicom.dcmread(data_file("693_UNCR.dcm"))
    assert (ds.WindowCenter, ds.WindowWidth) == (40, 100)
    np.testing.assert_allclose(
        read_image(data_file("693_UNCR.dcm")), apply_window(read_modality(data_file("693_UNCR.dcm")), 40, 100), atol=1e-6
    )


@pytest.mark.parametrize("window", [(-600, 1500), (40, 400), (400, 1800)])
def test_read_image_with_a_given_window(window):
    path = data_file("CT_small.dcm")
    image = read_image(path, window=window)
    assert image.dtype == np.float32 and image.shape == (128, 128)
    assert image.min() >= 0 and image.max() <= 1
    np.testing.assert_array_equal(image, apply_window(read_modality(path), *window))


def test_windows_show_what_they_are_named_for():
    path = data_file("CT_small.dcm")
    hu = read_modality(path)
    lung = read_image(path, window=(-600, 1500))
    mediastinal = read_image(path, window=(40, 400))
    bone = read_image(path, window=(400, 1800))
    lung_tissue = hu < -700
    # The lung window shows detail in the lungs; the mediastinal window paints them black.
    assert lung[lung_tissue].std() > 0.01 and np.all(mediastinal[lung_tissue] == 0)
    # Bone above +1000 HU is white in the mediastinal window, still grey in the bone window.
    dense = hu > 1000
    assert dense.any() and np.all(mediastinal[dense] == 1) and bone[dense].max() < 1


def test_ct_without_a_window_uses_robust_percentiles():
    path = data_file("CT_small.dcm")
    hu = read_modality(path).astype(np.float64)
    low, high = np.percentile(hu, dicom.PERCENTILES)
    expected = np.clip((hu - low) / (high - low), 0, 1)
    np.testing.assert_allclose(read_image(path), expected, atol=1e-6)


def test_enhanced_ct_reads_rescale_and_window_from_functional_groups():
    ds, raw = raw_pixels("eCT_Supplemental.dcm")
    assert "RescaleIntercept" not in ds  # only in the Shared Functional Groups
    hu = read_modality(data_file("eCT_Supplemental.dcm"))
    assert hu.shape == (2, 512, 512) and hu.dtype == np.float32
    np.testing.assert_array_equal(hu, raw.astype(np.float32) - 1024)
    assert hu.min() == -1024
    # Its Frame VOI LUT (centre 49, width 102): a brain window.
    np.testing.assert_allclose(read_image(data_file("eCT_Supplemental.dcm"), frame=1), apply_window(hu[1], 49, 102), atol=1e-6)


# ----------------------------------------------------------------------------- windowing


def test_apply_window_matches_pydicom_on_random_windows():
    rng = np.random.default_rng(0)
    values = rng.integers(-3000, 3000, size=4000).astype(np.float64)
    values = np.concatenate([values, values + 0.5])
    for _ in range(50):
        center, width = float(rng.integers(-1000, 1000)), float(rng.integers(1, 4000))
        # the two edges of the window, exactly
        edges = np.array([center - 0.5 - (width - 1) / 2, center - 0.5 + (width - 1) / 2])
        x = np.concatenate([values, edges, edges + 1e-9, edges - 1e-9])
        np.testing.assert_allclose(apply_window(x, center, width), pydicom_window_01(x, center, width), atol=1e-6)


def test_apply_window_matches_pydicom_for_width_one_and_fractional_windows():
    x = np.linspace(-5, 5, 101)
    for center, width in [(0.0, 1.0), (0.5, 1.0), (1.25, 2.5), (-0.3, 7.7)]:
        np.testing.assert_allclose(apply_window(x, center, width), pydicom_window_01(x, center, width), atol=1e-6)


def test_apply_window_by_hand():
    # A mediastinal window: centre 40, width 400 spans −160.5 … +239.5.
    out = apply_window([-1000, -160.5, 39.5, 239.5, 240, 1000], 40, 400)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0, 0, 0.5, 1, 1, 1], atol=1e-6)


def test_apply_window_keeps_shape_and_rejects_bad_arguments():
    assert apply_window(np.zeros((3, 4, 5), dtype=np.int16), 0, 10).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="width"):
        apply_window([1, 2], 0, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        apply_window([1.0, np.nan], 0, 10)
    with pytest.raises(ValueError, match="center"):
        apply_window([1.0], np.inf, 10)
    with pytest.raises(TypeError):
        apply_window(np.array(["a"]), 0, 10)


def test_window_argument_is_checked():
    with pytest.raises(ValueError, match="window"):
        read_image(data_file("CT_small.dcm"), window=(40,))
    with pytest.raises(ValueError, match="color"):
        read_image(data_file("CT_small.dcm"), color="grey")


# ----------------------------------------------------------------------------- MONOCHROME1


def test_chest_radiograph_monochrome1_is_inverted():
    path = data_file("RG1_UNCR.dcm")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert (ds.Modality, ds.PhotometricInterpretation, ds.BitsStored) == ("CR", "MONOCHROME1", 15)
    stored = read_modality(path)
    assert stored.shape == (1955, 1841)
    mediastinum, lungs = chest_regions(stored)
    assert mediastinum < lungs  # MONOCHROME1: dense tissue has low values
    image = read_image(path)
    assert image.dtype == np.float32 and image.shape == (1955, 1841)
    assert 0 <= image.min() and image.max() <= 1
    mediastinum, lungs = chest_regions(image)
    assert mediastinum > lungs + 0.2  # after inversion, brighter means denser


def test_chest_radiograph_uses_its_own_window_then_inverts():
    path = data_file("RG1_UNCR.dcm")
    ds = pydicom.dcmread(path)
    assert (ds.WindowCenter, ds.WindowWidth) == (15000, 30000)
    windowed = apply_voi_lut(ds.pixel_array, ds) / (2**15 - 1)  # pydicom's output range: 15 bits stored
    np.testing.assert_allclose(read_image(path), 1 - windowed, atol=1e-6)
    # A window passed by hand replaces the file's, and is inverted too.
    np.testing.assert_allclose(
        read_image(path, window=(12000, 20000)), 1 - apply_window(ds.pixel_array, 12000, 20000), atol=1e-6
    )


def test_chest_radiograph_to_model_input():
    x = to_model_input(read_image(data_file("RG1_UNCR.dcm")))
    assert x.shape == (28, 28) and x.dtype == np.uint8
    mediastinum, lungs = chest_regions(x.astype(np.float64))
    assert mediastinum > lungs


def test_jpeg2000_copy_decodes_to_the_same_image_when_a_decoder_is_installed():
    from pydicom.pixels import get_decoder

    path = data_file("RG1_J2KR.dcm")
    if not get_decoder(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID).is_available:
        pytest.skip("no JPEG 2000 decoder installed")
    np.testing.assert_array_equal(read_image(path), read_image(data_file("RG1_UNCR.dcm")))


# ----------------------------------------------------------------------------- MR, LUTs, frames


def test_mr_with_rescale_slope():
    ds, raw = raw_pixels("MR2_UNCR.dcm")
    assert float(ds.RescaleSlope) == pytest.approx(3.774114)
    values = read_modality(data_file("MR2_UNCR.dcm"))
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, raw * 3.774114 + 0.000061, rtol=1e-6)
    # Its own window (centre 1000, width 2000), through pydicom, in the rescaled range.
    np.testing.assert_allclose(read_image(data_file("MR2_UNCR.dcm")), apply_window(values, 1000, 2000), atol=1e-5)


def test_modality_lut_sequence_uses_pydicom():
    ds, raw = raw_pixels("mlut_18.dcm")
    assert "ModalityLUTSequence" in ds
    np.testing.assert_array_equal(read_modality(data_file("mlut_18.dcm")), apply_modality_lut(raw, ds).astype(np.float32))


def test_voi_lut_sequence_uses_pydicom():
    ds, raw = raw_pixels("vlut_04.dcm")
    assert "VOILUTSequence" in ds
    lut_output = apply_voi_lut(raw, ds).astype(np.float64)
    lut_entries = apply_voi_lut(np.arange(256), ds)
    expected = (lut_output - lut_entries.min()) / (lut_entries.max() - lut_entries.min())
    np.testing.assert_allclose(read_image(data_file("vlut_04.dcm")), expected, atol=1e-6)


def test_multi_frame_file():
    path = data_file("emri_small.dcm")
    ds, raw = raw_pixels("emri_small.dcm")
    values = read_modality(path)
    assert values.shape == (10, 64, 64) and values.dtype == np.float32
    np.testing.assert_array_equal(values, raw.astype(np.float32))
    np.testing.assert_array_equal(read_modality(path, frame=3), values[3])
    last = read_image(path, frame=9)
    assert last.shape == (64, 64)
    low, high = np.percentile(values[9].astype(np.float64), dicom.PERCENTILES)
    np.testing.assert_allclose(last, np.clip((values[9] - low) / (high - low), 0, 1), atol=1e-6)
    assert not np.allclose(read_image(path, frame=0), last)


@pytest.mark.parametrize("frame", [10, -1, 100])
def test_frame_out_of_range(frame):
    with pytest.raises(DicomError, match=r"frame .* out of range.*10 frame\(s\).*0 to 9"):
        read_image(data_file("emri_small.dcm"), frame=frame)
    with pytest.raises(DicomError, match="out of range"):
        read_modality(data_file("emri_small.dcm"), frame=frame)


def test_frame_out_of_range_in_a_single_frame_file():
    with pytest.raises(DicomError, match=r"1 frame\(s\), so frame must be 0"):
        read_image(data_file("CT_small.dcm"), frame=1)
    with pytest.raises(TypeError, match="frame"):
        read_image(data_file("CT_small.dcm"), frame=0.0)


# ----------------------------------------------------------------------------- colour


@pytest.mark.parametrize("name", ["examples_rgb_color.dcm", "examples_palette.dcm", "examples_ybr_color.dcm"])
def test_colour_images_are_refused_clearly(name):
    with pytest.raises(DicomError, match=r"colour image .*color='luminance'"):
        read_image(data_file(name))
    with pytest.raises(DicomError, match="grey-scale"):
        read_modality(data_file(name))


def test_rgb_to_luminance_matches_pillow():
    from PIL import Image

    ds, rgb = raw_pixels("examples_rgb_color.dcm")
    grey = read_image(data_file("examples_rgb_color.dcm"), color="luminance")
    assert grey.shape == rgb.shape[:2] and grey.dtype == np.float32
    pillow = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    assert np.abs(grey * 255 - pillow).max() <= 1


def test_palette_to_luminance_applies_the_palette():
    from pydicom.pixels import apply_color_lut

    ds, indices = raw_pixels("examples_palette.dcm")
    grey = read_image(data_file("examples_palette.dcm"), color="luminance")
    assert grey.shape == (350, 800) and 0 <= grey.min() and grey.max() <= 1
    rgb = apply_color_lut(indices, ds) / 65535.0
    np.testing.assert_allclose(grey, rgb @ [0.299, 0.587, 0.114], atol=1e-6)
    # the palette, not the indices: grey is not a rescaled copy of the index image
    assert abs(np.corrcoef(grey.ravel(), indices.ravel())[0, 1]) < 0.999


def test_ybr_multiframe_to_luminance():
    grey = read_image(data_file("examples_ybr_color.dcm"), frame=29, color="luminance")
    assert grey.shape == (240, 320) and 0 <= grey.min() and grey.max() <= 1


# ----------------------------------------------------------------------------- files that cannot be used


def test_not_a_dicom_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not an image\n")
    with pytest.raises(DicomError, match=r"'notes.txt' is not a DICOM file.*text file"):
        read_image(text)
    assert issubclass(DicomError, ValueError)


def test_a_png_is_not_a_dicom_file(tmp_path):
    from PIL import Image

    png = tmp_path / "xray.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(png)
    with pytest.raises(DicomError, match="not a DICOM file.*PNG"):
        read_modality(png)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(DicomError, match="not a DICOM file.*empty"):
        read_image(empty)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "nowhere.dcm")
    with pytest.raises(TypeError, match="path"):
        read_image(42)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_in_the_pixel_data(tmp_path, keep):
    source = data_file("CT_small.dcm")
    data = open(source, "rb").read()
    truncated = tmp_path / "ct_truncated.dcm"
    truncated.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(DicomError, match=r"'ct_truncated.dcm' is truncated.*32768 bytes"):
        read_modality(truncated)


@pytest.mark.parametrize("keep", [140, 600])
def test_truncated_before_the_pixel_data(tmp_path, keep):
    data = open(data_file("CT_small.dcm"), "rb").read()
    truncated = tmp_path / "ct_header_only.dcm"
    truncated.write_bytes(data[:keep])
    with pytest.raises(DicomError, match=r"truncated|Transfer Syntax"):
        read_image(truncated)


def test_shipped_truncated_file():
    with pytest.warns(UserWarning):  # pydicom's own warning while reading
        with pytest.raises(DicomError, match="no pixel data.*truncated"):
            read_image(data_file("emri_small_jpeg_2k_lossless_too_short.dcm"))


def test_file_without_pixel_data():
    with pytest.raises(DicomError, match="no pixel data: it is a RT Plan Storage.*no image"):
        read_image(data_file("rtplan.dcm"))


def test_compressed_file_without_its_decoder():
    from pydicom.pixels import get_decoder

    path = data_file("JPEG-LL.dcm")
    tsyntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if get_decoder(tsyntax).is_available:
        pytest.skip("a JPEG Lossless decoder is installed here")
    with pytest.raises(DicomError, match=r"JPEG Lossless.*no decoder.*pip install pylibjpeg pylibjpeg-libjpeg"):
        read_image(path)
    with pytest.raises(DicomError, match="no decoder"):
        read_modality(path)


def test_jpeg2000_without_its_decoder_names_openjpeg(monkeypatch, tmp_path):
    monkeypatch.setattr(dicom, "_decoder_available", lambda tsyntax: False)
    path = data_file("RG1_J2KR.dcm")
    with pytest.raises(DicomError, match=r"JPEG 2000.*no decoder.*pylibjpeg-openjpeg"):
        read_image(path)


def test_a_corrupt_compressed_stream_is_a_dicom_error(tmp_path):
    ds = pydicom.dcmread(data_file("RG1_J2KR.dcm"))
    from pydicom.encaps import encapsulate

    ds.PixelData = encapsulate([b"\x00" * 64])
    broken = tmp_path / "broken_j2k.dcm"
    ds.save_as(broken)
    with pytest.raises(DicomError, match="'broken_j2k.dcm'.*could not be decoded"):
        read_image(broken)


def test_other_readers_raise_only_dicom_errors(tmp_path):
    """Every unusable file gives a DicomError, whichever function reads it."""
    bad = [data_file("rtplan.dcm"), data_file("examples_rgb_color.dcm"), data_file("no_meta.dcm")]
    for path in bad:
        for reader in (read_image, read_modality):
            with pytest.raises(DicomError):
                reader(path)


# ----------------------------------------------------------------------------- model input


def test_center_square_crop():
    image = np.arange(5 * 8).reshape(5, 8)
    np.testing.assert_array_equal(center_square_crop(image), image[:, 1:6])
    tall = np.arange(9 * 4).reshape(9, 4)
    np.testing.assert_array_equal(center_square_crop(tall), tall[2:6])
    with pytest.raises(ValueError, match="2-D"):
        center_square_crop(np.zeros((2, 2, 2)))


def test_to_model_input_shape_dtype_and_constant():
    out = to_model_input(np.full((300, 200), 0.5, dtype=np.float32))
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert np.all(out == 128)
    assert to_model_input(np.zeros((64, 64), dtype=np.uint8), size=8).shape == (8, 8)


def test_to_model_input_crops_the_centre():
    image = np.zeros((100, 300))
    image[:, 100:200] = 1.0  # only the centre square is white
    assert np.all(to_model_input(image) == 255)


def test_to_model_input_anti_aliases():
    checkerboard = (np.indices((280, 280)).sum(axis=0) % 2).astype(np.float64)
    out = to_model_input(checkerboard)
    assert np.all(np.abs(out.astype(int) - 128) <= 1)  # averaged to mid-grey
    naive = (checkerboard[::10, ::10] * 255).astype(np.uint8)
    assert np.all(naive == 0)  # sampling every 10th pixel sees only one colour


def test_to_model_input_uint8_matches_float():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(90, 120)).astype(np.uint8)
    np.testing.assert_array_equal(to_model_input(image), to_model_input(image / 255.0))


def test_to_model_input_rejects_bad_images():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        to_model_input(np.full((10, 10), 300.0))
    with pytest.raises(ValueError, match="2-D"):
        to_model_input(np.zeros((2, 10, 10)))
    with pytest.raises(ValueError, match="NaN"):
        to_model_input(np.full((10, 10), np.nan))
    with pytest.raises(ValueError, match="dtype"):
        to_model_input(np.zeros((10, 10), dtype=np.int16))
    with pytest.raises(ValueError, match="size"):
        to_model_input(np.zeros((10, 10)), size=0)


# ----------------------------------------------------------------------------- header


def test_header_summary():
    summary = header_summary(data_file("RG1_UNCR.dcm"))
    assert list(summary) == list(dicom.PREPROCESSING_TAGS)
    assert summary["Modality"] == "CR" and summary["PhotometricInterpretation"] == "MONOCHROME1"
    assert summary["BitsStored"] == 15 and summary["WindowCenter"] == 15000.0
    assert summary["RescaleSlope"] is None
    assert summary["TransferSyntaxUID"] == "Explicit VR Little Endian"
    assert not any(key.startswith("Patient") for key in summary)
    ct = header_summary(data_file("CT_small.dcm"))
    assert ct["RescaleIntercept"] == -1024.0 and ct["PixelSpacing"] == [0.661468, 0.661468]
    with pytest.raises(DicomError, match="not a DICOM file"):
        header_summary(data_file("no_meta.dcm"))


# Corrupt headers and bad arguments: clear errors, never a silently wrong image.

def _ct():
    import pydicom

    return pydicom.dcmread(pydicom.examples.get_path("ct"))


def test_rows_that_do_not_match_the_pixel_data_are_refused():
    ds = _ct()
    ds.Rows = ds.Rows // 2
    with pytest.raises(DicomError, match="more than the .* does not match the image"):
        read_modality(ds)


def test_zero_rescale_slope_is_refused():
    ds = _ct()
    ds.RescaleSlope = 0
    with pytest.raises(DicomError, match=r"Rescale Slope \(0028,1053\) is 0"):
        read_image(ds)


def test_unknown_photometric_interpretation_is_named():
    ds = _ct()
    ds.PhotometricInterpretation = "FOO"
    for reader in (read_image, read_modality):
        with pytest.raises(DicomError, match="PhotometricInterpretation 'FOO', which is not one DICOM defines"):
            reader(ds)


@pytest.mark.parametrize("window, message", [(("a", 400), "window center must be a finite number, got str 'a'"),
                                             ((None, 400), "window center must be a finite number, got NoneType"),
                                             ((40, float("nan")), "window width must be a finite number")])
def test_bad_windows_name_the_argument(window, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        read_image(_ct(), window=window)


def test_apply_window_names_its_arguments():
    with pytest.raises(TypeError, match="values must be a numeric array"):
        apply_window(None, 40, 400)
    with pytest.raises(ValueError, match="center must be a finite number, got NoneType None"):
        apply_window(np.zeros(3), None, 400)


def test_empty_image_is_not_a_black_model_input():
    for image in (np.zeros((0, 5), np.uint8), np.zeros((5, 0))):
        with pytest.raises(ValueError, match="at least one row and one column"):
            to_model_input(image)


# ----------------------------------------------------------------------------- grey_image, the public pipeline


@pytest.mark.parametrize("name, window", [("CT_small.dcm", None), ("CT_small.dcm", (-600, 1500)),
                                          ("MR_small.dcm", None)])
def test_grey_image_is_read_images_grey_pipeline(name, window):
    image = dicom.grey_image(data_file(name), window=window)
    assert image.dtype == np.float32 and image.ndim == 2 and 0.0 <= image.min() <= image.max() <= 1.0
    np.testing.assert_array_equal(image, read_image(data_file(name), window=window))


def test_grey_image_refuses_colour_and_bad_arguments():
    with pytest.raises(DicomError, match=r"colour image .*color='luminance'"):
        dicom.grey_image(data_file("examples_rgb_color.dcm"))
    with pytest.raises(ValueError, match="window must be a"):
        dicom.grey_image(data_file("CT_small.dcm"), window=(40,))
    with pytest.raises(DicomError, match="frame"):
        dicom.grey_image(data_file("CT_small.dcm"), frame=3)
    with pytest.raises(TypeError, match="source must be"):
        dicom.grey_image(3)


# Issue 24: header values that used to give silent numbers, and files that gave unhelpful errors.


@pytest.mark.parametrize("keyword, value, tag", [
    ("WindowWidth", "1e30", r"WindowWidth \(0028,1051\)"),
    ("WindowCenter", "1e300", r"WindowCenter \(0028,1050\)"),
    ("RescaleIntercept", "1e400", r"RescaleIntercept \(0028,1052\)"),
    ("RescaleSlope", "1e300", r"RescaleSlope \(0028,1053\)"),
])
def test_implausible_window_and_rescale_values_are_refused_by_tag(keyword, value, tag):
    ds = pydicom.dcmread(data_file("CT_small.dcm"))
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    setattr(ds, keyword, value)
    with pytest.raises(DicomError, match=tag):
        read_image(ds)


def test_photometric_interpretation_must_match_samples_per_pixel():
    ds = pydicom.dcmread(data_file("SC_rgb.dcm"))
    ds.PhotometricInterpretation = "MONOCHROME2"
    with pytest.raises(DicomError, match=r"MONOCHROME2' but Samples per Pixel \(0028,0002\) 3"):
        read_image(ds)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "scan.dcm"
    os.mkfifo(fifo)
    with pytest.raises(DicomError, match="not a regular file"):
        read_image(fifo)


def test_bad_vr_file_names_the_tag():
    with pytest.warns(UserWarning), pytest.raises(DicomError, match=r"Number of Frames \(0028,0008\) is '1A'"):
        read_image(data_file("badVR.dcm"))


def test_negative_number_of_frames_names_the_tag():
    ds = pydicom.dcmread(data_file("CT_small.dcm"))
    ds.NumberOfFrames = -5
    with pytest.raises(DicomError, match=r"Number of Frames \(0028,0008\) is '-5'; it must be a whole number >= 1"):
        read_image(ds)


def test_a_dicomdir_is_named_as_such():
    with pytest.raises(DicomError, match="is a DICOMDIR: a directory that lists other DICOM files"):
        read_image(data_file("DICOMDIR"))
