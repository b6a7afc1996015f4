"""The volumes chapter's exercise checkers: each passes a correct answer and fails typical wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def loops_conv3d(volume, kernel, flip=False):
    volume, kernel = np.asarray(volume, float), np.asarray(kernel, float)
    if flip:
        kernel = kernel[::-1, ::-1, ::-1]
    (d, h, w), (p, q, r) = volume.shape, kernel.shape
    out = np.zeros((d - p + 1, h - q + 1, w - r + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for k in range(out.shape[2]):
                out[i, j, k] = np.sum(volume[i:i + p, j:j + q, k:k + r] * kernel)
    return out


def macs(input_shape, filters, kernel_size, padding, channels=True, valid=True, cube=True):
    d, h, w, c = input_shape
    if padding == "valid" and valid:
        d, h, w = d - kernel_size + 1, h - kernel_size + 1, w - kernel_size + 1
    return d * h * w * filters * kernel_size ** (3 if cube else 2) * (c if channels else 1)


def slices(volume, middle=None):
    m = volume.shape[0] // 2 if middle is None else middle
    return np.stack([volume[m], volume[:, m], volume[:, :, m]], axis=-1)


def test_chapter_lists_its_checkers():
    assert {e.name for e in exercises("15_volumes")} == {"conv3d_single", "conv3d_macs", "orthogonal_slices"}


def test_conv3d_single():
    assert check("conv3d_single", loops_conv3d)
    with pytest.raises(ExerciseFailed, match="flipped"):
        check("conv3d_single", lambda v, k: loops_conv3d(v, k, flip=True))
    with pytest.raises(ExerciseFailed, match="D - P \\+ 1"):
        check("conv3d_single", lambda v, k: loops_conv3d(v, k)[:-1])
    with pytest.raises(ExerciseFailed, match="return"):
        check("conv3d_single", lambda v, k: None)


def test_conv3d_macs():
    assert check("conv3d_macs", macs)
    with pytest.raises(ExerciseFailed, match="input channels"):
        check("conv3d_macs", lambda *a: macs(*a, channels=False))
    with pytest.raises(ExerciseFailed, match="padding='valid'"):
        check("conv3d_macs", lambda *a: macs(*a, valid=False))
    with pytest.raises(ExerciseFailed, match="k · k · k"):
        check("conv3d_macs", lambda *a: macs(*a, cube=False))
    with pytest.raises(ExerciseFailed, match="expected a number"):
        check("conv3d_macs", lambda *a: "many")


def test_orthogonal_slices():
    assert check("orthogonal_slices", slices)
    with pytest.raises(ExerciseFailed, match="another order"):
        check("orthogonal_slices", lambda v: slices(v)[..., ::-1])
    with pytest.raises(ExerciseFailed, match="S // 2"):
        check("orthogonal_slices", lambda v: slices(v, v.shape[0] // 2 - 1))
    with pytest.raises(ExerciseFailed, match="wrong shape"):
        check("orthogonal_slices", lambda v: v[v.shape[0] // 2])
