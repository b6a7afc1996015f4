"""From a DICOM file to a model input.

Medical images arrive as DICOM files, not as 28×28 arrays. This module turns a file
into what the course's models eat, in the order the DICOM standard (PS3.4 Annex N,
the grey-scale pipeline) applies the steps:

    stored values --Modality LUT--> modality values (e.g. Hounsfield units for CT)
                  --VOI LUT / window--> display values in [0, 1]
                  --Presentation (MONOCHROME1 inverted)--> brighter always means denser
                  --centre square crop, anti-aliased resize--> uint8 (28, 28)

The DICOM steps are pydicom's own functions (``pixel_array``, ``apply_modality_lut``,
``apply_voi_lut``, ``apply_color_lut``); only ``apply_window`` is written out here,
because the chapter teaches it and the tests check it against pydicom.

Public names
------------
``read_modality(source, frame=None)``  float32 (H, W), or (frames, H, W) for multi-frame files
``read_image(source, window=None, frame=0, *, color="refuse")``  float32 (H, W) in [0, 1]
``apply_window(values, center, width)``  DICOM's LINEAR window, float32 in [0, 1]
``center_square_crop(image)``            the largest centred square of a 2-D image
``to_model_input(image, size=28)``       uint8 (size, size), as MedMNIST prepared its images
``header_summary(source)``               the header tags that matter for preprocessing
``DicomError``                           a ``ValueError`` for every file that cannot be used

``source`` is a path (``str`` or ``os.PathLike``) or a ``pydicom.Dataset`` that has
already been read, e.g. ``pydicom.examples.ct``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .checks import check_int
__all__ = [
    "DicomError",
    "read_modality",
    "read_image",
    "grey_image",
    "apply_window",
    "center_square_crop",
    "to_model_input",
    "header_summary",
    "PREPROCESSING_TAGS",
    "PERCENTILES",
]

#: The percentiles that become black and white when a file has no window of its own.
PERCENTILES = (0.5, 99.5)

#: Header tags that decide how the pixels must be preprocessed, in the order the chapter shows them.
PREPROCESSING_TAGS = (
    "Modality",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "RescaleSlope",
    "RescaleIntercept",
    "WindowCenter",
    "WindowWidth",
    "PixelSpacing",
    "TransferSyntaxUID",
)

_GREY = ("MONOCHROME1", "MONOCHROME2")
# Colour interpretations that pydicom's pixel_array returns as RGB (YBR_FULL and
# YBR_FULL_422 are converted by pydicom; JPEG 2000 decoders undo YBR_ICT / YBR_RCT).
_RGB_LIKE = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")
# Every value PS3.3 C.7.6.3.1.2 defines, retired ones included; anything else is a corrupt header.
_KNOWN_PHOTOMETRIC = _GREY + _RGB_LIKE + ("PALETTE COLOR", "YBR_PARTIAL_420", "YBR_PARTIAL_422", "HSV", "ARGB", "CMYK")
_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_REQUIRED_IMAGE_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "PhotometricInterpretation")
# Elements the Modality and VOI LUT functions read; copied into a per-frame view.
_LUT_KEYWORDS = (
    "PhotometricInterpretation",
    "SamplesPerPixel",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "RescaleSlope",
    "RescaleIntercept",
    "RescaleType",
    "ModalityLUTSequence",
    "VOILUTSequence",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
)
# Enhanced (multi-frame) objects keep rescale and window in functional groups.
_FUNCTIONAL_GROUP_SEQUENCES = ("PixelValueTransformationSequence", "FrameVOILUTSequence")

# What to install when pydicom has no decoder for a compressed transfer syntax.
_JPEG_LIBJPEG = "pylibjpeg and pylibjpeg-libjpeg (pip install pylibjpeg pylibjpeg-libjpeg)"
_JPEG_OPENJPEG = "pylibjpeg and pylibjpeg-openjpeg (pip install pylibjpeg pylibjpeg-openjpeg)"
_INSTALL_HINTS = {
    "1.2.840.10008.1.2.4.50": "Pillow (pip install pillow), or " + _JPEG_LIBJPEG,  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "Pillow (pip install pillow), or " + _JPEG_LIBJPEG,  # JPEG Extended
    "1.2.840.10008.1.2.4.57": _JPEG_LIBJPEG,  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": _JPEG_LIBJPEG,  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80": _JPEG_LIBJPEG + ", or pyjpegls (pip install pyjpegls)",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": _JPEG_LIBJPEG + ", or pyjpegls (pip install pyjpegls)",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90": _JPEG_OPENJPEG,  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": _JPEG_OPENJPEG,  # JPEG 2000
    "1.2.840.10008.1.2.4.201": _JPEG_OPENJPEG,  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202": _JPEG_OPENJPEG,  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203": _JPEG_OPENJPEG,  # HTJ2K
    "1.2.840.10008.1.2.5": "pylibjpeg and pylibjpeg-rle (pip install pylibjpeg pylibjpeg-rle)",  # RLE
}
_MAGIC_NUMBERS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (e.g. an .npz file)",
    b"\x93NUMPY": "a NumPy .npy file",
}


class DicomError(ValueError):
    """A DICOM file (or a non-DICOM file) that cannot be turned into an image.

    The message says which file, what is wrong with it in words a student can act on,
    and, where there is one, what to do: the package to install, the argument to pass.
    """


# --------------------------------------------------------------------------- reading


_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
PLAUSIBLE_VALUE = 1e7  # |window centre|, window width and |rescale intercept| beyond this are corrupt headers
PLAUSIBLE_SLOPE = 1e6


def _name(source) -> str:
    """A short name for messages: the file name, never a long absolute path."""
    filename = getattr(source, "filename", source)
    if isinstance(filename, (str, os.PathLike)) and str(filename):
        return repr(Path(filename).name)
    return "the dataset"


def _sniff(path: Path) -> str:
    """What a non-DICOM file looks like, from its first bytes ("" when unknown)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return ""
    if not head:
        return "an empty file"
    for magic, kind in _MAGIC_NUMBERS.items():
        if head.startswith(magic):
            return kind
    if all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head):
        return "a text file"
    return ""


def _load(source, stop_before_pixels: bool = False):
    """Read ``source`` (a path or a ``pydicom.Dataset``) into a Dataset, or raise ``DicomError``."""
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.errors import InvalidDicomError

    if isinstance(source, Dataset):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path (str or os.PathLike) or a pydicom Dataset, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    if not path.is_dir() and not path.is_file():  # a FIFO, a socket or a device would block or never end
        raise DicomError(f"{_name(path)} is not a regular file (a pipe, socket or device); copy the image to a file")
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        kind = _sniff(path)
        looks = f" It looks like {kind}." if kind else ""
        raise DicomError(
            f"{_name(path)} is not a DICOM file: a DICOM file starts with a 128-byte preamble and the "
            f"letters 'DICM', and this one does not.{looks} (A bare DICOM data set without that header "
            f"can still be read with pydicom.dcmread(path, force=True); pass the Dataset instead of the path.)"
        ) from None
    except (IsADirectoryError, PermissionError):
        raise
    except Exception as error:  # EOFError, struct.error, ... from a damaged header
        raise DicomError(
            f"{_name(path)} could not be read as DICOM: the file is truncated or corrupt "
            f"(pydicom said: {type(error).__name__}: {error})."
        ) from error


def _transfer_syntax(ds):
    file_meta = getattr(ds, "file_meta", None)
    return None if file_meta is None else file_meta.get("TransferSyntaxUID", None)


def _check_image(ds, name: str) -> None:
    """Raise ``DicomError`` unless ``ds`` holds pixel data that can be decoded here."""
    file_meta = getattr(ds, "file_meta", None)
    media_class = file_meta.get("MediaStorageSOPClassUID", None) if file_meta is not None else None
    if "DirectoryRecordSequence" in ds or str(media_class) == _DICOMDIR_CLASS:
        raise DicomError(
            f"{name} is a DICOMDIR: a directory that lists other DICOM files, with no image of its own. Read the "
            f"image files it names instead (pydicom.fileset.FileSet({name}) lists them)."
        )
    _n_frames(ds, name)
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        sop_class = ds.get("SOPClassUID", None)
        kind = getattr(sop_class, "name", None) or "DICOM object"
        if "Image" in kind or "Pixel" in kind or sop_class is None:
            raise DicomError(
                f"{name} has no pixel data: the file is probably truncated (it is a {kind} but ends before "
                f"its pixel data). Copy or download it again."
            )
        raise DicomError(f"{name} has no pixel data: it is a {kind}, a kind of DICOM object that carries no image.")
    missing = [keyword for keyword in _REQUIRED_IMAGE_KEYWORDS if keyword not in ds]
    if missing:
        raise DicomError(
            f"{name} has pixel data but lacks {', '.join(missing)}, which are needed to decode it: "
            f"the file is truncated or corrupt."
        )
    if _photometric(ds) not in _KNOWN_PHOTOMETRIC:
        raise DicomError(
            f"{name} has PhotometricInterpretation {_photometric(ds)!r}, which is not one DICOM defines for "
            f"grey-scale (MONOCHROME1, MONOCHROME2) or colour (RGB, YBR_*, PALETTE COLOR); the header is corrupt."
        )
    samples = ds.get("SamplesPerPixel", 1)
    wanted = 1 if _photometric(ds) in _GREY or _photometric(ds) == "PALETTE COLOR" else 3
    if samples != wanted:
        raise DicomError(
            f"{name} has PhotometricInterpretation {_photometric(ds)!r} but Samples per Pixel (0028,0002) {samples}; "
            f"{_photometric(ds)} has {wanted} sample(s) per pixel, so the header is inconsistent (a relabelled image?)."
        )
    tsyntax = _transfer_syntax(ds)
    if tsyntax is None:
        raise DicomError(
            f"{name} has no Transfer Syntax UID in its file meta information, so its pixel data cannot be decoded "
            f"(the file is truncated, or was read with force=True from a bare data set; set "
            f"ds.file_meta.TransferSyntaxUID to the right value, e.g. pydicom.uid.ImplicitVRLittleEndian)."
        )
    if tsyntax.is_compressed:
        _check_decoder(tsyntax, name)
    elif "PixelData" in ds:
        from pydicom.pixels.utils import get_expected_length

        expected, found = get_expected_length(ds, unit="bytes"), len(ds.PixelData)
        if found < expected:
            raise DicomError(
                f"{name} is truncated: its pixel data holds {found} bytes, but Rows × Columns × frames × "
                f"samples × bits allocated promise {expected} bytes."
            )
        if found > expected + (expected % 2):  # one padding byte makes an odd length even
            raise DicomError(
                f"{name}: its pixel data holds {found} bytes, more than the {expected} that Rows × Columns × "
                f"frames × samples × bits allocated describe; the header (e.g. Rows {ds.get('Rows')}, Columns "
                f"{ds.get('Columns')}) does not match the image, which would come out cut or garbled."
            )


def _decoder_available(tsyntax) -> bool:
    """Whether pydicom can decode ``tsyntax`` here (a hook the tests replace)."""
    from pydicom.pixels import get_decoder

    return get_decoder(tsyntax).is_available


def _check_decoder(tsyntax, name: str) -> None:
    try:
        available = _decoder_available(tsyntax)
    except NotImplementedError:
        raise DicomError(
            f"{name} is compressed with {tsyntax.name} ({tsyntax}), which pydicom cannot decode at all; "
            f"convert the file first (e.g. with dcmtk's dcmdjpeg or gdcmconv --raw)."
        ) from None
    if not available:
        hint = _INSTALL_HINTS.get(str(tsyntax))
        if hint is None:
            from pydicom.pixels import get_decoder

            hint = "; or ".join(get_decoder(tsyntax).missing_dependencies) or "a pydicom decoding plugin"
        raise DicomError(
            f"{name} is compressed with {tsyntax.name} ({tsyntax}) and no decoder for it is installed. "
            f"Install {hint}, then restart the kernel."
        )


def _n_frames(ds, name: str | None = None) -> int:
    value = ds.get("NumberOfFrames", 1)
    try:
        number = int(value if value not in (None, "") else 1)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1:
        raise DicomError(
            f"{name or _name(ds)}: Number of Frames (0028,0008) is {value!r}; it must be a whole number >= 1, so the "
            "header is corrupt."
        )
    return number


def _check_frame(ds, frame, name: str) -> int:
    n_frames = _n_frames(ds)
    check_int(frame, "frame")
    if not 0 <= frame < n_frames:
        valid = "0" if n_frames == 1 else f"0 to {n_frames - 1}"
        raise DicomError(f"frame {frame} is out of range: {name} has {n_frames} frame(s), so frame must be {valid}.")
    return int(frame)


def _decode(ds, name: str, index=None) -> np.ndarray:
    """pydicom's ``pixel_array`` for one frame (``index``) or all, with ``DicomError`` on failure."""
    from pydicom.pixels import pixel_array

    try:
        return pixel_array(ds, index=index)
    except Exception as error:
        raise DicomError(
            f"{name}: the pixel data could not be decoded; the file is truncated or corrupt "
            f"(pydicom said: {type(error).__name__}: {error})."
        ) from error


def _frame_view(ds, frame: int):
    """A small Dataset with the LUT elements that apply to ``frame``.

    Classic files keep Rescale Slope / Intercept and the window at the top level. Enhanced
    multi-frame files (e.g. Enhanced CT) keep them in the Shared and Per-Frame Functional
    Groups; pydicom's LUT functions read only the top level, so they are copied up here.
    Without this step an Enhanced CT would silently come out in stored values, not HU.
    """
    from pydicom.dataset import Dataset

    view = Dataset()
    if getattr(ds, "file_meta", None) is not None:
        view.file_meta = ds.file_meta
    for keyword in _LUT_KEYWORDS:
        if keyword in ds:
            view[keyword] = ds[keyword]
    groups = []
    if ds.get("SharedFunctionalGroupsSequence"):
        groups.append(ds.SharedFunctionalGroupsSequence[0])
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        groups.append(per_frame[frame])  # per-frame values override shared ones
    for group in groups:
        for sequence in _FUNCTIONAL_GROUP_SEQUENCES:
            if group.get(sequence):
                for element in group[sequence][0]:
                    view[element.tag] = element
    return view


def _photometric(ds) -> str:
    return str(ds.get("PhotometricInterpretation", "")).strip().upper()


def _colour_refusal(ds, name: str, action: str) -> DicomError:
    photometric = _photometric(ds)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    return DicomError(
        f"{name} is a colour image (PhotometricInterpretation {photometric}, {samples} sample(s) per pixel), "
        f"and {action}. Pass color='luminance' to read_image to convert it to grey-scale, or use a "
        f"grey-scale (MONOCHROME1/MONOCHROME2) image."
    )


def _modality_frame(ds, raw: np.ndarray, frame: int) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut

    view = _frame_view(ds, frame)
    slope = view.get("RescaleSlope", None)
    if slope is not None and "ModalityLUTSequence" not in view:
        try:
            slope = float(slope)
        except (TypeError, ValueError):
            raise DicomError(f"{_name(ds)}: Rescale Slope (0028,1053) is {slope!r}, not a number.") from None
        if slope == 0 or not np.isfinite(slope):
            raise DicomError(
                f"{_name(ds)}: Rescale Slope (0028,1053) is {slope:g} in frame {frame}, which would map every pixel "
                f"to the same value; the header is corrupt."
            )
    for keyword, tag, limit in (("RescaleSlope", "(0028,1053)", PLAUSIBLE_SLOPE),
                                ("RescaleIntercept", "(0028,1052)", PLAUSIBLE_VALUE)):
        value = view.get(keyword, None)
        if value is not None and "ModalityLUTSequence" not in view:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise DicomError(f"{_name(ds)}: {keyword} {tag} is {value!r}, not a number.") from None
            if not (np.isfinite(number) and abs(number) <= limit):
                raise DicomError(
                    f"{_name(ds)}: {keyword} {tag} is {number:g} in frame {frame}, outside the plausible range "
                    f"±{limit:g}; the header is corrupt."
                )
    with np.errstate(over="ignore", invalid="ignore"):
        values = np.asarray(apply_modality_lut(raw, view), dtype=np.float64)
        finite = np.isfinite(values.astype(np.float32)).all()
    if not finite:
        raise DicomError(
            f"{_name(ds)}: Rescale Slope (0028,1053) and Rescale Intercept (0028,1052) give values beyond float32 "
            f"in frame {frame}; the header is corrupt."
        )
    return values


def read_modality(source, frame: int | None = None) -> np.ndarray:
    """Pixel values in the modality's own units: the stored values after the Modality LUT.

    For CT these are Hounsfield units (air −1000, water 0, dense bone above +1000): the
    stored value times Rescale Slope (0028,1053) plus Rescale Intercept (0028,1052), or
    the Modality LUT Sequence (0028,3000) when the file has one. Files without either
    come back unchanged, as float. Enhanced multi-frame files are read from their
    functional groups, frame by frame.

    Parameters
    ----------
    source : str, os.PathLike or pydicom.Dataset
    frame : int, optional
        Only this frame (0-based). ``None`` (default) reads every frame.

    Returns
    -------
    float32 array of shape (H, W) for a single-frame file or a chosen ``frame``,
    (frames, H, W) for a multi-frame file.

    Raises
    ------
    DicomError
        Not DICOM, truncated, no pixel data, compressed with no decoder installed, a
        colour or palette image (modality values are defined for grey-scale only), or a
        frame out of range.
    """
    ds = _load(source)
    name = _name(source)
    _check_image(ds, name)
    if _photometric(ds) not in _GREY:
        raise _colour_refusal(ds, name, "modality values (such as Hounsfield units) exist only for grey-scale images")
    if frame is not None:
        frame = _check_frame(ds, frame, name)
        raw = _decode(ds, name, index=frame)
        return _modality_frame(ds, raw, frame).astype(np.float32)
    raw = _decode(ds, name)
    if _n_frames(ds) == 1:
        return _modality_frame(ds, raw, 0).astype(np.float32)
    frames = [_modality_frame(ds, raw[i], i) for i in range(raw.shape[0])]
    return np.stack(frames).astype(np.float32)


# --------------------------------------------------------------------------- windowing


def _window_number(value, name: str) -> float:
    """``value`` as a finite float, or a ``ValueError`` that names the argument."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {type(value).__name__} {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    return number


def apply_window(values, center: float, width: float) -> np.ndarray:
    """DICOM's LINEAR window (PS3.3 C.11.2.1.2.1), scaled to [0, 1].

    With c = ``center`` and w = ``width``, a value x becomes

        0                                  if x <= c − 0.5 − (w − 1) / 2
        1                                  if x >  c − 0.5 + (w − 1) / 2
        (x − (c − 0.5)) / (w − 1) + 0.5    otherwise

    so the window's w values span black to white and everything outside is clipped.
    (The −0.5 and −1 place the integer values of the window exactly on the grey levels.)

    Parameters
    ----------
    values : array_like, any shape (e.g. HU of shape (H, W))
    center, width : float
        Window centre ("level") and width, in the units of ``values``; ``width >= 1``.

    Returns
    -------
    float32 array of the same shape, in [0, 1].
    """
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"values must be a numeric array, got {type(values).__name__} of dtype {values.dtype}")
    center, width = _window_number(center, "center"), _window_number(width, "width")
    if width < 1:
        raise ValueError(f"width must be a finite number >= 1 (DICOM's LINEAR window), got {width}")
    x = values.astype(np.float64)
    if np.isnan(x).any():
        raise ValueError("values contain NaN")
    y = (x - (center - 0.5)) / (width - 1) + 0.5 if width > 1 else np.where(x > center - 0.5, 1.0, 0.0)
    return np.clip(y, 0.0, 1.0).astype(np.float32)


def _percentile_window(values: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Map the ``PERCENTILES`` range of ``values`` linearly to [0, 1], clipping outside it.

    ``valid`` (bool, same shape) excludes pixels from the percentiles, e.g. the padding
    outside a CT's circular field of view.
    """
    sample = values if valid is None or not valid.any() else values[valid]
    low, high = np.percentile(sample, PERCENTILES)
    if high <= low:  # a constant image: no contrast to show
        return np.zeros(values.shape, dtype=np.float64)
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _has_voi(view) -> bool:
    return bool(view.get("VOILUTSequence")) or ("WindowCenter" in view and "WindowWidth" in view)


def _file_voi(values: np.ndarray, view) -> np.ndarray:
    """The file's own VOI LUT or window through pydicom's ``apply_voi_lut``, scaled to [0, 1].

    pydicom returns a window's output in the stored range of the data (e.g. 0..32767 for
    15-bit unsigned pixels) and a VOI LUT's output in the LUT's entries; the same function
    applied to the extremes of its domain gives that range, which is mapped to [0, 1].
    """
    from pydicom.pixels import apply_voi_lut

    if not view.get("VOILUTSequence"):
        for keyword, tag in (("WindowCenter", "(0028,1050)"), ("WindowWidth", "(0028,1051)")):
            raw = view.get(keyword)
            items = list(raw) if hasattr(raw, "__iter__") and not isinstance(raw, str) else [raw]
            for item in items:
                try:
                    number = float(item)
                except (TypeError, ValueError):
                    raise DicomError(f"{keyword} {tag} is {item!r}, not a number; the header is corrupt.") from None
                low = 1.0 if keyword == "WindowWidth" else -PLAUSIBLE_VALUE
                if not (np.isfinite(number) and low <= number <= PLAUSIBLE_VALUE):
                    raise DicomError(
                        f"{keyword} {tag} is {number:g}, outside the plausible range [{low:g}, {PLAUSIBLE_VALUE:g}]; "
                        "the header is corrupt (pass window=(center, width) to choose one)."
                    )
    if view.get("VOILUTSequence"):
        descriptor = view.VOILUTSequence[0].LUTDescriptor
        n_entries, first = int(descriptor[0]) or 2**16, int(descriptor[1])
        domain = np.arange(first, first + n_entries, dtype=np.int64)
        integral = np.array_equal(values, np.round(values))
        values = values.astype(np.int64) if integral else values  # a LUT is indexed by integers
    else:
        domain = np.array([-np.inf, np.inf])
    with np.errstate(over="ignore"):  # the SIGMOID function at ±inf
        out = np.asarray(apply_voi_lut(values, view), dtype=np.float64)
        ends = np.asarray(apply_voi_lut(domain, view), dtype=np.float64)
    low, high = float(ends.min()), float(ends.max())
    if not (np.isfinite(low) and np.isfinite(high) and high > low):
        raise ValueError("the VOI LUT or window maps every value to one grey level")
    return np.clip((out - low) / (high - low), 0.0, 1.0)


def _check_window(window):
    if window is not None:
        if isinstance(window, (str, bytes)) or not hasattr(window, "__len__") or len(window) != 2:
            raise ValueError(f"window must be a (center, width) pair, got {window!r}")
        _window_number(window[0], "window center"), _window_number(window[1], "window width")


def grey_image(source, window=None, frame: int = 0) -> np.ndarray:
    """The grey-scale pipeline of ``read_image`` for a MONOCHROME1 / MONOCHROME2 image.

    Modality LUT (stored values to physical values), then a window (the one given, else
    the file's own VOI LUT or window, else the ``PERCENTILES`` range without the Pixel
    Padding Value), then MONOCHROME1 inverted so that brighter means denser.

    Parameters
    ----------
    source : str, os.PathLike or pydicom.Dataset
    window : (center, width), optional, in modality units (HU for CT)
    frame : int, the frame of a multi-frame file (0-based)

    Returns
    -------
    float32 array ``(H, W)`` with values in [0, 1].

    Raises
    ------
    DicomError
        For every file that cannot be used (see ``read_modality``), and for colour images
        (``read_image(..., color="luminance")`` converts those).
    """
    _check_window(window)
    ds = _load(source)
    name = _name(source)
    _check_image(ds, name)
    frame = _check_frame(ds, frame, name)
    if _photometric(ds) not in _GREY:
        raise _colour_refusal(ds, name, "this grey-scale pipeline needs one value per pixel")
    raw = _decode(ds, name, index=frame)
    values = _modality_frame(ds, raw, frame)
    if not np.isfinite(values).all():
        raise DicomError(f"{name} has NaN or infinite pixel values in frame {frame}.")
    # Pixel Padding Value (0028,0120) marks pixels outside the scanned field, e.g. −2000 stored.
    padding = ds.get("PixelPaddingValue", None)
    valid = None if not isinstance(padding, (int, np.integer)) else raw != padding
    view = _frame_view(ds, frame)
    if window is not None:
        center, width = window
        image = apply_window(values, center, width).astype(np.float64)
    elif _has_voi(view):
        try:
            image = _file_voi(values, view)
        except DicomError:
            raise
        except (ValueError, TypeError, IndexError, KeyError) as error:
            warnings.warn(
                f"{name}: its own window / VOI LUT cannot be used ({error}); showing the "
                f"{PERCENTILES[0]}–{PERCENTILES[1]} percentile range instead. Pass window=(center, width) to choose.",
                stacklevel=2,
            )
            image = _percentile_window(values, valid)
    else:
        image = _percentile_window(values, valid)
    if _photometric(ds) == "MONOCHROME1":  # MONOCHROME1: the minimum value is white
        image = 1.0 - image
    return image.astype(np.float32)


def _colour_to_grey(ds, name: str, frame: int) -> np.ndarray:
    from pydicom.pixels import apply_color_lut

    photometric = _photometric(ds)
    raw = _decode(ds, name, index=frame)
    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(raw, ds)
        except Exception as error:
            raise DicomError(f"{name}: its palette could not be applied (pydicom said: {error}).") from error
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    elif photometric in _RGB_LIKE and raw.ndim == 3 and raw.shape[-1] == 3:
        rgb, bits = raw, int(ds.get("BitsStored", ds.BitsAllocated))
    else:
        raise DicomError(
            f"{name} has PhotometricInterpretation {photometric}, which this course cannot convert to grey-scale."
        )
    rgb = rgb.astype(np.float64) / (2**bits - 1)
    # ITU-R BT.601 luma, the weights Pillow's convert("L") uses.
    grey = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return np.clip(grey, 0.0, 1.0)


def read_image(source, window=None, frame: int = 0, *, color: str = "refuse") -> np.ndarray:
    """A display-ready grey-scale image in [0, 1], in which brighter always means denser.

    The DICOM grey-scale pipeline, with pydicom's functions:

    1. the Modality LUT or Rescale Slope / Intercept (``read_modality``);
    2. a window: ``window=(center, width)`` when given (``apply_window``); otherwise the
       file's own VOI LUT Sequence or first Window Center / Width (``apply_voi_lut``);
       otherwise the ``PERCENTILES`` range of the values (Pixel Padding Value excluded),
       mapped linearly to [0, 1];
    3. MONOCHROME1 (where the smallest value is displayed white) is inverted, so the
       result always reads like MONOCHROME2: bone and soft tissue bright, air dark.

    Parameters
    ----------
    source : str, os.PathLike or pydicom.Dataset
    window : (center, width), optional
        In modality units (HU for CT), e.g. ``(-600, 1500)`` for lungs.
    frame : int
        The frame of a multi-frame file (0-based).
    color : "refuse" or "luminance"
        What to do with a colour (RGB, YBR) or palette-colour image: refuse it with a
        ``DicomError`` (default), or convert it to grey-scale luma (ITU-R BT.601). No
        window is applied to colour images.

    Returns
    -------
    float32 array of shape (H, W), values in [0, 1].

    Raises
    ------
    DicomError
        For every file that cannot be used (see ``read_modality``), and for colour images
        unless ``color="luminance"``.
    """
    if color not in ("refuse", "luminance"):
        raise ValueError(f"color must be 'refuse' or 'luminance', got {color!r}")
    _check_window(window)
    ds = _load(source)
    if _photometric(ds) in _GREY or color == "refuse":  # grey_image refuses colour images
        return grey_image(ds, window, frame)
    name = _name(source)
    _check_image(ds, name)
    frame = _check_frame(ds, frame, name)
    image = _colour_to_grey(ds, name, frame)
    return image.astype(np.float32)


# --------------------------------------------------------------------------- model input


def center_square_crop(image) -> np.ndarray:
    """The largest centred square of a 2-D image, as MedMNIST cropped its sources.

    An (H, W) image gives (s, s) with s = min(H, W), starting at row (H − s) // 2 and
    column (W − s) // 2 (when the difference is odd, the extra row or column is dropped
    at the bottom or right).
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}")
    height, width = image.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return image[top : top + side, left : left + side]


def to_model_input(image, size: int = 28) -> np.ndarray:
    """Centre square crop, then an anti-aliased resize to ``size × size``, as uint8.

    This follows the MedMNIST recipe ("center-crop the images and resize them into
    1×28×28"): a float image in [0, 1] (from ``read_image``) or a uint8 image is cropped
    to its centred square (``center_square_crop``) and resized with Pillow's bicubic
    filter, which widens its kernel by the reduction factor and so averages every
    source pixel (anti-aliasing) rather than sampling one in ~70.

    Parameters
    ----------
    image : array (H, W), float in [0, 1] or uint8
    size : int
        Output side, 28 for the seed's ``input_shape=(28, 28, 1)``.

    Returns
    -------
    uint8 array of shape (size, size); add the batch and channel axes and divide by
    255 for the model: ``x = to_model_input(img)[None, :, :, None] / 255.0``.
    """
    from PIL import Image

    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be 2-D (H, W), got shape {image.shape}; pick one frame or channel first")
    if 0 in image.shape:
        raise ValueError(f"image must have at least one row and one column, got shape {image.shape}")
    if image.dtype == np.uint8:
        scaled = image.astype(np.float32)
    elif image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise ValueError("image contains NaN or infinite values")
        if image.min() < -1e-6 or image.max() > 1 + 1e-6:
            raise ValueError(
                f"a float image must be in [0, 1] (use read_image first), got values from {image.min():.4g} "
                f"to {image.max():.4g}"
            )
        scaled = np.clip(image, 0.0, 1.0).astype(np.float32) * 255.0
    else:
        raise ValueError(f"image must be float in [0, 1] or uint8, got dtype {image.dtype}")
    square = np.ascontiguousarray(center_square_crop(scaled), dtype=np.float32)
    resized = Image.fromarray(square).resize((int(size), int(size)), Image.Resampling.BICUBIC)
    return np.clip(np.rint(np.asarray(resized)), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- header


def header_summary(source) -> dict:
    """The header tags that matter for preprocessing (``PREPROCESSING_TAGS``), as Python values.

    Absent tags map to ``None``; multi-valued ones to lists; the Transfer Syntax UID to
    its name. No patient tags are included. Reading stops before the pixel data.
    """
    ds = _load(source, stop_before_pixels=True)
    summary = {}
    for keyword in PREPROCESSING_TAGS:
        if keyword == "TransferSyntaxUID":
            tsyntax = _transfer_syntax(ds)
            summary[keyword] = None if tsyntax is None else tsyntax.name
            continue
        value = ds.get(keyword, None)
        if value is None:
            summary[keyword] = None
        elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            summary[keyword] = [_plain(v) for v in value]
        else:
            summary[keyword] = _plain(value)
    return summary


def _plain(value):
    """DS / IS / str values as float, int or str."""
    if isinstance(value, (int, float)):
        number = float(value)
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    return str(value)
