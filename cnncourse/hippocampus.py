"""The hippocampus MRI volumes of the Medical Segmentation Decathlon (Task 04).

260 labelled T1 MRI crops around the hippocampus (1 mm isotropic voxels, from 31×40×24 to
43×59×47), with manual labels 0 background, 1 anterior (head), 2 posterior (body and tail);
Vanderbilt University Medical Center, CC BY-SA 4.0. Cite M. Antonelli et al., "The Medical
Segmentation Decathlon", *Nature Communications* 13, 4128 (2022).

``load_hippocampus`` finds the folder ``Task04_Hippocampus`` in ``data_dir``, then in
``$CNNCOURSE_DATA``, then in ``~/.cache/cnncourse``. Only when it is in none of them does it
download the official archive (the one MONAI's ``DecathlonDataset`` uses), check its MD5,
unpack it into a temporary folder and rename that folder into place: a failed or interrupted
download leaves neither a partial archive nor a half-unpacked folder.

The split is **by volume**, never by slice (slices of one scan are nearly copies of each
other): ``split_names`` sorts the 260 volumes by their hippocampus size, cuts them into 10
blocks of 26 and draws 20 / 3 / 3 of each block, with a fixed seed, for train / validation /
test, so that the three splits (200 / 30 / 30 volumes) cover the same range of sizes.
``volumes_to_slices`` cuts 2-D slices from the volumes of one split, padded to one shape, and
``slices_to_volumes`` puts 2-D predictions back together into 3-D volumes.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checks import as_pair, check_non_negative_int
from .data import CACHE_DIR, DataError, download

DIRNAME = "Task04_Hippocampus"
URL = "https://msd-for-monai.s3-us-west-2.amazonaws.com/Task04_Hippocampus.tar"
MD5 = "9d24dba78a72977dbd1d2e110310f31b"
LABEL_NAMES = ("background", "anterior", "posterior")
SPLITS = ("train", "val", "test")
SPLIT_SIZES = {"train": 200, "val": 30, "test": 30}
SPLIT_SEED = 0
N_BLOCKS = 10


class HippocampusError(DataError):
    """A Task04 file is missing, truncated or inconsistent; the message names the file."""


@dataclass
class Volume:
    """One labelled MRI volume.

    Attributes
    ----------
    name : str, e.g. ``"hippocampus_001"``
    image : (X, Y, Z) float32 MRI intensities (arbitrary units)
    label : (X, Y, Z) uint8 labels, 0 background, 1 anterior, 2 posterior
    spacing : (3,) voxel size in millimetres along X, Y, Z
    """

    name: str
    image: np.ndarray
    label: np.ndarray
    spacing: tuple

    @property
    def voxel_volume(self) -> float:
        """The volume of one voxel in mm³."""
        return float(np.prod(self.spacing))

    def structure_volume(self, label=None) -> float:
        """Reference volume in mm³ of one label (1 or 2), or of the whole hippocampus (``None``)."""
        mask = self.label > 0 if label is None else self.label == label
        return float(mask.sum()) * self.voxel_volume


def _manual_instructions(root: Path) -> str:
    return (f"Download {URL} by hand (MD5 {MD5}) and unpack it into {root} (it makes {root / DIRNAME}), "
            f"or put the folder {DIRNAME} in a folder and set CNNCOURSE_DATA=<that folder>, "
            f"or pass data_dir=<that folder>.")


def _candidate_dirs(data_dir) -> list[Path]:
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get("CNNCOURSE_DATA"):
        dirs.append(Path(os.environ["CNNCOURSE_DATA"]).expanduser())
    dirs.append(CACHE_DIR.expanduser())
    return dirs


def download_task04(root, url: str = URL, md5: str | None = MD5, timeout: float = 60.0) -> Path:
    """Download the Task04 archive and unpack it atomically into ``root / "Task04_Hippocampus"``.

    The archive goes to a temporary file in ``root`` (checked against ``md5``), is unpacked into
    a temporary folder in ``root`` and the unpacked ``Task04_Hippocampus`` is renamed into place
    only when all of it is there. On any failure every temporary file and folder is removed and
    a ``HippocampusError`` says what to do by hand. Returns the folder.
    """
    root = Path(root).expanduser()
    target = root / DIRNAME
    if target.exists():
        raise HippocampusError(f"{target} already exists; remove it first or load it with data_dir={str(root)!r}")
    root.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=root, prefix=f".{DIRNAME}.", suffix=".part"))
    try:
        try:
            archive = download(url, workdir / f"{DIRNAME}.tar", md5=md5, timeout=timeout)
        except DataError as error:
            cause = error.__cause__ if error.__cause__ is not None else error
            raise HippocampusError(f"Could not download {url}: {cause}. {_manual_instructions(root)}") from error
        unpacked = workdir / "unpacked"
        unpacked.mkdir()
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise HippocampusError(f"cannot unpack {archive.name} from {url}: {error}") from error
        found = [path.parent for path in unpacked.rglob("dataset.json")]
        if len(found) != 1:
            raise HippocampusError(f"the archive from {url} holds {len(found)} dataset.json files, expected 1")
        _check_folder(found[0])
        os.replace(found[0], target)
    except BaseException as error:
        if isinstance(error, (KeyboardInterrupt, HippocampusError)):
            raise
        raise HippocampusError(f"Could not download {url}: {error}. {_manual_instructions(root)}") from error
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def find_hippocampus(data_dir=None, download_missing: bool = True, timeout: float = 60.0) -> Path:
    """The folder ``Task04_Hippocampus`` (holding ``dataset.json``), found or downloaded.

    Searched in order: ``data_dir`` (itself, or its sub-folder ``Task04_Hippocampus``),
    ``$CNNCOURSE_DATA`` and ``~/.cache/cnncourse``. When none has it and ``download_missing``,
    the archive is downloaded into ``data_dir`` (or the cache) by ``download_task04``.
    """
    dirs = _candidate_dirs(data_dir)
    for folder in dirs:
        for candidate in (folder, folder / DIRNAME):
            if (candidate / "dataset.json").is_file():
                return candidate
    if not download_missing:
        raise HippocampusError(f"{DIRNAME}/dataset.json not found in {[str(d) for d in dirs]}. "
                               f"{_manual_instructions(dirs[0])}")
    return download_task04(dirs[0], timeout=timeout)


def _read_listing(folder: Path) -> list[tuple[Path, Path]]:
    listing = folder / "dataset.json"
    try:
        meta = json.loads(listing.read_text())
        pairs = [(folder / item["image"], folder / item["label"]) for item in meta["training"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise HippocampusError(f"{listing} is not a Decathlon dataset.json with a 'training' list "
                               f"of image/label pairs: {error}") from error
    for image, label in pairs:
        for path in (image, label):
            if not path.is_file():
                raise HippocampusError(f"{listing} lists {path}, which is not there")
    return sorted(pairs, key=lambda pair: pair[0].name)


def _check_folder(folder: Path) -> None:
    _read_listing(Path(folder))


def read_nifti(path) -> tuple[np.ndarray, tuple]:
    """Read one NIfTI file with nibabel.

    Returns ``(array, spacing)``: the voxel array (X, Y, Z) as stored and the voxel size in mm
    (3,). A missing, truncated or unreadable file raises ``HippocampusError`` naming it.
    """
    import nibabel

    path = Path(path)
    if not path.is_file():
        raise HippocampusError(f"{path} is missing")
    try:
        header_image = nibabel.load(str(path))
        array = np.asanyarray(header_image.dataobj)
        spacing = tuple(float(zoom) for zoom in header_image.header.get_zooms()[:3])
    except Exception as error:  # nibabel, gzip and zlib raise many kinds for a damaged file
        raise HippocampusError(f"{path} cannot be read as NIfTI (missing, truncated or corrupt): "
                               f"{type(error).__name__}: {error}") from error
    if array.ndim != 3:
        raise HippocampusError(f"{path} holds an array of shape {array.shape}, expected a 3-D volume")
    return array, spacing


def read_volume(image_path, label_path) -> Volume:
    """Read one image/label pair, checking that shapes match and labels are in {0, 1, 2}."""
    image, spacing = read_nifti(image_path)
    label, _ = read_nifti(label_path)
    if image.shape != label.shape:
        raise HippocampusError(f"{label_path} has shape {label.shape} but its image {image_path} has "
                               f"shape {image.shape}; they must match")
    values = np.unique(label)
    if not np.all(np.isin(values, (0, 1, 2))):
        raise HippocampusError(f"{label_path} has label values {values.tolist()}, expected only 0, 1, 2")
    return Volume(Path(image_path).name.split(".")[0], image.astype(np.float32), label.astype(np.uint8), spacing)


def read_all(folder) -> list[Volume]:
    """Every labelled volume that ``folder/dataset.json`` lists, sorted by name."""
    return [read_volume(image, label) for image, label in _read_listing(Path(folder))]


def split_names(names, sizes, seed: int = SPLIT_SEED, split_sizes=None, n_blocks: int = N_BLOCKS) -> dict:
    """Split volumes by name into train / val / test, stratified by hippocampus size.

    Parameters
    ----------
    names : (N,) volume names
    sizes : (N,) hippocampus voxel counts, the stratifying variable
    seed : the split's own fixed seed (not the run's seed: the split never changes)
    split_sizes : dict split -> count, summing to N (default 200 / 30 / 30)
    n_blocks : the volumes, sorted by size, are cut into this many equal blocks and each
        block gives every split its share (count / n_blocks)

    Returns
    -------
    dict split -> sorted list of names
    """
    names = list(names)
    sizes = np.asarray(sizes, dtype=float)
    split_sizes = dict(SPLIT_SIZES if split_sizes is None else split_sizes)
    if len(names) != len(sizes):
        raise ValueError(f"names and sizes must have one entry per volume, got {len(names)} and {len(sizes)}")
    if sum(split_sizes.values()) != len(names):
        raise ValueError(f"split_sizes must sum to the number of volumes {len(names)}, got {split_sizes}")
    if any(count % n_blocks for count in split_sizes.values()):
        raise ValueError(f"every split size must be a multiple of n_blocks={n_blocks}, got {split_sizes}")
    rng = np.random.default_rng(seed)
    order = np.argsort(sizes, kind="stable")
    result = {split: [] for split in split_sizes}
    for block in np.array_split(order, n_blocks):
        block = rng.permutation(block)
        start = 0
        for split, count in split_sizes.items():
            share = count // n_blocks
            result[split] += [names[i] for i in block[start:start + share]]
            start += share
    return {split: sorted(chosen) for split, chosen in result.items()}


_CACHE: dict = {}


def load_hippocampus(data_dir=None, download_missing: bool = True, timeout: float = 60.0) -> dict:
    """The labelled Task04 volumes in the course's fixed split.

    Returns
    -------
    dict ``{"train": [Volume] * 200, "val": [Volume] * 30, "test": [Volume] * 30}``, each list
    sorted by name (see the module docstring for the split). The volumes are read once per
    process and folder; the lists are fresh but the ``Volume`` objects are shared (do not
    modify their arrays in place).
    """
    folder = find_hippocampus(data_dir, download_missing=download_missing, timeout=timeout).resolve()
    if folder not in _CACHE:
        volumes = read_all(folder)
        names = [volume.name for volume in volumes]
        sizes = [int((volume.label > 0).sum()) for volume in volumes]
        if len(volumes) == sum(SPLIT_SIZES.values()):
            split = split_names(names, sizes)
        else:  # a smaller folder (tests, a subset): same rule, proportional counts
            split = _proportional_split(names, sizes)
        by_name = {volume.name: volume for volume in volumes}
        _CACHE[folder] = {key: [by_name[name] for name in split[key]] for key in SPLITS}
    return {key: list(value) for key, value in _CACHE[folder].items()}


def _proportional_split(names, sizes) -> dict:
    n = len(names)
    if n < 3:
        raise HippocampusError(f"need at least 3 labelled volumes to split, found {n}")
    n_val = max(1, round(n * 30 / 260))
    counts = {"train": n - 2 * n_val, "val": n_val, "test": n_val}
    return split_names(names, sizes, split_sizes=counts, n_blocks=1)


def _offsets(size: int, target: int) -> tuple[int, int]:
    """(source start, destination start) of a centred pad (target > size) or crop."""
    if target >= size:
        return 0, (target - size) // 2
    return (size - target) // 2, 0


def pad_or_crop(image, shape) -> np.ndarray:
    """Centre ``image`` (H, W, ...) in a zero array of ``shape`` (h, w), cropping what does not fit."""
    height, width = as_pair(shape, "shape")
    image = np.asarray(image)
    out = np.zeros((height, width) + image.shape[2:], dtype=image.dtype)
    (sy, dy), (sx, dx) = _offsets(image.shape[0], height), _offsets(image.shape[1], width)
    ny, nx = min(image.shape[0], height), min(image.shape[1], width)
    out[dy:dy + ny, dx:dx + nx] = image[sy:sy + ny, sx:sx + nx]
    return out


def undo_pad_or_crop(image, shape) -> np.ndarray:
    """Inverse of ``pad_or_crop``: back to ``shape`` (H, W), with zeros where it had been cropped."""
    height, width = as_pair(shape, "shape")
    image = np.asarray(image)
    out = np.zeros((height, width) + image.shape[2:], dtype=image.dtype)
    (sy, dy), (sx, dx) = _offsets(height, image.shape[0]), _offsets(width, image.shape[1])
    ny, nx = min(image.shape[0], height), min(image.shape[1], width)
    out[sy:sy + ny, sx:sx + nx] = image[dy:dy + ny, dx:dx + nx]
    return out


def normalize_intensities(image) -> np.ndarray:
    """Z-score one volume (X, Y, Z): MRI intensities have no fixed unit, so each scan is scaled alone."""
    image = np.asarray(image, dtype=np.float32)
    return (image - image.mean()) / max(float(image.std()), 1e-6)


def volumes_to_slices(volumes, shape=(64, 48), axis: int = 0, context: int = 0):
    """Cut 2-D slices along ``axis`` from each volume, z-scored and padded to ``shape``.

    Parameters
    ----------
    volumes : list of ``Volume``
    shape : (h, w) of every slice (or one int for a square); each slice is centred, padded
        with zeros or cropped. The in-plane sizes are at most 59 × 47 along axis 0.
    axis : 0, 1 or 2, the axis cut across
    context : neighbouring slices on each side given as extra channels (zeros beyond the ends)

    Returns
    -------
    x : (S, h, w, 2 * context + 1) float32 images, the slice itself in the middle channel
    y : (S, h, w) uint8 labels
    index : (S, 2) int, (position of the volume in ``volumes``, slice number)
    """
    height, width = as_pair(shape, "shape")
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    context = check_non_negative_int(context, "context")
    xs, ys, index = [], [], []
    for number, volume in enumerate(volumes):
        image = np.moveaxis(normalize_intensities(volume.image), axis, 0)
        label = np.moveaxis(volume.label, axis, 0)
        depth = image.shape[0]
        padded = np.concatenate([np.zeros((context,) + image.shape[1:], np.float32), image,
                                 np.zeros((context,) + image.shape[1:], np.float32)])
        for z in range(depth):
            stack = np.moveaxis(padded[z:z + 2 * context + 1], 0, -1)
            xs.append(pad_or_crop(stack, (height, width)))
            ys.append(pad_or_crop(label[z], (height, width)))
            index.append((number, z))
    return (np.stack(xs).astype(np.float32), np.stack(ys).astype(np.uint8),
            np.asarray(index, dtype=int).reshape(-1, 2))


def slices_to_volumes(slices, index, volume_shapes, axis: int = 0) -> list[np.ndarray]:
    """Put 2-D predictions back together into 3-D volumes (the inverse of ``volumes_to_slices``).

    Parameters
    ----------
    slices : (S, h, w) or (S, h, w, C) per-slice predictions (labels or probabilities)
    index : (S, 2) from ``volumes_to_slices``
    volume_shapes : list of (X, Y, Z), one per volume
    axis : the axis the slices were cut across

    Returns
    -------
    list of arrays (X, Y, Z) or (X, Y, Z, C), one per volume; slices that were cropped away
    are zero.
    """
    slices = np.asarray(slices)
    index = np.asarray(index)
    if index.ndim != 2 or index.shape[1] != 2 or len(index) != len(slices):
        raise ValueError(f"index must have shape ({len(slices)}, 2), got {index.shape}")
    out = []
    for number, shape in enumerate(volume_shapes):
        moved = (shape[axis],) + tuple(s for i, s in enumerate(shape) if i != axis)
        volume = np.zeros(moved + slices.shape[3:], dtype=slices.dtype)
        for row in np.flatnonzero(index[:, 0] == number):
            volume[index[row, 1]] = undo_pad_or_crop(slices[row], moved[1:])
        out.append(np.moveaxis(volume, 0, axis))
    return out
