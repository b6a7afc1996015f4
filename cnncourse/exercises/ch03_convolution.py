"""Checkers for chapter 3.1, convolution layers.

Every expected answer comes from ``cnncourse.scratch`` (itself tested against Keras),
so the checkers and the chapter agree on one definition of convolution.
"""

import numpy as np

from ..scratch import conv2d
from ..scratch.padding import output_length
from . import ExerciseFailed, assert_close, call_candidate, register

CHAPTER = "03_convolution"


def _cross_correlate(image, kernel, stride=1):
    """The seed's formula with a stride, for one channel: ``image (H, W)``, ``kernel (P, Q)`` -> 2-D array."""
    return conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=stride)[0, :, :, 0]


def _close(received, expected) -> bool:
    received = np.asarray(received, dtype=np.float64)
    return received.shape == expected.shape and np.allclose(received, expected, rtol=1e-5, atol=1e-6)


def _cases():
    """``(image, kernel, stride)`` cases: the chapter's 5×5 example, rectangles, strides that do not divide."""
    rng = np.random.default_rng(3)
    for height, width, kernel_h, kernel_w, stride in ((5, 5, 3, 3, 1), (7, 6, 3, 2, 2), (8, 8, 3, 3, 2), (9, 10, 2, 3, 3)):
        image = rng.integers(-3, 4, (height, width)).astype(np.float64)
        kernel = rng.integers(-2, 3, (kernel_h, kernel_w)).astype(np.float64)
        kernel[0, 0], kernel[-1, -1] = 1.0, -2.0  # never symmetric, so a flipped kernel shows
        yield image, kernel, stride


@register("conv2d_stride", CHAPTER, "the seed's formula (cross-correlation, valid) with a stride, one channel")
def _check_conv2d_stride(candidate):
    for image, kernel, stride in _cases():
        what = f"conv2d_stride(image {image.shape}, kernel {kernel.shape}, stride={stride})"
        received = call_candidate(candidate, image.copy(), kernel.copy(), stride, what=what)
        expected = _cross_correlate(image, kernel, stride)
        received_shape = np.shape(received)
        if received_shape != expected.shape:
            raise ExerciseFailed(
                f"{what}: expected an output of shape {expected.shape}, received {received_shape}. "
                f"A 'valid' output has floor((H - P) / stride) + 1 rows and floor((W - Q) / stride) + 1 columns."
            )
        if _close(received, _cross_correlate(image, kernel[::-1, ::-1], stride)):
            raise ExerciseFailed(
                f"{what}: your result is the true convolution (the kernel flipped). The seed's formula, "
                f"like Keras, multiplies x(i*s + p, j*s + q) by k(p, q) without flipping the kernel."
            )
        if stride > 1 and _close(received, _cross_correlate(image, kernel)[: expected.shape[0], : expected.shape[1]]):
            raise ExerciseFailed(
                f"{what}: your windows move one pixel at a time. With a stride s the window of "
                f"output (i, j) starts at row i*s and column j*s."
            )
        assert_close(received, expected, what=what)


@register("conv_output_size", CHAPTER, "output length of a convolution for 'valid' and 'same' padding")
def _check_conv_output_size(candidate):
    for padding in ("valid", "same"):
        for n in (5, 6, 7, 28, 1955):
            for kernel_size in (1, 2, 3, 5):
                for stride in (1, 2, 3, 4):
                    what = f"conv_output_size(n={n}, kernel_size={kernel_size}, stride={stride}, padding={padding!r})"
                    expected = output_length(n, kernel_size, stride, padding)
                    received = call_candidate(candidate, n, kernel_size, stride, padding, what=what)
                    if isinstance(received, (bool, np.bool_)) or not isinstance(received, (int, np.integer)):
                        raise ExerciseFailed(f"{what}: expected the integer {expected}, received {received!r}")
                    if received != expected:
                        rule = "floor((n - kernel_size) / stride) + 1" if padding == "valid" else "ceil(n / stride)"
                        raise ExerciseFailed(f"{what}: expected {expected} (= {rule}), received {received}")


@register("true_convolution", CHAPTER, "true convolution (kernel flipped), 'valid', one channel")
def _check_true_convolution(candidate):
    for image, kernel, _ in _cases():
        what = f"true_convolution(image {image.shape}, kernel {kernel.shape})"
        received = call_candidate(candidate, image.copy(), kernel.copy(), what=what)
        expected = _cross_correlate(image, kernel[::-1, ::-1])
        if np.shape(received) != expected.shape:
            raise ExerciseFailed(
                f"{what}: expected an output of shape {expected.shape} ('valid': H - P + 1 by W - Q + 1), "
                f"received {np.shape(received)}"
            )
        if _close(received, _cross_correlate(image, kernel)):
            raise ExerciseFailed(f"{what}: your result is the cross-correlation (the seed's formula); flip the kernel.")
        for flipped, axis in ((kernel[::-1, :], "rows"), (kernel[:, ::-1], "columns")):
            if _close(received, _cross_correlate(image, flipped)):
                raise ExerciseFailed(f"{what}: you flipped the kernel's {axis} only; convolution flips both axes.")
        assert_close(received, expected, what=what)
