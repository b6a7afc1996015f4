"""Volumes (3-D MedMNIST): the views, the flips, the volume CNN, its costs and the CLI recipe on real data."""

import math

import numpy as np
import pytest

from cnncourse.cost import conv_macs, layer_costs, model_cost
from cnncourse.experiments import volumes
from cnncourse.experiments.volumes import flip_volumes, volume_views


@pytest.fixture(scope="module")
def keras():
    from cnncourse.backend import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def adrenal():
    from cnncourse.data import load_medmnist

    return load_medmnist("adrenalmnist3d")


def small_volumes(n=4, size=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, size), dtype=np.uint8)


# views -------------------------------------------------------------------------------------


def test_views_shapes_and_values():
    x = small_volumes()
    full, slice_, three = (volume_views(x, view) for view in volumes.VIEWS)
    assert full.shape == (4, 6, 6, 6, 1) and slice_.shape == (4, 6, 6, 1) and three.shape == (4, 6, 6, 3)
    assert full.dtype == slice_.dtype == three.dtype == np.float32
    assert np.allclose(full[..., 0], x / 255.0)
    assert np.array_equal(slice_[..., 0], full[:, 3, :, :, 0])
    assert np.array_equal(three[..., 0], full[:, 3, :, :, 0])     # axial
    assert np.array_equal(three[..., 1], full[:, :, 3, :, 0])     # coronal
    assert np.array_equal(three[..., 2], full[:, :, :, 3, 0])     # sagittal


def test_views_keep_floats_and_reject_bad_input():
    x = np.random.default_rng(1).random((2, 5, 5, 5))
    assert np.allclose(volume_views(x, "3d")[..., 0], x)
    with pytest.raises(ValueError, match="view must be one of"):
        volume_views(x, "axial")
    with pytest.raises(ValueError, match=r"volumes must be cubic volumes .* got shape \(2, 5, 5\)"):
        volume_views(x[..., 0], "3d")
    with pytest.raises(ValueError, match="cubic"):
        volume_views(np.zeros((2, 5, 5, 4)), "3d")
    with pytest.raises(TypeError, match="dtype int64"):
        volume_views(np.zeros((2, 5, 5, 5), dtype=np.int64), "3d")


def test_flips_are_the_eight_flips_of_each_volume():
    x = small_volumes(n=64)
    flipped = flip_volumes(x, np.random.default_rng(0))
    assert flipped.shape == x.shape and not np.shares_memory(flipped, x)
    versions = [volume for volume in volumes._all_flips(x)]
    which = [[int(np.array_equal(flipped[i], v[i])) for v in versions].index(1) for i in range(len(x))]
    assert len(set(which)) >= 6  # random flips along three axes: most of the 8 versions occur
    assert np.array_equal(flip_volumes(x, np.random.default_rng(0)), flipped)  # the generator decides
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        flip_volumes(x, 0)


# costs -------------------------------------------------------------------------------------


def test_conv_macs_by_hand_and_errors():
    assert conv_macs((28, 28, 28, 8), (3, 3, 3), 1) == 28**3 * 8 * 27
    assert conv_macs((26, 26, 32), (3, 3), 1) == 26 * 26 * 32 * 9
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        conv_macs((26, 26, 32), (3, 3, 3), 1)
    with pytest.raises(ValueError, match="in_channels"):
        conv_macs((26, 26, 32), (3, 3), 0)


def test_costs_of_the_seed_cnn_by_hand(keras):
    from cnncourse.models import seed_cnn

    model = seed_cnn("keras", num_classes=2, seed=0)
    expected_macs = 26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 3 * 3 * 64 * 9 * 64 + 576 * 64 + 64 * 2
    cost = model_cost(model, batch_size=10)
    assert cost["params"] == model.count_params() == sum(row["params"] for row in layer_costs(model))
    assert cost["macs"] == 10 * expected_macs
    activations = 26 * 26 * 32 + 13 * 13 * 32 + 11 * 11 * 64 + 5 * 5 * 64 + 3 * 3 * 64 + 576 + 64 + 2
    assert cost["activations"] == 10 * activations and cost["activation_bytes"] == 40 * activations
    with pytest.raises(ValueError, match="batch_size"):
        model_cost(model, batch_size=0)
    with pytest.raises(TypeError, match="Keras model"):
        layer_costs("seed_cnn")


@pytest.mark.parametrize("view", volumes.VIEWS)
def test_volume_cnn_costs_match_its_layers(keras, view):
    from cnncourse.models import volume_cnn

    model = volume_cnn(view, filters=(4, 8), seed=0)
    rows = {row["name"]: row for row in layer_costs(model)}
    spatial = (28,) * (3 if view == "3d" else 2)
    channels = {"3d": 1, "slice": 1, "orthogonal": 3}[view]
    kernel = math.prod((3,) * len(spatial))
    assert rows["block1_conv"]["macs"] == math.prod(spatial) * 4 * kernel * channels
    assert rows["block2_conv"]["macs"] == math.prod((14,) * len(spatial)) * 8 * kernel * 4
    assert rows["block1_conv"]["params"] == kernel * channels * 4  # no bias: batch norm follows
    assert rows["probabilities"]["macs"] == 8 * 2
    assert model_cost(model)["params"] == model.count_params()


def test_volume_cnn_is_seeded_and_checks_arguments(keras):
    from cnncourse.models import volume_cnn

    first, again = volume_cnn("3d", filters=(4,), seed=3), volume_cnn("3d", filters=(4,), seed=3)
    other = volume_cnn("3d", filters=(4,), seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(), again.get_weights()))
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    assert volume_cnn("3d", filters=(4, 8), downsample=2).get_layer("block1_conv").output.shape[1:4] == (14, 14, 14)
    with pytest.raises(ValueError, match="view must be one of"):
        volume_cnn("2d")
    with pytest.raises(ValueError, match="filters"):
        volume_cnn("3d", filters=(4, 0))
    with pytest.raises(ValueError, match="too small"):
        volume_cnn("3d", size=8, filters=(4, 8, 16, 32), downsample=2)


# training on the real data -----------------------------------------------------------------


def test_train_view_model_learns_from_volumes(adrenal):
    (x_train, y_train), (x_val, y_val), _ = adrenal
    trained = volumes.train_view_model("3d", x_train, y_train, x_val, y_val, seed=0, epochs=2, filters=(8, 16),
                                       downsample=2, flips=False)
    assert trained["val_prob"].shape == (len(x_val),) and 0.65 < trained["val_auc"] <= 1.0  # chance: 0.5
    with pytest.raises(ValueError, match="y_train must be 0/1 labels"):
        volumes.train_view_model("slice", x_train, y_train[:-1], x_val, y_val, seed=0)
    with pytest.raises(ValueError, match="epochs must be"):
        volumes.train_view_model("slice", x_train, y_train, x_val, y_val, seed=0, epochs=0)


def test_recipe_gives_a_json_line_on_a_subset(adrenal):
    import json

    from cnncourse.experiments import run

    result = run(volumes.VolumeRecipe("adrenalmnist3d", epochs=1), adrenal, seed=0, subset=64).result
    assert set(result) >= {"dataset", "seed", "val_auc", "test_auc", "test_acc", "train_seconds", "params"}
    assert 0.0 <= result["test_auc"] <= 1.0 and result["params"] > 0
    json.dumps(result)
    with pytest.raises(ValueError, match="dataset must be one of"):
        volumes.VolumeRecipe("breastmnist")


def test_cli_table_names_the_volume_recipes():
    import importlib

    from cnncourse.experiments.__main__ import MEDMNIST_RECIPES, build_parser

    for dataset in volumes.VOLUME_DATASETS:
        module, function = MEDMNIST_RECIPES[dataset].split(":")
        assert getattr(importlib.import_module(module), function) is volumes.VolumeRecipe
        assert build_parser().parse_args(["medmnist", "--dataset", dataset]).dataset == dataset
