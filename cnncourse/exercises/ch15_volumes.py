"""Checkers for the chapter "Volumes: CNNs in 3-D".

The students' functions work on one volume ``(D, H, W)`` with one channel (the 3-D
convolution), on a layer's shapes (its multiply-adds) and on one cubic volume (its three
orthogonal slices). The expected answers come from ``cnncourse.cost.conv_macs``,
``cnncourse.experiments.volumes.volume_views`` and a sliding-window reference here.
"""

import numpy as np

from ..cost import conv_macs
from ..experiments.volumes import volume_views
from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "15_volumes"


def _conv3d_valid(volume, kernel):
    """Cross-correlation of ``volume (D, H, W)`` with ``kernel (P, Q, R)``, "valid": ``(D-P+1, H-Q+1, W-R+1)``."""
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(volume, float), np.shape(kernel))
    return np.einsum("dhwpqr,pqr->dhw", windows, np.asarray(kernel, float))


def _volumes():
    """``(volume, kernel)``: a tiny integer case, then rectangular kernels on odd-sized random volumes."""
    yield np.arange(27, dtype=float).reshape(3, 3, 3), np.array([[[1, 0], [0, 0]], [[0, 0], [0, -1]]], float)
    rng = grading_rng(15)
    for shape, kernel_shape in (((5, 6, 7), (3, 3, 3)), ((4, 5, 6), (2, 3, 1)), ((6, 4, 5), (3, 1, 2))):
        yield rng.normal(size=shape), rng.normal(size=kernel_shape)


@register("conv3d_single", CHAPTER, "the 3-D formula with its third sum: one volume, one kernel, valid")
def _check_conv3d_single(candidate):
    for volume, kernel in _volumes():
        what = f"conv3d_single(volume {volume.shape}, kernel {kernel.shape})"
        received = call_candidate(candidate, volume.copy(), kernel.copy(), what=what)
        if received is None:
            raise ExerciseFailed(f"{what}: received None. Does your function `return` its result?")
        expected = _conv3d_valid(volume, kernel)
        if np.shape(received) != expected.shape:
            raise ExerciseFailed(
                f"{what}: expected shape {expected.shape}, (D - P + 1, H - Q + 1, W - R + 1) for a 'valid' "
                f"output, received {np.shape(received)}.")
        if is_close(received, _conv3d_valid(volume, kernel[::-1, ::-1, ::-1])) and not is_close(received, expected):
            raise ExerciseFailed(f"{what}: your kernel is flipped (a true convolution); deep learning's "
                                 "'convolution', like the seed's formula, is x(d+o, i+p, j+q) · k(o, p, q), unflipped.")
        assert_close(received, expected, what=what)


@register("conv3d_macs", CHAPTER, "multiply-adds of a Conv3D layer (stride 1) for one volume")
def _check_conv3d_macs(candidate):
    rng = grading_rng(151)
    drawn = (tuple(int(n) for n in rng.integers(6, 40, 3)) + (int(rng.integers(1, 33)),), int(rng.integers(1, 65)),
             int(rng.integers(1, 6)), str(rng.choice(["same", "valid"])))  # drawn from the grading seed: no table
    cases = (((28, 28, 28, 1), 8, 3, "same"), ((14, 14, 14, 8), 16, 3, "same"), ((28, 28, 28, 1), 8, 3, "valid"),
             ((10, 12, 9, 3), 5, 2, "valid"), ((7, 7, 7, 16), 32, 1, "same"), drawn)
    for input_shape, filters, kernel_size, padding in cases:
        what = f"conv3d_macs({input_shape}, filters={filters}, kernel_size={kernel_size}, padding={padding!r})"
        received = call_candidate(candidate, input_shape, filters, kernel_size, padding, what=what)
        spatial = input_shape[:3] if padding == "same" else tuple(n - kernel_size + 1 for n in input_shape[:3])
        expected = conv_macs(spatial + (filters,), (kernel_size,) * 3, input_shape[3])
        try:
            value = float(received)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}: expected a number, received {received!r}") from None
        if value == expected:
            continue
        hints = {
            expected // input_shape[3]: "you left out the input channels: every output value sums over all of them",
            expected // filters: "you left out the filters: each filter makes its own output volume",
            conv_macs(input_shape[:3] + (filters,), (kernel_size,) * 3, input_shape[3]):
                "with padding='valid' the output is smaller than the input: (D - k + 1) per axis",
            expected // kernel_size:
                "a 3-D kernel has k · k · k weights per channel, not k · k",
        }
        hint = hints.get(value, "count (output values) × (kernel weights per output value)")
        raise ExerciseFailed(f"{what}: expected {expected:,}, received {received!r}: {hint}.")


@register("orthogonal_slices", CHAPTER, "the three middle orthogonal slices of a volume as three channels")
def _check_orthogonal_slices(candidate):
    rng = grading_rng(16)
    for size in (5, 6, 28):
        volume = rng.integers(0, 256, size=(size,) * 3).astype(np.float64)
        what = f"orthogonal_slices(volume {volume.shape})"
        received = call_candidate(candidate, volume.copy(), what=what)
        expected = volume_views(volume[np.newaxis], "orthogonal")[0]
        if received is not None and np.shape(received) == expected.shape and not is_close(received, expected):
            if is_close(received, expected[..., ::-1]) or is_close(received, expected[..., [1, 0, 2]]):
                raise ExerciseFailed(f"{what}: the channels are in another order; use axial volume[S // 2], "
                                     "coronal volume[:, S // 2], sagittal volume[:, :, S // 2].")
            before = size // 2 - 1
            shifted = np.stack([volume[before], volume[:, before], volume[:, :, before]], axis=-1)
            if is_close(received, shifted):
                raise ExerciseFailed(f"{what}: the middle slice is index S // 2 = {size // 2} of {size} (0-based), not {before}.")
        assert_close(received, expected, what=what)
