"""The data module: PneumoniaMNIST loading (local, validated, downloaded) and phantoms."""

import hashlib
import os
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from cnncourse import data
from cnncourse.data import DataError, load_pneumoniamnist, synthetic_lesions

SHARED = Path(os.environ.get("CNNCOURSE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
OFFICIAL_SIZES = {"train": 4708, "val": 524, "test": 624}


def _fake_arrays(n=6, **overrides):
    rng = np.random.default_rng(0)
    arrays = {}
    for split in data.SPLITS:
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, 1)).astype(np.uint8)
    arrays.update(overrides)
    return arrays


def _write(folder, arrays):
    path = Path(folder) / data.FILENAME
    np.savez(path, **arrays)
    return path


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No $CNNCOURSE_DATA and an empty cache, so only data_dir counts; MD5 checks off for the fake files."""
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)
    monkeypatch.setenv(data.SKIP_MD5_ENV, "1")
    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")
    return tmp_path


@pytest.mark.skipif(not (SHARED / data.FILENAME).exists(), reason="no local PneumoniaMNIST copy")
def test_real_file_has_official_splits():
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_pneumoniamnist(SHARED)
    assert x_train.shape == (OFFICIAL_SIZES["train"], 28, 28)
    assert np.bincount(y_train).tolist() == [1214, 3494] and np.bincount(y_val).tolist() == [135, 389]
    assert x_val.shape == (OFFICIAL_SIZES["val"], 28, 28)
    assert x_test.shape == (OFFICIAL_SIZES["test"], 28, 28)
    for x, y in ((x_train, y_train), (x_val, y_val), (x_test, y_test)):
        assert x.dtype == np.uint8 and y.ndim == 1 and y.dtype == np.int64
        assert set(np.unique(y)) == {0, 1}
    assert np.bincount(y_test).tolist() == [234, 390]


def test_lookup_order_prefers_data_dir(no_env, monkeypatch, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    _write(first, _fake_arrays(n=3))
    _write(second, _fake_arrays(n=5))
    monkeypatch.setenv("CNNCOURSE_DATA", str(second))
    assert load_pneumoniamnist(first)[0][0].shape[0] == 3
    assert load_pneumoniamnist()[0][0].shape[0] == 5  # env var next


def test_cache_dir_is_last(no_env):
    cache = data.CACHE_DIR
    cache.mkdir(parents=True)
    _write(cache, _fake_arrays(n=4))
    assert load_pneumoniamnist()[2][0].shape[0] == 4


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"val_images": np.zeros((6, 32, 32), np.uint8)}, r"val_images should have shape \(N, 28, 28\), got \(6, 32, 32\)"),
        ({"test_images": np.zeros((6, 28, 28), np.float32)}, r"test_images should have dtype uint8, got float32"),
        ({"train_labels": np.full((6, 1), 3, np.uint8)}, r"train_labels should be 0 or 1, found \[3\]"),
        ({"train_labels": np.zeros((4, 1), np.uint8)}, r"one label per image \(6\), got shape \(4, 1\)"),
    ],
)
def test_wrong_structure_is_a_clear_error(no_env, overrides, message):
    _write(no_env, _fake_arrays(**overrides))
    with pytest.raises(DataError, match=message):
        load_pneumoniamnist(no_env)


def test_missing_key(no_env):
    arrays = _fake_arrays()
    del arrays["test_labels"]
    _write(no_env, arrays)
    with pytest.raises(DataError, match="missing key 'test_labels'"):
        load_pneumoniamnist(no_env)


def test_corrupt_npz(no_env):
    (no_env / data.FILENAME).write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_pneumoniamnist(no_env)


def test_pickled_object_arrays_are_refused(no_env):
    arrays = _fake_arrays()
    arrays["train_labels"] = np.array([[0], [1], [0], [1], [0], [1]], dtype=object)
    _write(no_env, arrays)
    with pytest.raises(DataError, match="train_labels holds Python objects"):
        load_pneumoniamnist(no_env)


class _FakeResponse:
    def __init__(self, payload):
        self.payload, self.headers = payload, {"Content-Length": str(len(payload))}

    def __enter__(self):
        import io

        self.stream = io.BytesIO(self.payload)
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size=-1):
        return self.stream.read(size)


def _npz_bytes(tmp_path):
    path = _write(tmp_path, _fake_arrays())
    payload = path.read_bytes()
    path.unlink()
    return payload


def test_download_checks_md5_and_renames(no_env, monkeypatch):
    import dataclasses
    import types

    payload = _npz_bytes(no_env)
    info = data.MEDMNIST["pneumoniamnist"]
    table = dict(data.MEDMNIST, pneumoniamnist=dataclasses.replace(info, md5={28: hashlib.md5(payload).hexdigest()}))
    monkeypatch.setattr(data, "MEDMNIST", types.MappingProxyType(table))
    monkeypatch.delenv(data.SKIP_MD5_ENV)  # the downloaded file's MD5 is checked, and again when it is read
    calls = []
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: calls.append(timeout) or _FakeResponse(payload))
    splits = load_pneumoniamnist(timeout=5)
    assert calls == [5]
    assert splits[0][0].shape == (6, 28, 28)
    assert sorted(p.name for p in data.CACHE_DIR.iterdir()) == [data.FILENAME]


def test_download_with_wrong_md5_leaves_nothing(no_env, monkeypatch):
    payload = _npz_bytes(no_env)
    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: _FakeResponse(payload))
    with pytest.raises(DataError, match=r"MD5 .* expected 28209eda62fecd6e6a2d98b1501bb15f.*save it as"):
        load_pneumoniamnist()
    assert list(data.CACHE_DIR.iterdir()) == []


def test_failed_download_explains_manual_steps(no_env, monkeypatch):
    def refuse(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(data.urllib.request, "urlopen", refuse)
    with pytest.raises(DataError) as info:
        load_pneumoniamnist()
    message = str(info.value)
    assert "no network" in message and "CNNCOURSE_DATA" in message and data.URL in message
    assert list(data.CACHE_DIR.iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(no_env, monkeypatch):
    class Broken(_FakeResponse):
        def read(self, size=-1):
            if self.stream.tell() > 10:
                raise ConnectionResetError("connection reset")
            return self.stream.read(11)

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Broken(b"x" * 1000))
    with pytest.raises(DataError, match="connection reset"):
        load_pneumoniamnist()
    assert list(data.CACHE_DIR.iterdir()) == []


def test_no_download_when_disallowed(no_env):
    with pytest.raises(DataError, match="not found in"):
        load_pneumoniamnist(download_missing=False)


def test_synthetic_lesions_are_deterministic_and_consistent():
    images, labels, masks = synthetic_lesions(40, size=28, seed=3)
    again = synthetic_lesions(40, size=28, seed=3)
    assert images.shape == (40, 28, 28) and images.dtype == np.float32
    assert labels.shape == (40,) and masks.shape == (40, 28, 28) and masks.dtype == bool
    assert np.array_equal(images, again[0]) and np.array_equal(masks, again[2])
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert 5 < labels.sum() < 35
    assert all(masks[i].any() == bool(labels[i]) for i in range(40))
    # The lesion is brighter than the lung around it.
    lesion = images[labels == 1][masks[labels == 1]].mean()
    assert lesion > images[labels == 0].mean()
    assert not np.array_equal(images, synthetic_lesions(40, seed=4)[0])


@pytest.mark.parametrize("kwargs, message", [({"n": 0}, "n must be a positive int, got 0"), ({"n": 2, "size": 8}, "size must be an int >= 16"),
                                             ({"n": 2, "seed": -1}, r"seed must be an int in \[0, 2\*\*32\)"),
                                             ({"n": 2, "lesion_fraction": 1.5}, r"lesion_fraction must be in \[0, 1\]")])
def test_synthetic_lesions_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_lesions(**kwargs)


# An explicit data_dir is authoritative, and files are checked before their arrays are loaded.

def test_explicit_data_dir_never_falls_back(no_env, monkeypatch, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    _write(other, _fake_arrays(n=5))
    monkeypatch.setenv("CNNCOURSE_DATA", str(other))
    with pytest.raises(data.DataError, match=r"data_dir '.*no_such' does not exist"):
        load_pneumoniamnist(tmp_path / "no_such")
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    with pytest.raises(data.DataError, match="is a file, not a folder"):
        load_pneumoniamnist(a_file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(data.DataError, match=r"not found in data_dir '.*empty'"):
        load_pneumoniamnist(empty, download_missing=False)


def test_cli_rejects_a_missing_data_dir(tmp_path, capsys):
    from cnncourse.experiments.__main__ import main

    assert main(["pneumonia", "--engine", "scratch", "--data-dir", str(tmp_path / "nowhere"), "--subset", "8"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_npy_under_the_npz_name_is_a_clear_error(no_env, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 28, 28), np.uint8))
    (tmp_path / "x.npy").rename(tmp_path / data.FILENAME)
    with pytest.raises(data.DataError, match="not a zip archive"):
        load_pneumoniamnist(tmp_path)


def test_huge_header_is_refused_before_loading(no_env, tmp_path):
    import io
    import zipfile

    arrays = _fake_arrays(n=3)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (10**9, 28, 28)})
    path = tmp_path / data.FILENAME
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in arrays.items():
            if key != "train_images":
                member = io.BytesIO()
                np.save(member, value)
                archive.writestr(key + ".npy", member.getvalue())
        archive.writestr("train_images.npy", buffer.getvalue() + b"\0" * 64)
    with pytest.raises(data.DataError, match=r"train_images claims shape \(1000000000, 28, 28\)"):
        load_pneumoniamnist(tmp_path)


def test_truncated_body_is_refused_even_without_md5(no_env, monkeypatch):
    class Short(_FakeResponse):
        def __init__(self, payload):
            super().__init__(payload)
            self.headers = {"Content-Length": "100000"}

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Short(b"x" * 500))
    target = no_env / "out" / "file.bin"
    with pytest.raises(DataError, match="sent 500 bytes but promised 100,000"):
        data.download("http://127.0.0.1/file", target, md5=None)
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_download_has_an_overall_deadline(no_env, monkeypatch):
    import time

    class Trickle(_FakeResponse):
        def read(self, size=-1):
            time.sleep(0.05)
            return self.stream.read(1)

    monkeypatch.setattr(data.urllib.request, "urlopen", lambda url, timeout: Trickle(b"x" * 1000))
    start = time.perf_counter()
    with pytest.raises(DataError, match=r"longer than 0.3 s in all"):
        data.download("http://127.0.0.1/file", no_env / "slow.bin", timeout=1, deadline=0.3)
    assert time.perf_counter() - start < 2


def test_download_into_a_file_path_is_a_clear_error(no_env):
    blocker = no_env / "blocker"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="a file of that name is in the way"):
        data.download("http://127.0.0.1/file", blocker / "file.bin")


@pytest.mark.parametrize("overrides, message", [
    ({"train_labels": np.zeros((3, 2), np.uint8)}, r"one label per image \(6\), got shape \(3, 2\)"),
    ({"test_images": np.zeros((0, 28, 28), np.uint8), "test_labels": np.zeros((0, 1), np.uint8)}, "the test split is empty"),
])
def test_label_layout_and_empty_splits_are_refused(no_env, overrides, message):
    _write(no_env, _fake_arrays(**overrides))
    with pytest.raises(DataError, match=message):
        load_pneumoniamnist(no_env)


# MedMNIST+ sizes: same lookup, validation and atomic download, with the official names and MD5s.

def test_official_files_per_size():
    assert data.official_file(28) == (data.FILENAME, data.URL, data.MD5)
    name, url, md5 = data.official_file(224)
    assert name == "pneumoniamnist_224.npz" and url.endswith("/pneumoniamnist_224.npz?download=1")
    assert md5 == "d6a3c71de1b945ea11211b03746c1fe1" and data.official_file(64)[2] == "8f4eceb4ccffa70c672198ea285246c6"
    for bad in (32, "64", 64.0, True):
        with pytest.raises(ValueError, match=r"size must be one of \(28, 64, 128, 224\)"):
            data.official_file(bad)


def test_larger_sizes_load_from_their_own_file(no_env):
    rng = np.random.default_rng(0)
    arrays = {f"{split}_{kind}": (rng.integers(0, 256, (4, 64, 64), dtype=np.uint8) if kind == "images"
                                  else np.array([[0], [1], [0], [1]], np.uint8))
              for split in data.SPLITS for kind in ("images", "labels")}
    np.savez(no_env / "pneumoniamnist_64.npz", **arrays)
    _write(no_env, _fake_arrays(n=3))  # the 28 px file beside it is not mistaken for it
    (x_train, _), _, _ = load_pneumoniamnist(no_env, size=64)
    assert x_train.shape == (4, 64, 64)
    assert load_pneumoniamnist(no_env)[0][0].shape == (3, 28, 28)
    (no_env / "pneumoniamnist_128.npz").write_bytes((no_env / "pneumoniamnist_64.npz").read_bytes())
    with pytest.raises(DataError, match=r"train_images should have shape \(N, 128, 128\), got \(4, 64, 64\)"):
        load_pneumoniamnist(no_env, size=128)


def test_larger_size_downloads_its_own_url(no_env, monkeypatch):
    urls = []

    def refuse(url, timeout):
        urls.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(data.urllib.request, "urlopen", refuse)
    with pytest.raises(DataError) as info:
        load_pneumoniamnist(size=224)
    assert urls == [data.official_file(224)[1]]
    assert "pneumoniamnist_224.npz" in str(info.value) and "d6a3c71de1b945ea11211b03746c1fe1" in str(info.value)
    assert list(data.CACHE_DIR.iterdir()) == []


# ---- to_float_images and stratified_subset: the chapters' shared helpers ----


def test_to_float_images_scales_and_adds_a_channel():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)  # (1, 2, 2)
    out = data.to_float_images(images)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)


def test_to_float_images_accepts_other_integer_dtypes_in_range():
    out = data.to_float_images(np.full((2, 3, 3), 255, dtype=np.int64))
    assert out.shape == (2, 3, 3, 1) and out.dtype == np.float32 and np.all(out == 1.0)


def test_to_float_images_keeps_its_input():
    images = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    before = images.copy()
    data.to_float_images(images)
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize(
    "images, error, words",
    [
        (np.zeros((2, 3, 3), np.float32), TypeError, "dtype float32"),
        (np.zeros((2, 3, 3), bool), TypeError, "dtype bool"),
        (np.zeros((3, 3), np.uint8), ValueError, "image[np.newaxis]"),
        (np.zeros((2, 3, 3, 1), np.uint8), ValueError, "(N, H, W)"),
        (np.full((1, 2, 2), 256, np.int64), ValueError, "0..255"),
        (np.full((1, 2, 2), -1, np.int64), ValueError, "0..255"),
    ],
)
def test_to_float_images_rejects_bad_input(images, error, words):
    with pytest.raises(error, match="images") as info:
        data.to_float_images(images)
    assert words in str(info.value)


def _balanced_labels(n_normal=30, n_pneumonia=70):
    return np.array([0] * n_normal + [1] * n_pneumonia, dtype=np.int64)


def test_stratified_subset_keeps_balance_order_and_rows():
    labels = _balanced_labels()
    images = np.arange(len(labels) * 4).reshape(len(labels), 2, 2)
    small_images, small_labels = data.stratified_subset(images, labels, 20, seed=0)
    assert small_images.shape == (20, 2, 2) and small_labels.shape == (20,)
    assert np.bincount(small_labels).tolist() == [6, 14]  # 30 % / 70 %, as in the whole
    rows = small_images[:, 0, 0] // 4  # each image's first pixel names its row
    assert np.all(np.diff(rows) > 0)  # sorted: the split's order
    np.testing.assert_array_equal(labels[rows], small_labels)


def test_stratified_subset_is_reproducible_and_seeded():
    labels = _balanced_labels()
    images = np.arange(len(labels))
    first = data.stratified_subset(images, labels, 20, seed=3)[0]
    np.testing.assert_array_equal(first, data.stratified_subset(images, labels, 20, seed=3)[0])
    assert not np.array_equal(first, data.stratified_subset(images, labels, 20, seed=4)[0])


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"n": 100}, "n must be"),
        ({"n": 1}, "n must be"),
        ({"n": 2.5}, "n must be"),
        ({"n": True}, "n must be"),
        ({"n": 10, "seed": -1}, "seed must be"),
        ({"n": 10, "labels": np.zeros(100)}, "labels must be"),
        ({"n": 10, "images": np.zeros(99)}, "images must have one row per label"),
    ],
)
def test_stratified_subset_rejects_bad_input(kwargs, words):
    arguments = {"images": np.zeros(100), "labels": _balanced_labels()} | kwargs
    # a non-integer n or seed is a TypeError, an out-of-range one a ValueError (cnncourse.checks)
    error = TypeError if isinstance(kwargs.get("n"), (bool, float)) else ValueError
    with pytest.raises(error, match=words):
        data.stratified_subset(**arguments)


def test_nearest_train_distance_finds_copies_and_measures_rms():
    from cnncourse.data import nearest_train_distance

    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    shifted = train[7].astype(np.int16) + 10  # every pixel 10 grey levels brighter (no clipping below 246)
    shifted = np.clip(shifted, 0, 255)
    images = np.stack([train[3], train[41], shifted.astype(np.uint8)])
    distances = nearest_train_distance(images, train, chunk=2)
    assert distances.shape == (3,) and distances[0] < 1e-6 and distances[1] < 1e-6  # exact copies, up to rounding
    expected = np.sqrt(np.mean(((shifted - train[7].astype(np.int16)) / 255.0) ** 2))
    assert distances[2] == pytest.approx(expected, rel=1e-9)
    # floats in [0, 1] with a channel axis give the same distances as uint8 pixels
    as_float = nearest_train_distance(images[..., None] / 255.0, train[..., None] / 255.0)
    np.testing.assert_allclose(as_float, distances, atol=1e-12)


@pytest.mark.parametrize(
    "images, train, match",
    [
        (np.zeros((2, 28, 28)), np.zeros((3, 14, 14)), "same image size"),
        (np.full((2, 28, 28), np.nan), np.zeros((3, 28, 28)), "NaN"),
        (np.zeros((0, 28, 28)), np.zeros((3, 28, 28)), "non-empty"),
        (np.array(["a", "b"]).reshape(2, 1), np.zeros((3, 1)), "numbers"),
    ],
)
def test_nearest_train_distance_rejects_bad_input(images, train, match):
    from cnncourse.data import nearest_train_distance

    with pytest.raises((ValueError, TypeError), match=match):
        nearest_train_distance(images, train)
