"""Input checks shared by the whole package: one vocabulary of argument checks.

Every public entry point (the NumPy engine, the data loaders, the metrics, the model
builders, the experiments and the command lines) checks its arguments with these, so that a
mistake fails early with a message that names the argument and says what was
expected and what was received, instead of a cryptic broadcasting error deep inside
NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np

PADDINGS = ("valid", "same")
SEED_LIMIT = 2**32  # NumPy's legacy generator (and so set_seed) takes seeds in [0, 2**32)


def _is_int(value) -> bool:
    """True for a Python or NumPy integer; a bool is not one here."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


_SPATIAL_AXES = {2: ("pair", "height, width"), 3: ("triple", "depth, height, width")}


def as_spatial(value, name: str, count: int) -> tuple[int, ...]:
    """An int or ``count`` ints as a tuple of ``count`` positive ints: ``3 -> (3, 3)`` for ``count=2``.

    Used for ``kernel_size``, ``strides`` and ``pool_size``, which Keras accepts as an int or as
    one int per spatial axis (``count`` 2: height, width; 3: depth, height, width).
    """
    word, axes = _SPATIAL_AXES[count]
    if _is_int(value):
        spatial = (int(value),) * count
    elif isinstance(value, (tuple, list, np.ndarray)) and len(value) == count:
        if not all(_is_int(v) for v in value):
            raise TypeError(f"{name} must be an int or a {word} of ints, got {value!r}")
        spatial = tuple(int(v) for v in value)
    elif isinstance(value, (tuple, list, np.ndarray)):
        raise ValueError(f"{name} must be an int or a {word} ({axes}), got {len(value)} values: {value!r}")
    else:
        raise TypeError(f"{name} must be an int or a {word} of ints, got {type(value).__name__} {value!r}")
    if min(spatial) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return spatial


def as_pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``: a positive (height, width) pair (see ``as_spatial``)."""
    return as_spatial(value, name, 2)


def check_padding(padding) -> str:
    """Return ``"valid"`` or ``"same"`` (case-insensitive, as in Keras)."""
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    return padding.lower()


def as_float_array(x, name: str, dtype=None) -> np.ndarray:
    """``x`` as a floating-point array; integers and booleans become ``dtype`` or float64."""
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from error
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must be real, got dtype {array.dtype}")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def check_rank(array: np.ndarray, name: str, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``array.ndim == ndim``; ``layout`` reads e.g. "(N, H, W, C)"."""
    if array.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim} {layout}, got rank {array.ndim} with shape {array.shape}")


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or infinity."""
    if array.dtype.kind == "f":
        # One sum reads the array once without a boolean temporary; it is finite whenever every
        # value is, unless it overflows, and only then (or for a real NaN) do we look closer.
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(array, axis=None)):
                return
    if not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); check the data and the learning rate")


def check_images(x, name: str = "x", dtype=None, spatial: int = 2) -> np.ndarray:
    """A finite float batch of images ``(N, H, W, C)`` (``spatial=3``: of volumes ``(N, D, H, W, C)``)."""
    axes = _SPATIAL_AXES[spatial][1]
    array = as_float_array(x, name, dtype)
    check_rank(array, name, spatial + 2, f"(batch, {axes}, channels)")
    if 0 in array.shape[1:]:
        raise ValueError(f"{name} must have a positive {axes.replace(', width', ', width and')} channel count, "
                         f"got shape {array.shape}")
    check_finite(array, name)
    return array


def channel_mismatch(kernel_shape, expected: int, channels: int, name: str = "kernel", layout: str = "") -> str:
    """The one message for a kernel that expects ``expected`` input channels where x has ``channels``.

    Every entry point (the taught functions and the layers, which prefix their name) says it so:
    ``channel mismatch: the kernel (3, 3, 2, 4) expects 2 input channels, but x has 3 channels``.
    """
    layout = f" {layout}" if layout else ""
    return (f"channel mismatch: the {name} {tuple(kernel_shape)}{layout} expects {expected} input channels, "
            f"but x has {channels} channels")


def check_kernel(kernel, channels: int, name: str = "kernel", spatial: int = 2) -> np.ndarray:
    """A finite float kernel ``(kh, kw, c_in, c_out)`` (``spatial=3``: ``(kd, kh, kw, c_in, c_out)``) whose
    ``c_in`` equals ``channels``."""
    axes = ", ".join(f"kernel_{axis}" for axis in _SPATIAL_AXES[spatial][1].split(", "))
    array = as_float_array(kernel, name)
    check_rank(array, name, spatial + 2, f"({axes}, in_channels, out_channels)")
    check_finite(array, name)
    if array.shape[-2] != channels:
        raise ValueError(channel_mismatch(array.shape, array.shape[-2], channels, name))
    return array


def check_bias(bias, filters: int, name: str = "bias") -> np.ndarray:
    """A finite float bias of shape ``(filters,)``."""
    array = as_float_array(bias, name)
    if array.shape != (filters,):
        raise ValueError(f"{name} must have shape ({filters},), one value per filter, got shape {array.shape}")
    check_finite(array, name)
    return array


def check_rate(rate, name: str = "rate") -> float:
    """A dropout rate in [0, 1)."""
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(rate).__name__} {rate!r}")
    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {rate!r}")
    return float(rate)


def check_float(value, name: str, low: float | None = 0.0, high: float | None = None,
                low_inclusive: bool = True, high_inclusive: bool = False) -> float:
    """A finite real number in ``[low, high)``, e.g. a learning rate; ``low_inclusive`` and ``high_inclusive``
    choose ``(low`` and ``high]``.

    ``low=None`` (and ``high=None``) leaves that side open: any finite number, e.g. a threshold on scores.
    """
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a float, got {type(value).__name__} {value!r}")
    value = float(value)
    bad_low = low is not None and (value < low if low_inclusive else value <= low)
    bad_high = high is not None and (value > high if high_inclusive else value >= high)
    if bad_low or bad_high or not np.isfinite(value):
        if low is None and high is None:
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        left = f"{'[' if low_inclusive else '('}{low}" if low is not None else "(-inf"
        right = f"{high}{']' if high_inclusive else ')'}" if high is not None else "inf)"
        raise ValueError(f"{name} must be in {left}, {right}, got {value!r}")
    return value


def _int_at_least(value, name: str, low: int, expected: str) -> int:
    if not _is_int(value):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_positive_int(value, name: str) -> int:
    """A positive int such as ``filters`` or ``units``."""
    return _int_at_least(value, name, 1, "a positive int")


def check_shape(shape, name: str = "input_shape") -> tuple[int, ...]:
    """A per-sample shape: a tuple of positive ints (``(4.7, 4, 1)`` is refused, not truncated)."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{name} must be a tuple of positive ints, got {type(shape).__name__} {shape!r}")
    shape = tuple(shape)
    if not shape or any(not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 1 for d in shape):
        raise ValueError(f"{name} must be a tuple of positive ints, got {shape!r}")
    return tuple(int(d) for d in shape)


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """A floating-point NumPy dtype (weights and activations of the engine are floats)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy float dtype such as 'float32', got {dtype!r}") from None
    if not np.issubdtype(resolved, np.floating):
        raise TypeError(f"{name} must be a float dtype such as 'float32' or 'float64', got {resolved}")
    return resolved



def check_int(value, name: str, low: int | None = None, high: int | None = None) -> int:
    """An int (a Python or NumPy integer, not a bool) in ``[low, high]``; either bound may be None.

    A non-integer raises ``TypeError`` (``"n must be an int, got float 2.5"``), an integer out of
    range ``ValueError`` (``"n must be an int in [2, 9], got 12"``).
    """
    if low is not None and high is not None:
        expected = f"an int in [{low}, {high}]"
    elif low is not None:
        expected = f"an int >= {low}"
    elif high is not None:
        expected = f"an int <= {high}"
    else:
        expected = "an int"
    if not _is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def check_non_negative_int(value, name: str) -> int:
    """An int >= 0 such as a count of extra slices or a number of digits."""
    return _int_at_least(value, name, 0, "a non-negative int")


def check_seed(value, name: str = "seed") -> int:
    """A seed: an int (not a bool) in ``[0, 2**32)``, the range NumPy and ``set_seed`` accept.

    The one rule and the one pair of exception types for every seed in the package: a
    non-integer raises ``TypeError``, an integer out of range ``ValueError``.
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an int in [0, 2**32), got {type(value).__name__} {value!r}")
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"{name} must be an int in [0, 2**32), got {value!r}")
    return int(value)


def check_probability(value, name: str) -> float:
    """A real number in [0, 1] such as a decision threshold or a probability."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(value).__name__} {value!r}")
    if not 0.0 <= float(value) <= 1.0:  # also refuses NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)


def check_existing_file(path, name: str = "path", error: type[Exception] = FileNotFoundError):
    """``path`` as a ``pathlib.Path`` to an existing regular file; otherwise ``error`` naming it.

    ``error`` lets a module raise its own error class (a ``DataError``, say) with the same words.
    """
    path = _as_path(path, name)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise error(f"{name} {str(path)!r} {what}")
    return path


def check_existing_folder(path, name: str = "folder", error: type[Exception] = FileNotFoundError):
    """``path`` as a ``pathlib.Path`` to an existing folder; otherwise ``error`` naming it."""
    path = _as_path(path, name)
    if not path.is_dir():
        what = "is a file, not a folder" if path.exists() else "does not exist"
        raise error(f"{name} {str(path)!r} {what}")
    return path


def _as_path(path, name: str):
    import os
    from pathlib import Path

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__} {path!r}")
    return Path(path).expanduser()
