"""Data for the course: the MedMNIST files (PneumoniaMNIST and the others in ``../shared/data``) and synthetic lesion phantoms.

``load_medmnist(name)`` finds ``<name>.npz`` (``<name>_<size>.npz`` for the MedMNIST+ sizes) in
``data_dir``, or else in ``$CNNCOURSE_DATA`` and then in ``~/.cache/cnncourse``. Only when it is
in none of them does it download the official file, with a timeout, an overall deadline, a
progress bar and an MD5 check, into a temporary file that is renamed into place only when
complete. A local file is checked before its arrays are loaded: the archive's members (no
duplicates, only the six arrays used are read), their ``.npy`` headers (dtype, shape, 2-D or
3-D, sizes, before anything is allocated), its MD5 against the official one, then the label
values. ``load_pneumoniamnist`` is the same loader for PneumoniaMNIST, the course's main data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import stat
import tempfile
import threading
import time
import types
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from .checks import check_float, check_int, check_positive_int, check_probability, check_seed

CACHE_DIR = Path("~/.cache/cnncourse")
SPLITS = ("train", "val", "test")
ZENODO_URL = "https://zenodo.org/records/10519652/files/{filename}?download=1"  # MedMNIST+ (v3) record
SKIP_MD5_ENV = "CNNCOURSE_SKIP_MD5"
MAX_IMAGES = 1_000_000  # far above any MedMNIST split; a header claiming more is corrupt
TASKS = ("binary", "multi-class", "ordinal")


@dataclasses.dataclass(frozen=True)
class MedMNISTInfo:
    """What MedMNIST's own ``medmnist/info.py`` (v3, Zenodo record 10519652) says about one data set.

    Attributes
    ----------
    name : the flag, e.g. ``"breastmnist"``; the 28 px file is ``<name>.npz``
    python_class : the class name in the ``medmnist`` package, e.g. ``"BreastMNIST"``
    modality : what the images are, in words
    task : ``"binary"``, ``"multi-class"`` or ``"ordinal"`` (info.py's "binary-class",
        "multi-class", "ordinal-regression")
    labels : class names, label ``k`` is ``labels[k]``
    channels : 1 (grey) or 3 (RGB, stored last: ``(N, H, W, 3)``)
    dims : 2 (images ``(N, H, W)`` or ``(N, H, W, 3)``) or 3 (volumes ``(N, D, H, W)``)
    md5 : read-only mapping size -> MD5 of the official file of that size
    n_samples : official ``(train, val, test)`` sizes
    licence : the data's licence
    """

    name: str
    python_class: str
    modality: str
    task: str
    labels: tuple
    channels: int
    dims: int
    md5: types.MappingProxyType
    n_samples: tuple
    licence: str = "CC BY 4.0"

    @property
    def sizes(self) -> tuple:
        """Image sides published: (28, 64, 128, 224) for 2-D sets, (28, 64) for 3-D ones."""
        return tuple(sorted(self.md5))

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def filename(self, size: int = 28) -> str:
        """``<name>.npz`` at 28 px, ``<name>_<size>.npz`` otherwise."""
        size = _check_size(size, self)
        return f"{self.name}.npz" if size == 28 else f"{self.name}_{size}.npz"

    def url(self, size: int = 28) -> str:
        return ZENODO_URL.format(filename=self.filename(size))

    def image_shape(self, size: int = 28) -> tuple:
        """Shape of one sample: ``(s, s)``, ``(s, s, 3)`` or ``(s, s, s)``."""
        size = _check_size(size, self)
        if self.dims == 3:
            return (size, size, size)
        return (size, size) if self.channels == 1 else (size, size, self.channels)


def _info(name, python_class, modality, task, labels, channels, dims, md5, n_samples):
    return MedMNISTInfo(name, python_class, modality, task, tuple(labels), channels, dims,
                        types.MappingProxyType(dict(md5)), tuple(n_samples))


# Names, MD5s, labels and sample counts as MedMNIST's medmnist/info.py (v3) gives them; the
# 28 px MD5s are also in ../shared/data/README.md. Only the data sets whose files the course
# ships (CC BY 4.0) are listed.
MEDMNIST = types.MappingProxyType({info.name: info for info in (
    _info("pneumoniamnist", "PneumoniaMNIST", "paediatric chest X-ray", "binary", ("normal", "pneumonia"), 1, 2,
          {28: "28209eda62fecd6e6a2d98b1501bb15f", 64: "8f4eceb4ccffa70c672198ea285246c6",
           128: "05b46931834c231683c68f40c47b2971", 224: "d6a3c71de1b945ea11211b03746c1fe1"}, (4708, 524, 624)),
    _info("breastmnist", "BreastMNIST", "breast ultrasound", "binary", ("malignant", "normal, benign"), 1, 2,
          {28: "750601b1f35ba3300ea97c75c52ff8f6", 64: "742edef2a1fd1524b2efff4bd7ba9364",
           128: "363e4b3f8d712e9b5de15470a2aaadf1", 224: "b56378a6eefa9fed602bb16d192d4c8b"}, (546, 78, 156)),
    _info("retinamnist", "RetinaMNIST", "colour fundus photograph (diabetic retinopathy grade)", "ordinal",
          ("0", "1", "2", "3", "4"), 3, 2,
          {28: "bd4c0672f1bba3e3a89f0e4e876791e4", 64: "afda852cc34dcda56f86ad2b2457dbcc",
           128: "e48e916a24454daf90583d4e6efb1a18", 224: "eae7e3b6f3fcbda4ae613ebdcbe35348"}, (1080, 120, 400)),
    # info.py names class 1 "hyperplasia"; its description calls it an adrenal mass.
    _info("adrenalmnist3d", "AdrenalMNIST3D", "adrenal gland shape from abdominal CT", "binary",
          ("normal", "hyperplasia"), 1, 3,
          {28: "bbd3c5a5576322bc4cdfea780653b1ce", 64: "17721accfe9fb005146a47d33bc54b2f"}, (1188, 98, 298)),
    _info("vesselmnist3d", "VesselMNIST3D", "brain vessel shape from MRA", "binary", ("vessel", "aneurysm"), 1, 3,
          {28: "b41fd4f7e7e2feedddb201585ecafa1b", 64: "6bb274a8846e1097066dcd64e2c4520f"}, (1335, 191, 382)),
)})


class DataError(ValueError):
    """A data file is missing, corrupt or has the wrong structure."""


def medmnist_info(name) -> MedMNISTInfo:
    """The :class:`MedMNISTInfo` of ``name`` (one of ``MEDMNIST``'s keys, e.g. ``"retinamnist"``)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a MedMNIST data set name (str), got {type(name).__name__} {name!r}")
    key = name.lower().removesuffix(".npz")
    if key not in MEDMNIST:
        raise ValueError(f"name must be one of {sorted(MEDMNIST)} (the MedMNIST files the course ships), got {name!r}")
    return MEDMNIST[key]


def _check_size(size, info: MedMNISTInfo) -> int:
    sizes = tuple(sorted(info.md5))
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or int(size) not in sizes:
        kind = "MedMNIST+ volume sides" if info.dims == 3 else "MedMNIST+ image sizes"
        raise ValueError(f"size must be one of {sizes} (the {kind} of {info.name}), got {size!r}")
    return int(size)


def medmnist_file(name, size: int = 28) -> tuple[str, str, str]:
    """``(file name, URL, MD5)`` of the official file of ``name`` at ``size``."""
    info = medmnist_info(name)
    return info.filename(size), info.url(size), info.md5[_check_size(size, info)]


# PneumoniaMNIST, the course's main data set: the names the chapters use.
FILENAME = "pneumoniamnist.npz"
URL = ZENODO_URL.format(filename=FILENAME)
MD5 = MEDMNIST["pneumoniamnist"].md5[28]
CLASS_NAMES = MEDMNIST["pneumoniamnist"].labels
IMAGE_SHAPE = (28, 28)
SIZES = MEDMNIST["pneumoniamnist"].sizes
SIZE_MD5 = {size: md5 for size, md5 in MEDMNIST["pneumoniamnist"].md5.items() if size != 28}


def official_file(size: int = 28) -> tuple[str, str, str]:
    """``(file name, URL, MD5)`` of the official PneumoniaMNIST file with ``size × size`` images."""
    return medmnist_file("pneumoniamnist", size)


def _official_for(target: Path):
    """``(info, size)`` of the official file named like ``target``, or None."""
    for info in MEDMNIST.values():
        for size in info.sizes:
            if info.filename(size) == Path(target).name:
                return info, size
    return None


def _manual_instructions(target: Path) -> str:
    target = Path(target)
    official = _official_for(target)
    source = ""
    if official is not None:
        info, size = official
        source = f"Download {info.url(size)} by hand (MD5 {info.md5[size]}) and "
    else:
        source = "Download it by hand and "
    return (f"{source}save it as {target}, or put {target.name} in a folder and set CNNCOURSE_DATA=<that folder>, "
            f"or pass data_dir=<that folder>.")


def md5sum(path, chunk_size: int = 1 << 20) -> str:
    """Hex MD5 digest of the file at ``path``."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


_MD5_CACHE: dict = {}  # (path, inode, size, mtime) -> MD5: a file loaded again is not hashed again


def _cached_md5(handle, path: Path) -> str:
    status = os.fstat(handle.fileno())
    key = (str(path.resolve()), status.st_ino, status.st_size, status.st_mtime_ns)
    if key not in _MD5_CACHE:
        digest = hashlib.md5()
        handle.seek(0)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        handle.seek(0)
        _MD5_CACHE[key] = digest.hexdigest()
    return _MD5_CACHE[key]


class _Terminated(BaseException):
    """Raised inside a download when SIGTERM arrives, so that its partial file is removed."""


@contextlib.contextmanager
def _sigterm_cleans_up():
    """While inside, SIGTERM raises ``_Terminated`` (main thread, and only if SIGTERM is not ignored)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) in (
            signal.SIG_IGN, None):
        yield
        return

    def handler(signum, frame):
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _socket_of(response):
    """The socket under an ``http.client`` response, or None (best effort: used only to tighten timeouts)."""
    try:
        return response.fp.raw._sock
    except AttributeError:
        return None


def download(url: str, target, md5: str | None = None, timeout: float = 30.0, deadline: float | None = None) -> Path:
    """Download ``url`` to ``target`` atomically, showing a tqdm progress bar.

    The bytes go to a temporary ``.part`` file in the target's folder; the body must be as
    long as the server's ``Content-Length`` says, is checked against ``md5`` (when given) and
    is renamed to ``target`` only when complete. ``timeout`` bounds each wait for the server;
    ``deadline`` (default ``20 * timeout``) bounds the whole download, checked after every
    small read (a server that drips bytes slowly cannot keep it going), and no single wait
    runs past it. On any failure, Ctrl-C or SIGTERM included, the temporary file is removed;
    a failure raises a ``DataError`` that explains what to do by hand.
    """
    from tqdm.auto import tqdm

    timeout = check_float(timeout, "timeout", low_inclusive=False)
    deadline = check_float(20.0 * timeout if deadline is None else deadline, "deadline", low_inclusive=False)
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataError(f"cannot save {target.name} in {str(target.parent)!r}: a file of that name is in the way, "
                        f"not a folder. {_manual_instructions(target)}") from None
    tmp_path = None
    start = time.monotonic()
    received = 0
    try:
        with _sigterm_cleans_up():
            handle, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
            tmp_path = Path(tmp_name)
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                read = getattr(response, "read1", response.read)  # read1: what has arrived, never waits for more
                sock = _socket_of(response)
                with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                    while True:
                        remaining = deadline - (time.monotonic() - start)
                        if remaining <= 0:
                            raise DataError(f"the download took longer than {deadline:g} s in all "
                                            f"({received:,} bytes received); the server is too slow")
                        if sock is not None:
                            sock.settimeout(min(timeout, remaining))
                        chunk = read(1 << 14)
                        if not chunk:
                            break
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
            if total is not None and received != total:
                raise DataError(f"the server sent {received:,} bytes but promised {total:,}: the download is incomplete")
            if md5 is not None:
                actual = md5sum(tmp_path)
                if actual != md5:
                    raise DataError(f"downloaded file has MD5 {actual}, expected {md5}")
            os.replace(tmp_path, target)
    except BaseException as error:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)
        if isinstance(error, _Terminated):
            signal.raise_signal(signal.SIGTERM)  # the previous handler is back: by default, terminate
            raise DataError(f"the download of {url} was stopped by SIGTERM; nothing was saved") from None
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        reason = error
        if not isinstance(error, DataError) and time.monotonic() - start >= deadline:
            reason = (f"the download took longer than {deadline:g} s in all ({received:,} bytes received); "
                      f"the server is too slow ({error})")
        raise DataError(f"Could not download {url}: {reason}. {_manual_instructions(target)}") from error
    return target


def _skip_md5() -> bool:
    return os.environ.get(SKIP_MD5_ENV, "").strip().lower() in ("1", "true", "yes")


def _read_header(archive: zipfile.ZipFile, member: str):
    """``(shape, fortran_order, dtype)`` from a member's ``.npy`` header: a few hundred bytes are read."""
    with archive.open(member) as handle:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return read(handle)


def _check_headers(path: Path, archive: zipfile.ZipFile, info: MedMNISTInfo, size: int) -> dict:
    """Check every used member's header (dtype, shape, claimed bytes); return ``{key: (shape, dtype)}``."""
    expected = info.image_shape(size)
    layout = "(N, " + ", ".join(str(side) for side in expected) + ")"
    headers = {}
    total_bytes = 0
    for split in SPLITS:
        for kind in ("images", "labels"):
            key = f"{split}_{kind}"
            member = archive.getinfo(key + ".npy")
            shape, _, dtype = _read_header(archive, key + ".npy")
            if dtype.hasobject:
                raise DataError(f"{path}: {key} holds Python objects (pickled data), which are never loaded; "
                                "the file is not a MedMNIST file. Delete it and try again.")
            if shape and shape[0] > MAX_IMAGES:
                raise DataError(f"{path}: {key} claims shape {shape}, more than {MAX_IMAGES:,} samples; "
                                "the file is corrupt. Delete it and try again.")
            nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if member.file_size < nbytes:
                raise DataError(f"{path}: {key} claims shape {shape} ({nbytes:,} bytes) but its member holds only "
                                f"{member.file_size:,} bytes; the file is corrupt or truncated. Delete it and try again.")
            headers[key] = (shape, dtype)
            total_bytes += nbytes
        (images_shape, images_dtype), (labels_shape, labels_dtype) = headers[f"{split}_images"], headers[f"{split}_labels"]
        if tuple(images_shape[1:]) != expected or len(images_shape) != len(expected) + 1:
            hint = ""
            if info.dims == 3 and len(images_shape) in (3, 4) and images_shape[1:3] == expected[:2] and (
                    len(images_shape) == 3 or images_shape[3] in (1, 3)):
                hint = f": this is a 2-D image file, but {info.name} holds 3-D volumes"
            elif info.dims == 2 and len(images_shape) == 4 and images_shape[1] == images_shape[2] == images_shape[3]:
                hint = f": this is a 3-D volume file, but {info.name} holds 2-D images"
            raise DataError(f"{path}: {split}_images should have shape {layout}, got {tuple(images_shape)}{hint}")
        if images_dtype != np.uint8:
            raise DataError(f"{path}: {split}_images should have dtype uint8, got {images_dtype}")
        if images_shape[0] == 0:
            raise DataError(f"{path}: the {split} split is empty ({split}_images has shape {tuple(images_shape)})")
        if tuple(labels_shape) not in ((images_shape[0],), (images_shape[0], 1)):
            raise DataError(f"{path}: {split}_labels should hold one label per image ({images_shape[0]}), "
                            f"got shape {tuple(labels_shape)}")
        if labels_dtype == bool or not np.issubdtype(labels_dtype, np.integer):
            raise DataError(f"{path}: {split}_labels should be integers, got dtype {labels_dtype}")
    available = available_memory()
    if available is not None and total_bytes > available:
        raise DataError(f"{path}: its arrays need {total_bytes:,} bytes ({total_bytes / 1e9:.1f} GB) of memory, but "
                        f"only {available:,} bytes are available; use a smaller size= or a machine with more memory")
    return headers


def available_memory():
    """Bytes of memory available to a new allocation (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _unreadable(path: Path, error) -> DataError:
    return DataError(f"{path} is not a readable .npz file ({error}). Delete it and try again.")


def _read_member(path: Path, archive: zipfile.ZipFile, key: str, shape, dtype) -> np.ndarray:
    """The array of member ``key + ".npy"``, whose header was checked (never pickled data)."""
    try:
        with archive.open(key + ".npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except MemoryError:
        nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        raise DataError(f"{path}: {key} of shape {tuple(shape)} needs {nbytes / 1e9:.1f} GB of memory, more than is "
                        "free; use a smaller size= or a machine with more memory.") from None


def _check_labels(path: Path, info: MedMNISTInfo, arrays: dict) -> None:
    """Every ``{split}_labels`` in ``arrays`` holds values ``0 .. K-1``."""
    for split in SPLITS:
        labels = arrays[f"{split}_labels"]
        bad = np.setdiff1d(np.unique(labels), np.arange(info.num_classes))
        if bad.size:
            allowed = "0 or 1" if info.num_classes == 2 else f"integers 0..{info.num_classes - 1}"
            raise DataError(f"{path}: {split}_labels should be {allowed}, found {bad.tolist()} ({info.name} has "
                            f"{info.num_classes} classes)")


def _check_md5(handle, path: Path, info: MedMNISTInfo, size: int) -> None:
    actual, expected = _cached_md5(handle, path), info.md5[size]
    if actual != expected:
        raise DataError(
            f"{path} has MD5 {actual}, but the official {info.filename(size)} has MD5 {expected}: "
            f"this copy is damaged, another release or modified. Delete it so that the loader "
            f"downloads the official file ({info.url(size)}), or, if you know your copy differs on "
            f"purpose, pass check_md5=False or set {SKIP_MD5_ENV}=1.")


def read_medmnist_file(path, name, size: int = 28, check_md5: bool = True):
    """Check and read one MedMNIST ``.npz`` file: the splits, as :func:`load_medmnist` returns them.

    The checks run before the arrays are loaded, in this order: a regular, readable zip
    archive; no member name twice; the six members ``{train,val,test}_{images,labels}.npy``
    present (others are never read); their headers (uint8 images of ``name``'s shape at
    ``size``, 2-D or 3-D, one integer label per image, no more bytes claimed than the member
    holds); the label values (``0 .. K-1``, read first: they are small); the file's MD5
    against the official one (unless ``check_md5=False`` or ``$CNNCOURSE_SKIP_MD5=1``); only
    then are the images read. A structure error is reported whatever the MD5.
    """
    info = medmnist_info(name)
    size = _check_size(size, info)
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open(): opening a FIFO would block
            what = "a folder" if path.is_dir() else "not a regular file (a FIFO, device or socket?)"
            raise DataError(f"{path} is {what}; put the .npz file itself there")
        handle = open(path, "rb")
    except PermissionError as error:
        raise DataError(f"cannot read {path}: permission denied ({error.strerror}). Make the file readable "
                        f"(for example chmod u+r), or point the loader to another copy.") from error
    except FileNotFoundError:
        raise DataError(f"{path} does not exist. {_manual_instructions(path)}") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error}") from error
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise DataError(f"{path} is not a regular file (a FIFO, device or socket?); put the .npz file itself there")
        try:
            if not zipfile.is_zipfile(handle):
                raise DataError(f"{path} is not a readable .npz file: it is not a zip archive (a .npy file or another "
                                "format saved under that name?). Delete it and try again.")
            with zipfile.ZipFile(handle) as archive:
                names = [member.filename for member in archive.infolist()]
                repeated = sorted(member for member, count in Counter(names).items() if count > 1)
                if repeated:
                    raise DataError(f"{path}: the archive holds {repeated} more than once, so which copy is meant is "
                                    "ambiguous; the file is refused. Delete it and download the official file again.")
                for split in SPLITS:
                    for kind in ("images", "labels"):
                        if f"{split}_{kind}.npy" not in names:
                            found = sorted(member.removesuffix(".npy") for member in names)
                            raise DataError(f"{path}: missing key '{split}_{kind}'; found {found}")
                headers = _check_headers(path, archive, info, size)
                # Labels are small: read and check them first; the images only once the MD5 is right.
                arrays = {key: _read_member(path, archive, key, *headers[key]) for key in headers if "labels" in key}
                _check_labels(path, info, arrays)
                if check_md5 and not _skip_md5():
                    _check_md5(handle, path, info, size)
                arrays.update({key: _read_member(path, archive, key, *headers[key]) for key in headers if "images" in key})
        except DataError:
            raise
        except PermissionError as error:
            raise DataError(f"cannot read {path}: permission denied ({error.strerror}).") from error
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, NotImplementedError) as error:
            raise _unreadable(path, error) from error
    return tuple((np.ascontiguousarray(arrays[f"{split}_images"]),
                  arrays[f"{split}_labels"].reshape(-1).astype(np.int64)) for split in SPLITS)


def _env_folder():
    """``$CNNCOURSE_DATA`` as a folder, or None; a file named there is an error, not skipped."""
    value = os.environ.get("CNNCOURSE_DATA")
    if not value:
        return None
    folder = Path(value).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DataError(f"CNNCOURSE_DATA={value!r} names a file, not a folder; set it to the folder that holds the "
                        f"data files: CNNCOURSE_DATA={str(folder.parent)!r}")
    return folder


def _candidate_dirs() -> list[Path]:
    """The folders searched without an explicit ``data_dir``, in order: ``$CNNCOURSE_DATA``, the cache."""
    dirs = []
    env = _env_folder()
    if env is not None:
        dirs.append(env)
    dirs.append(CACHE_DIR.expanduser())
    return dirs


def _present(path: Path) -> bool:
    """True for an existing file at ``path``; a folder or FIFO of that name is an error, not "missing"."""
    if not os.path.lexists(path):
        return False
    if path.is_file():
        return True
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file; remove it or rename it")
    if not path.exists():
        raise DataError(f"{path} is a broken symbolic link; remove it or point it to the data file")
    raise DataError(f"{path} is not a regular file (a FIFO, device or socket?); put the .npz file itself there")


def find_medmnist(name, data_dir=None, size: int = 28, download_missing: bool = True, timeout: float = 30.0) -> Path:
    """Path to ``name``'s file of ``size``: the first folder that has it, else a fresh download.

    An explicit ``data_dir`` is authoritative: it must be an existing folder, and only it is
    used (a missing file is downloaded into it, never looked for elsewhere). Without it,
    ``$CNNCOURSE_DATA`` (which must name a folder) and then ``~/.cache/cnncourse`` are
    searched, and a download goes to the cache.
    """
    filename, url, md5 = medmnist_file(name, size)
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise DataError(f"data_dir {str(folder)!r} {what}; pass the folder that holds {filename}, "
                            f"or leave data_dir out to use $CNNCOURSE_DATA or the cache")
        if _present(folder / filename):
            return folder / filename
        if not download_missing:
            raise DataError(f"{filename} not found in data_dir {str(folder)!r}. {_manual_instructions(folder / filename)}")
        return download(url, folder / filename, md5=md5, timeout=timeout)
    dirs = _candidate_dirs()
    for folder in dirs:
        if _present(folder / filename):
            return folder / filename
    target = CACHE_DIR.expanduser() / filename
    if not download_missing:
        searched = ", ".join(str(d) for d in dirs)
        raise DataError(f"{filename} not found in {searched}. {_manual_instructions(target)}")
    return download(url, target, md5=md5, timeout=timeout)


def load_medmnist(name, data_dir=None, size: int = 28, download_missing: bool = True, timeout: float = 30.0,
                  check_md5: bool = True):
    """Load a MedMNIST data set with its official splits.

    Parameters
    ----------
    name : str
        One of ``MEDMNIST``'s keys: ``"pneumoniamnist"``, ``"breastmnist"``, ``"retinamnist"``,
        ``"adrenalmnist3d"``, ``"vesselmnist3d"`` (``medmnist_info(name)`` describes each).
    data_dir : str or Path, optional
        A folder holding the file. When given, only this folder is used (a DataError names
        it if it does not exist); without it ``$CNNCOURSE_DATA``, then ``~/.cache/cnncourse``,
        are searched.
    size : int
        Image side: 28 (default), or a MedMNIST+ size, 64, 128, 224 for 2-D sets, 64 for 3-D.
    download_missing : bool
        Download the official file when it is found nowhere.
    timeout : float
        Seconds the download may wait for the server at a time (the whole download: 20 times as long).
    check_md5 : bool
        Check the local file's MD5 against the official one (default). Pass False (or set
        ``CNNCOURSE_SKIP_MD5=1``) only for a copy you know differs; its structure is still checked.

    Returns
    -------
    ((x_train, y_train), (x_val, y_val), (x_test, y_test))
        Images are uint8: ``(N, size, size)`` (grey), ``(N, size, size, 3)`` (RGB, RetinaMNIST)
        or ``(N, size, size, size)`` (3-D volumes, depth first); labels are int64 ``(N,)`` in
        ``0 .. K-1``, named by ``medmnist_info(name).labels``.

    Raises
    ------
    DataError (a ``ValueError``)
        When the file cannot be found, downloaded or read, has the wrong structure or the wrong MD5.
    """
    info = medmnist_info(name)
    size = _check_size(size, info)
    if not isinstance(check_md5, bool):
        raise TypeError(f"check_md5 must be True or False, got {check_md5!r}")
    path = find_medmnist(info.name, data_dir, size=size, download_missing=download_missing, timeout=timeout)
    return read_medmnist_file(path, info.name, size=size, check_md5=check_md5)


def load_pneumoniamnist(data_dir=None, download_missing: bool = True, timeout: float = 30.0, size: int = 28,
                        check_md5: bool = True):
    """Load PneumoniaMNIST (MedMNIST v2, or MedMNIST+ at larger sizes) with its official splits.

    ``load_medmnist("pneumoniamnist", ...)``: the same lookup, checks and download.

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
    check_md5 : bool
        Check the file's MD5 against the official one (see :func:`load_medmnist`).

    Returns
    -------
    ((x_train, y_train), (x_val, y_val), (x_test, y_test))
        Images are uint8 arrays of shape ``(N, size, size)``; labels are int64 arrays of
        shape ``(N,)`` with 0 = normal and 1 = pneumonia.

    Raises
    ------
    DataError (a ``ValueError``)
        When the file cannot be found, downloaded or read, or has the wrong structure or MD5.
    """
    return load_medmnist("pneumoniamnist", data_dir, size=size, download_missing=download_missing, timeout=timeout,
                         check_md5=check_md5)


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
    n, size, seed = check_positive_int(n, "n"), check_int(size, "size", low=16), check_seed(seed)
    lesion_fraction = check_probability(lesion_fraction, "lesion_fraction")
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
    if not classes <= check_int(n, "n") < len(labels):
        raise ValueError(f"n must be an int from {classes} (one per class) to {len(labels) - 1} "
                         f"(fewer than the {len(labels)} examples), got {n!r}")
    seed = check_seed(seed)
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
    chunk = check_positive_int(chunk, "chunk")
    train_norms = (b**2).sum(axis=1)  # (M,)
    nearest = np.empty(len(a))
    for start in range(0, len(a), int(chunk)):
        block = a[start:start + int(chunk)]
        squared = (block**2).sum(axis=1)[:, None] + train_norms[None, :] - 2 * block @ b.T  # (chunk, M)
        nearest[start:start + len(block)] = squared.min(axis=1)
    return np.sqrt(np.maximum(nearest, 0) / a.shape[1])
