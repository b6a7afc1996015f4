"""Data for the course: PneumoniaMNIST and synthetic lesion phantoms.

``load_pneumoniamnist`` finds ``pneumoniamnist.npz`` in ``data_dir``, then in
``$CNNCOURSE_DATA``, then in ``~/.cache/cnncourse``. Only when it is in none of them
does it download the official file, with a timeout, a progress bar and an MD5 check,
into a temporary file that is renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

FILENAME = "pneumoniamnist.npz"
URL = "https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1"
MD5 = "28209eda62fecd6e6a2d98b1501bb15f"
CACHE_DIR = Path("~/.cache/cnncourse")
SPLITS = ("train", "val", "test")
CLASS_NAMES = ("normal", "pneumonia")
IMAGE_SHAPE = (28, 28)
# MedMNIST+ (Zenodo record 10519652, as the medmnist package's info.py lists them): size -> MD5.
SIZES = (28, 64, 128, 224)
SIZE_MD5 = {
    64: "8f4eceb4ccffa70c672198ea285246c6",
    128: "05b46931834c231683c68f40c47b2971",
    224: "d6a3c71de1b945ea11211b03746c1fe1",
}


def _check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or int(size) not in SIZES:
        raise ValueError(f"size must be one of {SIZES} (the MedMNIST+ image sizes), got {size!r}")
    return int(size)


def official_file(size: int = 28) -> tuple[str, str, str]:
    """``(file name, URL, MD5)`` of the official PneumoniaMNIST file with ``size × size`` images."""
    size = _check_size(size)
    if size == 28:
        return FILENAME, URL, MD5
    name = f"pneumoniamnist_{size}.npz"
    return name, URL.replace(FILENAME, name), SIZE_MD5[size]


class DataError(ValueError):
    """A data file is missing, corrupt or has the wrong structure."""


def _manual_instructions(target: Path) -> str:
    size = next((candidate for candidate in SIZES if official_file(candidate)[0] == Path(target).name), 28)
    filename, url, md5 = official_file(size)
    return (
        f"Download {url} by hand (MD5 {md5}) and save it as {target}, "
        f"or put {filename} in a folder and set CNNCOURSE_DATA=<that folder>, "
        f"or pass data_dir=<that folder>."
    )


def _candidate_dirs(data_dir) -> list[Path]:
    """The folders searched, in order: ``data_dir``, ``$CNNCOURSE_DATA``, the cache."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get("CNNCOURSE_DATA"):
        dirs.append(Path(os.environ["CNNCOURSE_DATA"]).expanduser())
    dirs.append(CACHE_DIR.expanduser())
    return dirs


def md5sum(path, chunk_size: int = 1 << 20) -> str:
    """Hex MD5 digest of the file at ``path``."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, target, md5: str | None = None, timeout: float = 30.0, deadline: float | None = None) -> Path:
    """Download ``url`` to ``target`` atomically, showing a tqdm progress bar.

    The bytes go to a temporary file in the target's folder; the body must be as long as
    the server's ``Content-Length`` says, is checked against ``md5`` (when given) and is
    renamed to ``target`` only when complete. ``timeout`` bounds each wait for the server;
    ``deadline`` (default ``20 * timeout``) bounds the whole download. On any failure the
    temporary file is removed and a ``DataError`` explains what to do by hand.
    """
    import time

    from tqdm.auto import tqdm

    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    deadline = 20.0 * timeout if deadline is None else deadline
    if not (isinstance(deadline, (int, float)) and deadline > 0):
        raise ValueError(f"deadline must be a positive number of seconds, got {deadline!r}")
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataError(f"cannot save {target.name} in {str(target.parent)!r}: a file of that name is in the way, "
                        f"not a folder. {_manual_instructions(target)}") from None
    handle, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    tmp_path = Path(tmp_name)
    try:
        start = time.monotonic()
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() - start > deadline:
                        raise DataError(f"the download took longer than {deadline:g} s in all "
                                        f"({received:,} bytes received); the server is too slow")
        if total is not None and received != total:
            raise DataError(f"the server sent {received:,} bytes but promised {total:,}: the download is incomplete")
        if md5 is not None:
            actual = md5sum(tmp_path)
            if actual != md5:
                raise DataError(f"downloaded file has MD5 {actual}, expected {md5}")
        os.replace(tmp_path, target)
    except BaseException as error:
        tmp_path.unlink(missing_ok=True)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise DataError(f"Could not download {url}: {error}. {_manual_instructions(target)}") from error
    return target


def _validate(arrays, path, size: int = 28) -> None:
    """Check keys, shapes, dtypes and label values of a PneumoniaMNIST archive of ``size``-pixel images."""
    for split in SPLITS:
        for kind in ("images", "labels"):
            key = f"{split}_{kind}"
            if key not in arrays:
                raise DataError(f"{path}: missing key {key!r}; found {sorted(arrays)}")
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != (size, size):
            raise DataError(f"{path}: {split}_images should have shape (N, {size}, {size}), got {images.shape}")
        if images.dtype != np.uint8:
            raise DataError(f"{path}: {split}_images should have dtype uint8, got {images.dtype}")
        if images.shape[0] == 0:
            raise DataError(f"{path}: the {split} split is empty ({split}_images has shape {images.shape})")
        if labels.shape not in ((images.shape[0],), (images.shape[0], 1)):
            raise DataError(
                f"{path}: {split}_labels should hold one label per image ({images.shape[0]}), got shape {labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(f"{path}: {split}_labels should be integers, got dtype {labels.dtype}")
        bad = np.setdiff1d(np.unique(labels), [0, 1])
        if bad.size:
            raise DataError(f"{path}: {split}_labels should be 0 or 1, found {bad.tolist()}")


MAX_IMAGES = 1_000_000  # far above any MedMNIST split; a header claiming more is corrupt


def _peek(path: Path) -> None:
    """Check the archive's members from their .npy headers, before any big array is loaded."""
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a readable .npz file: it is not a zip archive (a .npy file or another "
                        "format saved under that name?). "
                        "Delete it and try again.")
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(handle)
                if dtype.hasobject:
                    raise DataError(f"{path}: {member[:-4]} holds Python objects (pickled data), which are never loaded")
                if shape and shape[0] > MAX_IMAGES:
                    raise DataError(f"{path}: {member[:-4]} claims shape {shape}, more than {MAX_IMAGES:,} samples; "
                                    "the file is corrupt. Delete it and try again.")
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error}). Delete it and try again.") from error


def _read(path: Path, size: int = 28):
    _peek(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path} is not a readable .npz file ({error}). Delete it and try again.") from error
    _validate(arrays, path, size)
    return tuple(
        (arrays[f"{split}_images"], arrays[f"{split}_labels"].reshape(-1).astype(np.int64)) for split in SPLITS
    )


def find_pneumoniamnist(data_dir=None, download_missing: bool = True, timeout: float = 30.0, size: int = 28) -> Path:
    """Path to the PneumoniaMNIST file of ``size``: the first folder that has it, else a fresh download.

    The file is ``pneumoniamnist.npz`` for 28 px and ``pneumoniamnist_{size}.npz`` for the
    MedMNIST+ sizes 64, 128 and 224, as published. An explicit ``data_dir`` is
    authoritative: it must be an existing folder, and only it is used (a missing file is
    downloaded into it, never looked for elsewhere). Without it, ``$CNNCOURSE_DATA`` and
    then ``~/.cache/cnncourse`` are searched, and a download goes to the cache.
    """
    filename, url, md5 = official_file(size)
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise DataError(f"data_dir {str(folder)!r} {what}; pass the folder that holds {filename}, "
                            f"or leave data_dir out to use $CNNCOURSE_DATA or the cache")
        if (folder / filename).is_file():
            return folder / filename
        if not download_missing:
            raise DataError(f"{filename} not found in data_dir {str(folder)!r}. {_manual_instructions(folder / filename)}")
        return download(url, folder / filename, md5=md5, timeout=timeout)
    dirs = _candidate_dirs(data_dir)
    for folder in dirs:
        if (folder / filename).is_file():
            return folder / filename
    target = CACHE_DIR.expanduser() / filename
    if not download_missing:
        searched = ", ".join(str(d) for d in dirs)
        raise DataError(f"{filename} not found in {searched}. {_manual_instructions(target)}")
    return download(url, target, md5=md5, timeout=timeout)


def load_pneumoniamnist(data_dir=None, download_missing: bool = True, timeout: float = 30.0, size: int = 28):
    """Load PneumoniaMNIST (MedMNIST v2, or MedMNIST+ at larger sizes) with its official splits.

    Parameters
    ----------
    data_dir : str or Path, optional
        A folder holding ``pneumoniamnist.npz``. When given, only this folder is used
        (a DataError names it if it does not exist); without it ``$CNNCOURSE_DATA``,
        then ``~/.cache/cnncourse``, are searched.
    download_missing : bool
        Download the official file when it is found nowhere.
    timeout : float
        Seconds the download may wait for the server.
    size : 28, 64, 128 or 224
        Image side. 28 is the course's default (``pneumoniamnist.npz``, 4 MB); the
        MedMNIST+ files ``pneumoniamnist_{64,128,224}.npz`` hold the same images and
        splits at higher resolution (the 224 px file is about 290 MB in memory).

    Returns
    -------
    ((x_train, y_train), (x_val, y_val), (x_test, y_test))
        Images are uint8 arrays of shape ``(N, size, size)``; labels are int64 arrays of
        shape ``(N,)`` with 0 = normal and 1 = pneumonia.

    Raises
    ------
    DataError (a ``ValueError``)
        When the file cannot be found, downloaded or read, or has the wrong structure.
    """
    size = _check_size(size)
    return _read(find_pneumoniamnist(data_dir, download_missing=download_missing, timeout=timeout, size=size), size)


def synthetic_lesions(n: int, size: int = 28, seed: int = 0, lesion_fraction: float = 0.5):
    """Chest-like phantoms, half of them with a small bright lesion, whose truth is known.

    Each image has two dark elliptical "lung fields" in a brighter body, a brighter
    mediastinum between them, and noise. A lesion is a bright Gaussian blob of radius
    about ``size / 14`` placed inside one lung field.

    Parameters
    ----------
    n : int
        Number of images (>= 1).
    size : int
        Height and width (>= 16).
    seed : int
        Seed of the generator: the same seed gives the same images.
    lesion_fraction : float
        Fraction of images with a lesion, in [0, 1].

    Returns
    -------
    images : float32 array ``(n, size, size)`` in [0, 1]
    labels : int64 array ``(n,)``, 1 where a lesion is present
    masks : bool array ``(n, size, size)``, True on the lesion (all False without one)
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer >= 16, got {size!r}")
    if not 0.0 <= lesion_fraction <= 1.0:
        raise ValueError(f"lesion_fraction must be in [0, 1], got {lesion_fraction!r}")
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    labels = (rng.random(n) < lesion_fraction).astype(np.int64)
    images = np.empty((n, size, size), np.float32)
    masks = np.zeros((n, size, size), bool)
    for index in range(n):
        centre_row = 0.5 + rng.uniform(-0.03, 0.03)
        spread = 0.22 + rng.uniform(-0.02, 0.02)
        body = ((rows - 0.5) / 0.48) ** 2 + ((cols - 0.5) / 0.45) ** 2 < 1.0
        image = np.where(body, 0.6, 0.05).astype(np.float32)
        lungs = []
        for side in (-1, 1):
            lung_col = 0.5 + side * spread
            lung = ((rows - centre_row) / 0.33) ** 2 + ((cols - lung_col) / 0.15) ** 2 < 1.0
            image[lung] = 0.2
            lungs.append((lung, lung_col))
        if labels[index]:
            lung, lung_col = lungs[rng.integers(2)]
            radius = (size / 14.0) / (size - 1)
            lesion_row = centre_row + rng.uniform(-0.18, 0.18)
            lesion_col = lung_col + rng.uniform(-0.05, 0.05)
            distance2 = (rows - lesion_row) ** 2 + (cols - lesion_col) ** 2
            blob = np.exp(-distance2 / (2 * radius**2)).astype(np.float32)
            image += 0.55 * blob * lung
            masks[index] = (distance2 <= radius**2) & lung
        image += rng.normal(0.0, 0.03, image.shape).astype(np.float32)
        images[index] = np.clip(image, 0.0, 1.0)
    return images, labels, masks


# ----------------------------------------------------------------------------------
# From loaded arrays to what the models and the chapters' experiments use
# ----------------------------------------------------------------------------------


def to_float_images(images) -> np.ndarray:
    """Images as loaded, integers 0..255 of shape ``(N, H, W)``, to the models' input.

    This is the course's one conversion from pixels to network input: divide by 255
    and add a channel axis, so ``(N, H, W)`` uint8 becomes ``(N, H, W, 1)`` float32 in
    [0, 1] (NHWC, as Keras and the NumPy engine expect).

    Parameters
    ----------
    images : integer array ``(N, H, W)`` with values in 0..255 (uint8 as
        ``load_pneumoniamnist`` returns them, or any integer dtype holding such values)

    Returns
    -------
    float32 array ``(N, H, W, 1)`` with values in [0, 1]
    """
    array = np.asarray(images)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"images must hold integer pixel values 0..255 (uint8 as loaded), got dtype {array.dtype}; "
                        "float images are already scaled and need no conversion")
    if array.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W), got shape {array.shape}"
                         + ("; for one image pass image[np.newaxis]" if array.ndim == 2 else ""))
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"images must have values in 0..255, got values from {array.min()} to {array.max()}")
    return (array[..., np.newaxis] / 255.0).astype(np.float32)


def stratified_subset(images, labels, n: int, seed: int = 0):
    """``n`` examples drawn without replacement, keeping the class balance of ``labels``.

    The chapters' quick experiments train on such a subset of the training split. The
    draw is scikit-learn's stratified ``train_test_split`` (``random_state=seed``); the
    chosen indices are sorted, so the subset keeps the split's order.

    Parameters
    ----------
    images : array ``(N, ...)``, any dtype (returned as it is, not converted)
    labels : integer array ``(N,)``
    n : int, ``2 <= n < N``, and at least one example of each class fits
    seed : int, the draw's seed (the same seed gives the same subset)

    Returns
    -------
    images : array ``(n, ...)``, the chosen rows of ``images``
    labels : array ``(n,)``, their labels
    """
    from sklearn.model_selection import train_test_split

    images, labels = np.asarray(images), np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an integer array of shape (N,), got dtype {labels.dtype} "
                         f"and shape {labels.shape}")
    if images.ndim < 1 or len(images) != len(labels):
        raise ValueError(f"images must have one row per label ({len(labels)}), got shape {images.shape}")
    classes = np.unique(labels).size
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not classes <= n < len(labels):
        raise ValueError(f"n must be an integer from {classes} (one per class) to {len(labels) - 1} "
                         f"(fewer than the {len(labels)} examples), got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    chosen, _ = train_test_split(np.arange(len(labels)), train_size=int(n), stratify=labels, random_state=int(seed))
    chosen = np.sort(chosen)
    return images[chosen], labels[chosen]


def _as_unit_pixels(images, name: str) -> np.ndarray:
    """``images`` as float64 ``(N, pixels)`` in [0, 1]: integer pixels are divided by 255, floats kept."""
    values = np.asarray(images)
    if values.ndim < 2 or len(values) == 0:
        raise ValueError(f"{name} must be a non-empty batch of images (N, H, W) or (N, H, W, 1), got shape {values.shape}")
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise TypeError(f"{name} must hold numbers (uint8 pixels or floats in [0, 1]), got dtype {values.dtype}")
    values = values.reshape(len(values), -1).astype(np.float64)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        values /= 255.0
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return values


def nearest_train_distance(images, train_images, chunk: int = 512) -> np.ndarray:
    """Root-mean-square pixel difference from each image to its nearest training image.

    A near-zero distance flags a copy (or near-copy) of a training image among the images
    checked: leakage that makes a validation or test score look better than it is.

    Parameters
    ----------
    images : ``(N, H, W)`` or ``(N, H, W, 1)``: uint8 pixels, or floats in [0, 1]
    train_images : ``(M, H, W)`` or ``(M, H, W, 1)``, the same kind of values and image size
    chunk : int, images compared at a time (bounds the memory of the ``(chunk, M)`` distances)

    Returns
    -------
    float64 array ``(N,)``, in grey levels divided by 255 (below 1e-6 for an exact copy: rounding).
    """
    a, b = _as_unit_pixels(images, "images"), _as_unit_pixels(train_images, "train_images")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"images and train_images must have the same image size, got {a.shape[1]} and "
                         f"{b.shape[1]} pixels per image")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    train_norms = (b**2).sum(axis=1)  # (M,)
    nearest = np.empty(len(a))
    for start in range(0, len(a), int(chunk)):
        block = a[start:start + int(chunk)]
        squared = (block**2).sum(axis=1)[:, None] + train_norms[None, :] - 2 * block @ b.T  # (chunk, M)
        nearest[start:start + len(block)] = squared.min(axis=1)
    return np.sqrt(np.maximum(nearest, 0) / a.shape[1])
