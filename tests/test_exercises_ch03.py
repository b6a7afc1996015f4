"""Chapter 3.1's exercise checkers: each passes a correct answer and fails wrong ones readably."""

import math

import numpy as np
import pytest
from scipy.signal import convolve2d as scipy_convolve2d
from scipy.signal import correlate2d as scipy_correlate2d

from cnncourse.exercises import ExerciseFailed, check, exercises


def loops_conv2d_stride(image, kernel, stride=1):
    image, kernel = np.asarray(image, float), np.asarray(kernel, float)
    rows, cols = kernel.shape
    out_h, out_w = (image.shape[0] - rows) // stride + 1, (image.shape[1] - cols) // stride + 1
    y = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            y[i, j] = np.sum(image[i * stride : i * stride + rows, j * stride : j * stride + cols] * kernel)
    return y


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("03_convolution")}
    assert names == {"conv2d_stride", "conv_output_size", "true_convolution"}


# conv2d_stride -------------------------------------------------------------------------


def test_conv2d_stride_accepts_loops_and_scipy():
    assert check("conv2d_stride", loops_conv2d_stride)
    assert check("conv2d_stride", lambda x, k, s=1: scipy_correlate2d(x, k, mode="valid")[::s, ::s])


def test_conv2d_stride_rejects_flipped_kernel():
    with pytest.raises(ExerciseFailed, match="true convolution"):
        check("conv2d_stride", lambda x, k, s=1: loops_conv2d_stride(x, k[::-1, ::-1], s))


def test_conv2d_stride_rejects_ignored_stride():
    def ignores_stride(x, k, s=1):
        y = loops_conv2d_stride(x, k, 1)
        return y[: (x.shape[0] - k.shape[0]) // s + 1, : (x.shape[1] - k.shape[1]) // s + 1]

    with pytest.raises(ExerciseFailed, match="one pixel at a time"):
        check("conv2d_stride", ignores_stride)


def test_conv2d_stride_rejects_wrong_shape():
    with pytest.raises(ExerciseFailed, match=r"expected an output of shape \(3, 3\), received \(5, 5\)"):
        check("conv2d_stride", lambda x, k, s=1: scipy_correlate2d(x, k, mode="same"))


def test_conv2d_stride_reports_stub_and_wrong_values():
    def stub(image, kernel, stride=1):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="not implemented yet"):
        check("conv2d_stride", stub)
    with pytest.raises(ExerciseFailed, match="wrong values"):
        check("conv2d_stride", lambda x, k, s=1: loops_conv2d_stride(x, k, s) + 1.0)


# conv_output_size ----------------------------------------------------------------------


def correct_output_size(n, kernel_size, stride, padding):
    if padding == "same":
        return math.ceil(n / stride)
    return (n - kernel_size) // stride + 1


def test_conv_output_size_accepts_formula():
    assert check("conv_output_size", correct_output_size)


def test_conv_output_size_rejects_stride_free_formula():
    with pytest.raises(ExerciseFailed, match=r"n=5, kernel_size=1, stride=2, padding='valid'\): expected 3 \(= floor\(\(n - kernel_size\) / stride\) \+ 1\), received 5"):
        check("conv_output_size", lambda n, k, s, p: n - k + 1 if p == "valid" else n)


def test_conv_output_size_rejects_floor_for_same_and_floats():
    with pytest.raises(ExerciseFailed, match=r"ceil\(n / stride\)"):
        check("conv_output_size", lambda n, k, s, p: (n - k) // s + 1 if p == "valid" else n // s)
    with pytest.raises(ExerciseFailed, match="expected the integer"):
        check("conv_output_size", lambda n, k, s, p: float(correct_output_size(n, k, s, p)))


# true_convolution ------------------------------------------------------------------


def test_true_convolution_accepts_flipped_loops_and_scipy():
    assert check("true_convolution", lambda x, k: loops_conv2d_stride(x, k[::-1, ::-1]))
    assert check("true_convolution", lambda x, k: scipy_convolve2d(x, k, mode="valid"))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, k: loops_conv2d_stride(x, k), "cross-correlation"),
        (lambda x, k: loops_conv2d_stride(x, k[::-1, :]), "rows only"),
        (lambda x, k: loops_conv2d_stride(x, k[:, ::-1]), "columns only"),
        (lambda x, k: scipy_convolve2d(x, k, mode="full"), "expected an output of shape"),
        (lambda x, k: 2 * scipy_convolve2d(x, k, mode="valid"), "wrong values"),
    ],
)
def test_true_convolution_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("true_convolution", wrong)
