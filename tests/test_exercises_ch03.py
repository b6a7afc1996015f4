"""Chapter 3.1's exercise checkers: each passes a correct answer and fails wrong ones readably."""

import math

import numpy as np
import pytest
from scipy.signal import convolve2d as scipy_convolve2d
from scipy.signal import correlate2d as scipy_correlate2d

from cnncourse.exercises import ExerciseFailed, check, exercises
from cnncourse.scratch import conv2d_backward_naive


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
    assert names == {"conv2d_stride", "conv_output_size", "true_convolution", "conv_backward"}


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


# conv_backward -----------------------------------------------------------------------


def loops_conv_backward(dy, x, kernel):
    """A student's answer: each forward multiply-add sends dy back to both its factors."""
    n, out_h, out_w, c_out = dy.shape
    rows, cols = kernel.shape[:2]
    dx, dkernel = np.zeros_like(x), np.zeros_like(kernel)
    for i in range(out_h):
        for j in range(out_w):
            for p in range(rows):
                for q in range(cols):
                    dx[:, i + p, j + q, :] += dy[:, i, j, :] @ kernel[p, q].T
                    dkernel[p, q] += x[:, i + p, j + q, :].T @ dy[:, i, j, :]
    return dx, dkernel, dy.sum(axis=(0, 1, 2))


def scipy_conv_backward(dy, x, kernel, flip=True):
    """dx as a full convolution of dy with k (flip=False: the full correlation, a missing flip), dk as a correlation."""
    full = scipy_convolve2d if flip else scipy_correlate2d
    dx = np.zeros_like(x)
    dkernel = np.zeros_like(kernel)
    for c in range(x.shape[3]):
        for f in range(dy.shape[3]):
            for n in range(x.shape[0]):
                dx[n, :, :, c] += full(dy[n, :, :, f], kernel[:, :, c, f], mode="full")
                dkernel[:, :, c, f] += scipy_correlate2d(x[n, :, :, c], dy[n, :, :, f], mode="valid")
    return dx, dkernel, dy.sum(axis=(0, 1, 2))


def test_conv_backward_accepts_loops_scipy_and_the_package():
    assert check("conv_backward", loops_conv_backward)
    assert check("conv_backward", scipy_conv_backward)
    assert check("conv_backward", lambda dy, x, k: conv2d_backward_naive(dy, x, k))
    assert check("conv_backward", lambda dy, x, k: list(loops_conv_backward(dy, x, k)))  # a list is fine too


def _replace(index, change):
    """A candidate that is right except for output ``index``, replaced by ``change(dy, x, kernel, right)``."""

    def candidate(dy, x, kernel):
        result = list(loops_conv_backward(dy, x, kernel))
        result[index] = change(dy, x, kernel, result[index])
        return tuple(result)

    return candidate


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda dy, x, k: scipy_conv_backward(dy, x, k, flip=False), "dx is missing the kernel flip"),
        (_replace(2, lambda dy, x, k, db: dy.mean(axis=(0, 1, 2))), "dbias is the mean of dy"),
        (_replace(2, lambda dy, x, k, db: dy.sum(axis=(1, 2))), "summed over the positions but not over the batch"),
        (_replace(2, lambda dy, x, k, db: dy.sum()), "summed over the filters too"),
        (_replace(2, lambda dy, x, k, db: db + 1), r"dbias: wrong values"),
        (_replace(1, lambda dy, x, k, dk: dk[::-1, ::-1]), "dkernel is flipped"),
        (_replace(1, lambda dy, x, k, dk: dk.transpose(0, 1, 3, 2)), "dkernel must have the kernel's shape"),
        (_replace(1, lambda dy, x, k, dk: dk.transpose(1, 0, 2, 3)), r"dkernel: wrong values"),
        (_replace(1, lambda dy, x, k, dk: 2 * dk), r"dkernel: wrong values"),
        (_replace(0, lambda dy, x, k, dx: np.pad(dx, ((0, 0), (1, 1), (1, 1), (0, 0)))), "dx must have x's shape"),
        (_replace(0, lambda dy, x, k, dx: dx + 0.5), r"dx: wrong values"),
        (lambda dy, x, k: loops_conv_backward(dy, x, k)[:2], r"expected a tuple \(dx, dkernel, dbias\)"),
        (lambda dy, x, k: loops_conv_backward(dy, x, k)[0], r"expected a tuple \(dx, dkernel, dbias\)"),
    ],
)
def test_conv_backward_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("conv_backward", wrong)


@pytest.mark.parametrize("argument", ["dy", "x", "kernel"])
def test_conv_backward_rejects_a_candidate_that_modifies_its_inputs(argument):
    def modifies(dy, x, kernel):
        result = loops_conv_backward(dy.copy(), x.copy(), kernel.copy())  # right answer ...
        {"dy": dy, "x": x, "kernel": kernel}[argument][...] = 0.0          # ... but an input overwritten
        return result

    with pytest.raises(ExerciseFailed, match=f"changed its argument {argument} in place"):
        check("conv_backward", modifies)


def test_conv_backward_expected_answer_is_computed_before_the_candidate_runs():
    # A candidate that zeroes its inputs and returns zeros must fail as "changed in place", never pass because
    # the checker computed its expected answer from the modified arrays.
    def zeroes_everything(dy, x, kernel):
        for array in (dy, x, kernel):
            array[...] = 0.0
        return np.zeros_like(x), np.zeros_like(kernel), np.zeros(kernel.shape[3])

    with pytest.raises(ExerciseFailed, match="changed its argument dy in place"):
        check("conv_backward", zeroes_everything)
