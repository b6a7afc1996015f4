"""The hippocampus MRI data (cnncourse.hippocampus): reading, errors, the atomic download, the split, slices."""

import hashlib
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

nibabel = pytest.importorskip("nibabel")

from cnncourse import hippocampus  # noqa: E402

REAL = Path(os.environ.get("CNNCOURSE_DATA", "/nonexistent")) / hippocampus.DIRNAME


def write_nifti(path, array, spacing=(1.0, 1.0, 1.0)):
    image = nibabel.Nifti1Image(np.asarray(array), np.diag(list(spacing) + [1.0]))
    image.header.set_zooms(spacing)
    nibabel.save(image, str(path))


def make_task(root, n=6, shape=(6, 9, 7), spacing=(1.0, 1.5, 2.0), seed=0):
    """A tiny Task04 folder: n volumes with a box of label 1 and 2 of growing size."""
    rng = np.random.default_rng(seed)
    folder = Path(root) / hippocampus.DIRNAME
    (folder / "imagesTr").mkdir(parents=True)
    (folder / "labelsTr").mkdir()
    training = []
    for i in range(n):
        name = f"hippocampus_{i:03d}.nii.gz"
        image = rng.uniform(0, 100, size=shape).astype(np.float32)
        label = np.zeros(shape, np.uint8)
        label[1:3, 2:2 + 1 + i % 5, 2:5] = 1
        label[3:5, 2:2 + 1 + i % 5, 2:5] = 2
        write_nifti(folder / "imagesTr" / name, image, spacing)
        write_nifti(folder / "labelsTr" / name, label, spacing)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    (folder / "dataset.json").write_text(json.dumps({"name": "Hippocampus", "training": training}))
    return folder


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch, tmp_path):
    """No test sees another's volumes, the real data or the user's cache unless it asks."""
    monkeypatch.setattr(hippocampus, "_CACHE", {})
    monkeypatch.setattr(hippocampus, "CACHE_DIR", tmp_path / "no_cache")
    monkeypatch.delenv("CNNCOURSE_DATA", raising=False)


# ---------------------------------------------------------------- reading a local folder


def test_reads_a_local_folder_and_keeps_the_spacing(tmp_path):
    make_task(tmp_path)
    splits = hippocampus.load_hippocampus(tmp_path, download_missing=False)
    assert [len(splits[s]) for s in hippocampus.SPLITS] == [4, 1, 1]
    names = [v.name for s in hippocampus.SPLITS for v in splits[s]]
    assert sorted(names) == [f"hippocampus_{i:03d}" for i in range(6)]
    volume = splits["train"][0]
    assert volume.image.dtype == np.float32 and volume.label.dtype == np.uint8
    assert volume.image.shape == volume.label.shape == (6, 9, 7)
    assert volume.spacing == (1.0, 1.5, 2.0)
    assert volume.voxel_volume == 3.0
    assert volume.structure_volume() == 3.0 * (volume.label > 0).sum()
    assert volume.structure_volume(2) == 3.0 * (volume.label == 2).sum()


def test_finds_the_folder_through_the_environment(tmp_path, monkeypatch):
    folder = make_task(tmp_path)
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    assert hippocampus.find_hippocampus(download_missing=False) == folder
    assert hippocampus.find_hippocampus(folder, download_missing=False) == folder


def test_missing_folder_without_download_says_where_to_put_it(tmp_path):
    with pytest.raises(hippocampus.HippocampusError, match="Task04_Hippocampus.*not found.*CNNCOURSE_DATA"):
        hippocampus.find_hippocampus(tmp_path, download_missing=False)


# ---------------------------------------------------------------- bad files, each error names the file


def test_dataset_json_listing_a_missing_file(tmp_path):
    folder = make_task(tmp_path)
    (folder / "labelsTr" / "hippocampus_003.nii.gz").unlink()
    with pytest.raises(hippocampus.HippocampusError, match=r"dataset.json lists .*labelsTr/hippocampus_003.nii.gz"):
        hippocampus.load_hippocampus(tmp_path, download_missing=False)


def test_truncated_file(tmp_path):
    folder = make_task(tmp_path)
    path = folder / "imagesTr" / "hippocampus_002.nii.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(hippocampus.HippocampusError, match=r"hippocampus_002.nii.gz cannot be read.*truncated"):
        hippocampus.load_hippocampus(tmp_path, download_missing=False)


def test_missing_file_is_named():
    with pytest.raises(hippocampus.HippocampusError, match="nowhere.nii.gz is missing"):
        hippocampus.read_nifti("/tmp/nowhere.nii.gz")


def test_shape_mismatch(tmp_path):
    folder = make_task(tmp_path)
    write_nifti(folder / "labelsTr" / "hippocampus_001.nii.gz", np.zeros((6, 9, 8), np.uint8))
    with pytest.raises(hippocampus.HippocampusError, match=r"hippocampus_001.nii.gz has shape \(6, 9, 8\).*\(6, 9, 7\)"):
        hippocampus.load_hippocampus(tmp_path, download_missing=False)


def test_labels_outside_0_1_2(tmp_path):
    folder = make_task(tmp_path)
    label = np.zeros((6, 9, 7), np.uint8)
    label[0, 0, 0] = 3
    write_nifti(folder / "labelsTr" / "hippocampus_004.nii.gz", label)
    with pytest.raises(hippocampus.HippocampusError, match=r"hippocampus_004.nii.gz has label values \[0, 3\]"):
        hippocampus.load_hippocampus(tmp_path, download_missing=False)


def test_broken_dataset_json(tmp_path):
    folder = make_task(tmp_path)
    (folder / "dataset.json").write_text("{not json")
    with pytest.raises(hippocampus.HippocampusError, match="dataset.json is not a Decathlon dataset.json"):
        hippocampus.load_hippocampus(tmp_path, download_missing=False)


# ---------------------------------------------------------------- the atomic download (a local archive, file://)


def make_archive(tmp_path):
    source = tmp_path / "source"
    make_task(source)
    archive = tmp_path / "Task04_Hippocampus.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source / hippocampus.DIRNAME, arcname=hippocampus.DIRNAME)
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


def test_download_unpacks_into_place(tmp_path):
    archive, md5 = make_archive(tmp_path)
    root = tmp_path / "data"
    folder = hippocampus.download_task04(root, url=archive.as_uri(), md5=md5)
    assert folder == root / hippocampus.DIRNAME
    assert sorted(p.name for p in root.iterdir()) == [hippocampus.DIRNAME]   # no archive, no temporary folder
    assert len(hippocampus.read_all(folder)) == 6


def test_find_downloads_when_missing(tmp_path, monkeypatch):
    archive, md5 = make_archive(tmp_path)
    monkeypatch.setattr(hippocampus, "URL", archive.as_uri())
    monkeypatch.setattr(hippocampus, "MD5", md5)
    monkeypatch.setattr(hippocampus.download_task04, "__defaults__", (archive.as_uri(), md5, 60.0))
    root = tmp_path / "data"
    assert hippocampus.find_hippocampus(root) == root / hippocampus.DIRNAME


def test_wrong_md5_leaves_nothing(tmp_path):
    archive, _ = make_archive(tmp_path)
    root = tmp_path / "data"
    with pytest.raises(hippocampus.HippocampusError, match="MD5.*by hand"):
        hippocampus.download_task04(root, url=archive.as_uri(), md5="0" * 32)
    assert list(root.iterdir()) == []


def test_truncated_archive_leaves_nothing(tmp_path):
    archive, _ = make_archive(tmp_path)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    root = tmp_path / "data"
    with pytest.raises(hippocampus.HippocampusError):
        hippocampus.download_task04(root, url=cut.as_uri(), md5=hashlib.md5(cut.read_bytes()).hexdigest())
    assert list(root.iterdir()) == []


def test_interrupted_unpacking_leaves_nothing(tmp_path, monkeypatch):
    archive, md5 = make_archive(tmp_path)
    root = tmp_path / "data"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "extractall", interrupt)
    with pytest.raises(KeyboardInterrupt):
        hippocampus.download_task04(root, url=archive.as_uri(), md5=md5)
    assert list(root.iterdir()) == []


def test_unreachable_url_explains_what_to_do(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(hippocampus.HippocampusError, match="Could not download.*by hand.*9d24dba7"):
        hippocampus.download_task04(root, url=(tmp_path / "absent.tar").as_uri())
    assert list(root.iterdir()) == []


def test_refuses_to_overwrite(tmp_path):
    make_task(tmp_path)
    with pytest.raises(hippocampus.HippocampusError, match="already exists"):
        hippocampus.download_task04(tmp_path, url="file:///nowhere")


# ---------------------------------------------------------------- the split


def test_split_names_is_fixed_disjoint_and_stratified():
    names = [f"v{i:03d}" for i in range(260)]
    sizes = np.random.default_rng(1).uniform(1000, 5000, size=260)
    first, second = hippocampus.split_names(names, sizes), hippocampus.split_names(names, sizes)
    assert first == second
    assert [len(first[s]) for s in hippocampus.SPLITS] == [200, 30, 30]
    assert set(first["train"]) | set(first["val"]) | set(first["test"]) == set(names)
    assert not set(first["train"]) & set(first["val"]) and not set(first["val"]) & set(first["test"])
    size_of = dict(zip(names, sizes))
    # each tenth of the size range gives 3 volumes to validation and 3 to test
    deciles = np.quantile(sizes, np.linspace(0, 1, 11))
    for split in ("val", "test"):
        counts, _ = np.histogram([size_of[name] for name in first[split]], bins=deciles)
        assert counts.tolist() == [3] * 10
    assert hippocampus.split_names(names, sizes, seed=1) != first


def test_split_names_refuses_bad_counts():
    with pytest.raises(ValueError, match="sum to the number of volumes"):
        hippocampus.split_names(["a", "b"], [1, 2], split_sizes={"train": 1, "val": 0, "test": 0})
    with pytest.raises(ValueError, match="one entry per volume"):
        hippocampus.split_names(["a", "b"], [1])


# ---------------------------------------------------------------- slices and back


def test_pad_or_crop_round_trip():
    image = np.arange(5 * 8).reshape(5, 8)
    padded = hippocampus.pad_or_crop(image, (9, 6))          # pad rows, crop columns
    assert padded.shape == (9, 6)
    np.testing.assert_array_equal(padded[2:7], image[:, 1:7])
    back = hippocampus.undo_pad_or_crop(padded, (5, 8))
    np.testing.assert_array_equal(back[:, 1:7], image[:, 1:7])
    assert np.all(back[:, [0, 7]] == 0)
    with pytest.raises(ValueError, match="shape must be"):
        hippocampus.pad_or_crop(image, (0, 3))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slices_round_trip_with_context(tmp_path, axis):
    make_task(tmp_path)
    volumes = hippocampus.load_hippocampus(tmp_path, download_missing=False)["train"]
    x, y, index = hippocampus.volumes_to_slices(volumes, shape=(12, 12), axis=axis, context=1)
    assert x.shape == (sum(v.label.shape[axis] for v in volumes), 12, 12, 3) and x.dtype == np.float32
    assert y.shape == x.shape[:3] and index.shape == (len(x), 2)
    back = hippocampus.slices_to_volumes(y, index, [v.label.shape for v in volumes], axis=axis)
    for rebuilt, volume in zip(back, volumes):
        np.testing.assert_array_equal(rebuilt, volume.label)
    # the middle channel is the slice, the outer ones its neighbours (zeros beyond the ends)
    first = volumes[0]
    normalized = np.moveaxis(hippocampus.normalize_intensities(first.image), axis, 0)
    np.testing.assert_allclose(hippocampus.undo_pad_or_crop(x[1, ..., 1], normalized.shape[1:]), normalized[1])
    np.testing.assert_allclose(hippocampus.undo_pad_or_crop(x[1, ..., 0], normalized.shape[1:]), normalized[0])
    assert np.all(x[0, ..., 0] == 0)


def test_slice_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2"):
        hippocampus.volumes_to_slices([], axis=3)
    with pytest.raises(ValueError, match="context must be a non-negative int"):
        hippocampus.volumes_to_slices([], context=-1)
    with pytest.raises(ValueError, match=r"index must have shape \(2, 2\)"):
        hippocampus.slices_to_volumes(np.zeros((2, 4, 4)), np.zeros((3, 2)), [(2, 4, 4)])


# ---------------------------------------------------------------- the real data (skipped without it)

real = pytest.mark.skipif(not (REAL / "dataset.json").is_file(), reason="Task04_Hippocampus not in $CNNCOURSE_DATA")


@real
def test_real_split_is_by_volume_and_balanced():
    splits = hippocampus.load_hippocampus(REAL.parent, download_missing=False)
    assert [len(splits[s]) for s in hippocampus.SPLITS] == [200, 30, 30]
    names = {s: {v.name for v in splits[s]} for s in hippocampus.SPLITS}
    assert not names["train"] & names["val"] and not names["train"] & names["test"] and not names["val"] & names["test"]
    assert len(names["train"] | names["val"] | names["test"]) == 260
    # the documented split is fixed: these are its first validation and test volumes
    assert sorted(names["val"])[:2] == [v.name for v in splits["val"][:2]]
    means = {s: np.mean([v.structure_volume() for v in splits[s]]) for s in hippocampus.SPLITS}
    assert abs(means["val"] - means["train"]) < 0.05 * means["train"]
    assert abs(means["test"] - means["train"]) < 0.05 * means["train"]
    for volume in splits["val"]:
        assert volume.spacing == (1.0, 1.0, 1.0)
        assert set(np.unique(volume.label)) == {0, 1, 2}


@real
def test_real_slices_keep_every_label():
    from cnncourse.experiments.hippocampus import HIPPOCAMPUS_DEFAULTS

    splits = hippocampus.load_hippocampus(REAL.parent, download_missing=False)
    volumes = splits["val"] + splits["test"]
    _, y, index = hippocampus.volumes_to_slices(volumes, HIPPOCAMPUS_DEFAULTS["shape"], HIPPOCAMPUS_DEFAULTS["axis"])
    back = hippocampus.slices_to_volumes(y, index, [v.label.shape for v in volumes], HIPPOCAMPUS_DEFAULTS["axis"])
    for rebuilt, volume in zip(back, volumes):
        np.testing.assert_array_equal(rebuilt, volume.label)


# ---------------------------------------------------------------- the experiment (cnncourse.experiments.hippocampus)


def test_keep_largest_component():
    from cnncourse.experiments.hippocampus import keep_largest_component

    labels = np.zeros((6, 6, 6), np.uint8)
    labels[1:3, 1:3, 1:3] = 1
    labels[3, 1:3, 1:3] = 2          # touches the first blob: one component with two labels
    labels[5, 5, 5] = 2              # a detached voxel
    kept = keep_largest_component(labels)
    assert kept[5, 5, 5] == 0 and np.array_equal(kept[:5], labels[:5])
    assert np.array_equal(keep_largest_component(np.zeros((3, 3, 3), np.uint8)), np.zeros((3, 3, 3)))


def test_settings_are_checked():
    from cnncourse.experiments.hippocampus import train_unet

    with pytest.raises(ValueError, match="unknown settings"):
        train_unet([], epochs_total=3)
    with pytest.raises(ValueError, match="loss must be one of"):
        train_unet([], loss="mae")
    with pytest.raises(ValueError, match="empty_slices must be a fraction"):
        train_unet([], empty_slices=1.5)


@pytest.mark.slow
def test_empty_slices_keeps_the_slices_that_show_hippocampus(tmp_path):
    from cnncourse.experiments.hippocampus import train_unet

    volumes = hippocampus.read_all(make_task(tmp_path, n=3, shape=(8, 20, 12)))  # labels on slices 1-4 of 8
    small = {"filters": 2, "depth": 1, "epochs": 1, "batch_size": 8}
    _, everything = train_unet(volumes, **small)
    _, only_labelled = train_unet(volumes, empty_slices=0.0, **small)
    assert everything["slices"] == 8 * len(volumes)
    assert only_labelled["slices"] == 4 * len(volumes)


@pytest.mark.slow
def test_run_on_a_tiny_task(tmp_path, monkeypatch):
    from cnncourse.experiments.__main__ import main

    make_task(tmp_path, n=18, shape=(5, 20, 12))
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path))
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["hippocampus", "--seed", "0", "--epochs", "1"])
    assert code == 0
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["experiment"] == "hippocampus" and result["train_volumes"] == 14
    for split in ("val", "test"):
        for structure in ("anterior", "posterior", "hippocampus"):
            summary = result[split][structure]
            assert 0.0 <= summary["dice"] <= 1.0 and np.isfinite(summary["hd95"])
            assert len(summary["volume_loa"]) == 2 and summary["volume_loa"][0] <= summary["volume_loa"][1]
    assert result["train_seconds"] > 0 and result["params"] > 0


def test_unet_batch_norm_option():
    from cnncourse.models import unet

    plain = unet("keras", (16, 8, 3), num_classes=3, filters=4, depth=2, seed=0)
    normed = unet("keras", (16, 8, 3), num_classes=3, filters=4, depth=2, seed=0, batch_norm=True)
    kinds = [type(layer).__name__ for layer in normed.layers]
    assert kinds.count("BatchNormalization") == 2 * (2 * 2 + 1) and "BatchNormalization" not in {
        type(layer).__name__ for layer in plain.layers}
    assert normed.output_shape == plain.output_shape == (None, 16, 8, 3)
    with pytest.raises(ValueError, match="Keras engine only"):
        unet("scratch", (16, 8, 3), num_classes=3, filters=4, depth=2, batch_norm=True)
