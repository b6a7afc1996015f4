"""cnncourse.checks: the package's one vocabulary of argument checks."""

import numpy as np
import pytest

from cnncourse.checks import (
    SEED_LIMIT,
    check_existing_file,
    check_existing_folder,
    check_int,
    check_non_negative_int,
    check_positive_int,
    check_probability,
    check_seed,
)


@pytest.mark.parametrize("value", [0, 7, np.int64(3), 2**32 - 1, np.uint32(2**32 - 1)])
def test_check_seed_accepts_python_and_numpy_ints_in_range(value):
    assert check_seed(value) == int(value)
    assert type(check_seed(value)) is int


@pytest.mark.parametrize("value", [1.0, "3", None, True, np.bool_(False), [1]])
def test_check_seed_refuses_non_integers_with_type_error(value):
    with pytest.raises(TypeError, match=r"seed must be an int in \[0, 2\*\*32\), got"):
        check_seed(value)


@pytest.mark.parametrize("value", [-1, SEED_LIMIT, 2**40])
def test_check_seed_refuses_out_of_range_with_value_error(value):
    with pytest.raises(ValueError, match=rf"my_seed must be an int in \[0, 2\*\*32\), got {value}"):
        check_seed(value, "my_seed")


def test_check_int_bounds_and_messages():
    assert check_int(np.int32(5), "n", 2, 9) == 5
    assert check_int(-4, "offset") == -4
    with pytest.raises(ValueError, match=r"n must be an int in \[2, 9\], got 12"):
        check_int(12, "n", 2, 9)
    with pytest.raises(ValueError, match=r"k must be an int >= 10, got 9"):
        check_int(9, "k", low=10)
    with pytest.raises(ValueError, match=r"k must be an int <= 3, got 4"):
        check_int(4, "k", high=3)
    with pytest.raises(TypeError, match=r"n must be an int, got float 2.5"):
        check_int(2.5, "n", 2, 9)
    with pytest.raises(TypeError, match="got bool True"):
        check_int(True, "n")


def test_check_non_negative_and_positive_int():
    assert check_non_negative_int(0, "context") == 0
    with pytest.raises(ValueError, match="context must be a non-negative int, got -1"):
        check_non_negative_int(-1, "context")
    with pytest.raises(TypeError, match="context must be a non-negative int, got float 1.0"):
        check_non_negative_int(1.0, "context")
    assert check_positive_int(np.int16(2), "units") == 2
    with pytest.raises(ValueError, match="units must be a positive int, got 0"):
        check_positive_int(0, "units")
    with pytest.raises(TypeError, match="units must be a positive int, got bool False"):
        check_positive_int(False, "units")


def test_check_probability():
    assert check_probability(0, "threshold") == 0.0
    assert check_probability(np.float32(1.0), "threshold") == 1.0
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"threshold must be in \[0, 1\]"):
            check_probability(bad, "threshold")
    with pytest.raises(TypeError, match=r"threshold must be a number in \[0, 1\], got str"):
        check_probability("0.5", "threshold")


def test_check_existing_file_and_folder(tmp_path):
    file = tmp_path / "a.txt"
    file.write_text("x")
    assert check_existing_file(str(file)) == file
    assert check_existing_folder(tmp_path, "data_dir") == tmp_path
    with pytest.raises(FileNotFoundError, match=r"path '.*missing' does not exist"):
        check_existing_file(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="is a folder, not a file"):
        check_existing_file(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"data_dir '.*a.txt' is a file, not a folder"):
        check_existing_folder(file, "data_dir")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_existing_folder(tmp_path / "nowhere")
    with pytest.raises(TypeError, match="data_dir must be a path"):
        check_existing_folder(3, "data_dir")


def test_path_checks_raise_the_callers_error_class(tmp_path):
    class DataError(Exception):
        pass

    with pytest.raises(DataError, match="does not exist"):
        check_existing_file(tmp_path / "missing.npz", "file", error=DataError)


def test_a_channel_mismatch_reads_the_same_from_the_taught_functions_and_the_layers():
    from cnncourse import scratch
    from cnncourse.checks import channel_mismatch

    message = channel_mismatch((3, 3, 2, 4), 2, 3)
    assert message == "channel mismatch: the kernel (3, 3, 2, 4) expects 2 input channels, but x has 3 channels"
    with pytest.raises(ValueError) as error:
        scratch.conv2d_forward(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 4)))
    assert str(error.value) == message
    with pytest.raises(ValueError) as error:
        scratch.conv3d_forward(np.zeros((1, 4, 4, 4, 3)), np.zeros((2, 2, 2, 2, 4)))
    assert str(error.value) == channel_mismatch((2, 2, 2, 2, 4), 2, 3)
    layer = scratch.Conv3D(4, 2, input_shape=(4, 4, 4, 2))
    with pytest.raises(ValueError) as error:
        layer.forward(np.zeros((1, 4, 4, 4, 3)))
    assert str(error.value) == f"{layer.name}: " + channel_mismatch((2, 2, 2, 2, 4), 2, 3)
    layer = scratch.Conv2DTranspose(4, 2, input_shape=(4, 4, 2))
    with pytest.raises(ValueError) as error:
        layer.forward(np.zeros((1, 4, 4, 3)))
    assert str(error.value) == f"{layer.name}: " + channel_mismatch((2, 2, 4, 2), 2, 3, layout="(kh, kw, filters, in_channels)")


@pytest.mark.parametrize("count, word", [(2, "pair"), (3, "triple")])
def test_as_spatial_for_pairs_and_triples(count, word):
    from cnncourse.checks import as_spatial

    assert as_spatial(3, "kernel_size", count) == (3,) * count
    assert as_spatial(np.array([2] * count), "kernel_size", count) == (2,) * count
    with pytest.raises(ValueError, match=rf"strides must be an int or a {word} \(.*height, width\), got {count + 1} values"):
        as_spatial((1,) * (count + 1), "strides", count)
    with pytest.raises(TypeError, match=f"strides must be an int or a {word} of ints"):
        as_spatial((1.5,) * count, "strides", count)
    with pytest.raises(ValueError, match="strides must be positive"):
        as_spatial(0, "strides", count)


def test_check_float_bounds():
    from cnncourse.checks import check_float

    assert check_float(-3.5, "threshold", low=None) == -3.5
    with pytest.raises(ValueError, match="threshold must be a finite number, got nan"):
        check_float(float("nan"), "threshold", low=None)
    assert check_float(1.0, "alpha", 0.0, 1.0, high_inclusive=True) == 1.0
    with pytest.raises(ValueError, match=r"alpha must be in \[0.0, 1.0\], got 1.5"):
        check_float(1.5, "alpha", 0.0, 1.0, high_inclusive=True)
    with pytest.raises(ValueError, match=r"rate must be in \(0.0, 1.0\), got 1.0"):
        check_float(1.0, "rate", 0.0, 1.0, low_inclusive=False)


def test_the_engine_checks_its_seeds_as_set_seed_does():
    from cnncourse import scratch
    from cnncourse.scratch.initializers import make_rng

    assert isinstance(make_rng(np.int64(3)), np.random.Generator)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\), got -1"):
        make_rng(-1)
    with pytest.raises(TypeError, match="seed must be an int"):
        scratch.Dense(3, seed=2.5)
