"""The MedMNIST loader: every shipped file, its info table, broken files, and downloads from a local server."""

import dataclasses
import hashlib
import http.server
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnncourse import data
from cnncourse.data import DataError, load_medmnist, medmnist_info

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
README = SHARED / "README.md"
# (name, size) -> (train, val, test) class counts, from ../shared/data/README.md
COUNTS = {
    "pneumoniamnist": ([1214, 3494], [135, 389], [234, 390]),
    "breastmnist": ([147, 399], [21, 57], [42, 114]),
    "retinamnist": ([486, 128, 206, 194, 66], [54, 12, 28, 20, 6], [174, 46, 92, 68, 20]),
    "adrenalmnist3d": ([929, 259], [76, 22], [229, 69]),
    "vesselmnist3d": ([1185, 150], [169, 22], [339, 43]),
}
REAL = [(name, 28) for name in COUNTS] + [("adrenalmnist3d", 64)]


def _needs(name, size=28):
    filename = data.medmnist_info(name).filename(size)
    return pytest.mark.skipif(not (SHARED / filename).exists(), reason=f"no local {filename}")


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $CNNCOURSE_DATA, an empty cache, MD5 checks on."""
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)
    monkeypatch.delenv(data.SKIP_MD5_ENV, raising=False)
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    return tmp_path


def _arrays(name, n=4, size=28, labels=None, image_shape=None):
    info = medmnist_info(name)
    shape = image_shape or info.image_shape(size)
    rng = np.random.default_rng(0)
    arrays = {}
    for split in data.SPLITS:
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % info.num_classes if labels is None else labels).astype(np.uint8)[:, None]
    return arrays


def _write(folder, name, arrays, size=28):
    path = Path(folder) / medmnist_info(name).filename(size)
    np.savez(path, **arrays)
    return path


# ---- the info table ----


def test_info_table_matches_the_readme_and_info_py():
    text = README.read_text() if README.exists() else ""
    for name, info in data.MEDMNIST.items():
        assert info.task in data.TASKS and info.dims in (2, 3) and info.channels in (1, 3)
        assert info.sizes == ((28, 64, 128, 224) if info.dims == 2 else (28, 64))
        assert info.url(64) == f"https://zenodo.org/records/10519652/files/{name}_64.npz?download=1"
        assert data.medmnist_file(name) == (f"{name}.npz", info.url(28), info.md5[28])
        assert all(re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in info.md5.values())
        assert len(set(info.md5.values())) == len(info.md5)
        assert info.num_classes == len(COUNTS[name][0])
        assert sum(map(sum, COUNTS[name])) == sum(info.n_samples)
        if text:  # the README's table row for the 28 px file gives the same MD5
            row = next(line for line in text.splitlines() if line.startswith(f"| `{name}.npz`"))
            assert info.md5[28] in row
    assert medmnist_info("retinamnist").task == "ordinal" and medmnist_info("retinamnist").image_shape(64) == (64, 64, 3)
    assert medmnist_info("vesselmnist3d").image_shape(64) == (64, 64, 64)
    assert medmnist_info("BreastMNIST").labels == ("malignant", "normal, benign")
    assert data.official_file(224) == data.medmnist_file("pneumoniamnist", 224)


@pytest.mark.parametrize("name, error, words", [
    ("dermamnist", ValueError, "name must be one of"),
    (3, TypeError, "name must be a MedMNIST data set name"),
])
def test_unknown_names_are_refused(name, error, words):
    with pytest.raises(error, match=words):
        medmnist_info(name)


def test_sizes_follow_the_data_set():
    with pytest.raises(ValueError, match=r"size must be one of \(28, 64\) \(the MedMNIST\+ volume sides of adrenal"):
        load_medmnist("adrenalmnist3d", size=128)
    with pytest.raises(TypeError, match="check_md5 must be True or False"):
        load_medmnist("breastmnist", check_md5="no")


# ---- the real files ----


@pytest.mark.parametrize("name, size", REAL)
def test_real_files_load_with_official_splits(name, size):
    if not (SHARED / medmnist_info(name).filename(size)).exists():
        pytest.skip("no local copy")
    info = medmnist_info(name)
    assert data.md5sum(SHARED / info.filename(size)) == info.md5[size]
    splits = load_medmnist(name, SHARED, size=size)
    for (images, labels), count, n in zip(splits, COUNTS[name], info.n_samples):
        assert images.shape == (n, *info.image_shape(size)) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert np.bincount(labels, minlength=info.num_classes).tolist() == count
        assert images.flags.c_contiguous and images.max() > 0


@_needs("breastmnist")
def test_wrong_md5_names_both_sums_and_the_opt_out(no_env, monkeypatch):
    arrays = dict(np.load(SHARED / "breastmnist.npz", allow_pickle=False))
    arrays["train_images"] = arrays["train_images"].copy()
    arrays["train_images"][0, 0, 0] ^= 1  # one pixel changed: the structure is fine, the bytes are not official
    path = _write(no_env, "breastmnist", arrays)
    actual = data.md5sum(path)
    with pytest.raises(DataError) as info:
        load_medmnist("breastmnist", no_env)
    message = str(info.value)
    for words in (actual, "750601b1f35ba3300ea97c75c52ff8f6", "check_md5=False", "CNNCOURSE_SKIP_MD5=1", str(path)):
        assert words in message
    (x_train, _), _, _ = load_medmnist("breastmnist", no_env, check_md5=False)
    assert x_train[0, 0, 0] == arrays["train_images"][0, 0, 0]
    monkeypatch.setenv(data.SKIP_MD5_ENV, "1")
    assert load_medmnist("breastmnist", no_env)[0][0].shape == (546, 28, 28)


@pytest.mark.parametrize("name, arrays, words", [
    ("adrenalmnist3d", _arrays("breastmnist"), r"\(N, 28, 28, 28\), got \(4, 28, 28\): this is a 2-D image file"),
    ("adrenalmnist3d", _arrays("retinamnist"), r"got \(4, 28, 28, 3\): this is a 2-D image file"),
    ("breastmnist", _arrays("vesselmnist3d"), r"\(N, 28, 28\), got \(4, 28, 28, 28\): this is a 3-D volume file"),
    ("retinamnist", _arrays("breastmnist"), r"train_images should have shape \(N, 28, 28, 3\), got \(4, 28, 28\)"),
    ("breastmnist", _arrays("breastmnist", size=64), r"should have shape \(N, 28, 28\), got \(4, 64, 64\)"),
    ("retinamnist", _arrays("retinamnist", labels=np.array([0, 4, 5, 2])), r"should be integers 0..4, found \[5\]"),
    ("vesselmnist3d", _arrays("vesselmnist3d", labels=np.array([0, 1, 2, 1])), r"should be 0 or 1, found \[2\]"),
])
def test_broken_files_are_clear_errors_whatever_the_md5(no_env, name, arrays, words):
    path = _write(no_env, name, arrays)
    with pytest.raises(DataError, match=words) as info:
        load_medmnist(name, no_env)  # structure is checked before (and independently of) the MD5
    assert str(path) in str(info.value)


def test_a_fake_file_with_the_right_structure_loads_without_md5_check(no_env):
    _write(no_env, "retinamnist", _arrays("retinamnist", n=5))
    with pytest.raises(DataError, match="has MD5"):
        load_medmnist("retinamnist", no_env)
    (x, y), _, _ = load_medmnist("retinamnist", no_env, check_md5=False)
    assert x.shape == (5, 28, 28, 3) and y.tolist() == [0, 1, 2, 3, 4]


# ---- archives built to break the loader (issue 24) ----


def _zip(path, members):
    """Write ``{name: array or bytes}`` as a zip; a name may repeat when ``members`` is a list of pairs."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in (members.items() if isinstance(members, dict) else members):
            if isinstance(value, np.ndarray):
                buffer = io.BytesIO()
                np.save(buffer, value)
                value = buffer.getvalue()
            with pytest.warns(UserWarning, match="Duplicate name") if name in archive.namelist() else _nothing():
                archive.writestr(name, value)
    return path


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _members(arrays):
    return [(key + ".npy", value) for key, value in arrays.items()]


def test_duplicate_members_are_refused(no_env):
    arrays = _arrays("breastmnist")
    members = _members(arrays) + [("train_images.npy", np.zeros((4, 28, 28), np.uint8))]
    path = _zip(no_env / "breastmnist.npz", members)
    with pytest.raises(DataError, match=r"holds \['train_images.npy'\] more than once") as info:
        load_medmnist("breastmnist", no_env, check_md5=False)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("size, words", [
    (224, r"train_images claims shape \(999999, 224, 224\) \(50,175,949,824 bytes\) but its member holds only"),
    (28, r"train_images claims shape \(999999, 224, 224\)"),
])
def test_a_huge_header_is_refused_before_anything_is_allocated(no_env, size, words):
    import tracemalloc

    arrays = _arrays("breastmnist", size=size)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (999999, 224, 224)})
    members = [(k, v) for k, v in _members(arrays) if k != "train_images.npy"]
    path = _zip(no_env / medmnist_info("breastmnist").filename(size),
                members + [("train_images.npy", header.getvalue() + b"\0" * 1024)])
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=words) as info:
            load_medmnist("breastmnist", no_env, size=size, check_md5=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value) and peak < 20e6


def test_only_the_six_members_used_are_read(no_env, monkeypatch):
    # A stand-in for a 768 MB zero-filled extra member: 8 MB of zeros, deflated to a few kB.
    arrays = _arrays("vesselmnist3d")
    path = no_env / "vesselmnist3d.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in _members(arrays):
            buffer = io.BytesIO()
            np.save(buffer, value)
            archive.writestr(key, buffer.getvalue())
        archive.writestr("extra.npy", b"\0" * (8 << 20))
    assert path.stat().st_size < 1 << 20
    opened = []
    original = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    (x, _), _, _ = load_medmnist("vesselmnist3d", no_env, check_md5=False)
    assert x.shape == (4, 28, 28, 28)
    assert "extra.npy" not in opened and set(opened) == {key for key, _ in _members(arrays)}


def test_cnncourse_data_naming_the_file_itself_is_a_helpful_error(no_env, monkeypatch):
    path = _write(no_env, "breastmnist", _arrays("breastmnist"))
    monkeypatch.setenv("CNNCOURSE_DATA", str(path))

    def no_download(*args, **kwargs):
        raise AssertionError("must not download")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_download)
    for download_missing in (True, False):
        with pytest.raises(DataError, match="names a file, not a folder") as info:
            load_medmnist("breastmnist", download_missing=download_missing)
        assert f"CNNCOURSE_DATA='{no_env}'" in str(info.value)


def test_an_unreadable_file_is_not_called_corrupt(no_env, monkeypatch):
    path = _write(no_env, "breastmnist", _arrays("breastmnist"))
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make open() fail as it would for a user
        def refuse(file, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(file))

        monkeypatch.setattr(data, "open", refuse, raising=False)
    try:
        with pytest.raises(DataError, match="permission denied") as info:
            load_medmnist("breastmnist", no_env, check_md5=False)
    finally:
        path.chmod(0o644)
    assert "not a zip" not in str(info.value) and "Delete" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_under_the_data_name_does_not_block(no_env):
    os.mkfifo(no_env / "breastmnist.npz")
    with pytest.raises(DataError, match="not a regular file"):
        load_medmnist("breastmnist", no_env, download_missing=False)
    with pytest.raises(DataError, match="not a regular file"):
        data.read_medmnist_file(no_env / "breastmnist.npz", "breastmnist")


def test_arrays_larger_than_the_free_memory_are_refused_before_loading(no_env, monkeypatch):
    assert data.available_memory() > 10**8  # the real measure (Linux: MemAvailable)
    path = _write(no_env, "breastmnist", _arrays("breastmnist", n=40))
    monkeypatch.setattr(data, "available_memory", lambda: 50_000)  # 0.05 MB free; the arrays need 0.09 MB
    with pytest.raises(DataError, match=r"need 94,2\d\d bytes \(0.0 GB\) of memory, but only 50,000 bytes") as info:
        load_medmnist("breastmnist", no_env, check_md5=False)
    assert str(path) in str(info.value)
    monkeypatch.setattr(data, "available_memory", lambda: None)  # unknown: no check
    assert load_medmnist("breastmnist", no_env, check_md5=False)[0][0].shape == (40, 28, 28)


def test_a_folder_under_the_data_name_is_not_missing(no_env):
    (no_env / "breastmnist.npz").mkdir()
    with pytest.raises(DataError, match="is a folder, not a data file"):
        load_medmnist("breastmnist", no_env)


# ---- downloads from a server on 127.0.0.1 ----


class _Server:
    """A local HTTP server: ``payload`` served whole, dripped, or headers only."""

    def __init__(self, payload=b"", drip=None, silent=False):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()
                try:
                    if outer.silent:
                        outer.stop.wait(10)
                    elif outer.drip is None:
                        self.wfile.write(outer.payload)
                    else:
                        for byte in outer.payload:
                            if outer.stop.wait(outer.drip):
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.payload, self.drip, self.silent, self.requests = payload, drip, silent, []
        self.stop = threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


@_needs("breastmnist")
def test_download_from_a_server_is_checked_atomic_and_loads(no_env, monkeypatch):
    payload = (SHARED / "breastmnist.npz").read_bytes()
    with _Server(payload) as server:
        monkeypatch.setattr(data, "ZENODO_URL", server.url + "/{filename}")
        target_dir = no_env / "here"
        target_dir.mkdir()
        (x_train, _), _, _ = load_medmnist("breastmnist", target_dir, timeout=5)
        assert server.requests == ["/breastmnist.npz"]
    assert x_train.shape == (546, 28, 28)
    assert [p.name for p in target_dir.iterdir()] == ["breastmnist.npz"] and not data.CACHE_DIR.exists()
    assert data.md5sum(target_dir / "breastmnist.npz") == medmnist_info("breastmnist").md5[28]


def test_download_of_the_wrong_bytes_leaves_nothing_and_says_where_to_put_the_file(no_env, monkeypatch):
    with _Server(b"not the official file") as server:
        monkeypatch.setattr(data, "ZENODO_URL", server.url + "/{filename}")
        with pytest.raises(DataError) as info:
            load_medmnist("vesselmnist3d", timeout=5)
    message = str(info.value)
    assert "expected b41fd4f7e7e2feedddb201585ecafa1b" in message and "save it as" in message
    assert "CNNCOURSE_DATA" in message and list(data.CACHE_DIR.iterdir()) == []


@pytest.mark.parametrize("server_kwargs", [{"drip": 0.1}, {"silent": True}])
def test_the_deadline_holds_within_reads(no_env, server_kwargs):
    with _Server(b"x" * 40, **server_kwargs) as server:
        start = time.monotonic()
        with pytest.raises(DataError, match=r"longer than 1 s in all") as info:
            data.download(server.url + "/slow.bin", no_env / "out" / "slow.bin", timeout=30, deadline=1.0)
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 3.0, elapsed  # 40 bytes at 0.1 s each would take 4 s; a silent server, 30 s
    assert "save it as" in str(info.value) and list((no_env / "out").iterdir()) == []


_CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a child of a background job inherits SIGINT ignored
from cnncourse import data
data.download(sys.argv[1], sys.argv[2], timeout=30, deadline=60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_download_removes_the_part_file(no_env, signum):
    folder = no_env / "out"
    folder.mkdir()
    with _Server(b"x" * 400, drip=0.05) as server:
        child = subprocess.Popen([sys.executable, "-c", _CHILD, server.url + "/f.bin", str(folder / "f.bin")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while not list(folder.glob("*.part")) and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.05)
            assert list(folder.glob("*.part")), "the download never started"
            time.sleep(0.3)
            child.send_signal(signum)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    if signum == signal.SIGTERM:
        assert child.returncode == -signal.SIGTERM  # still terminated by the signal, as without the handler
    else:
        assert child.returncode != 0 and b"KeyboardInterrupt" in child.stderr.read()
    assert list(folder.iterdir()) == []
