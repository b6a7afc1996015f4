"""Checkers for chapter 3.1, convolution layers.

Every expected answer comes from ``cnncourse.scratch`` (itself tested against Keras),
so the checkers and the chapter agree on one definition of convolution.
"""

import numpy as np

from ..scratch import conv2d, conv2d_backward, conv2d_forward
from ..scratch.padding import output_length
from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "03_convolution"


def _cross_correlate(image, kernel, stride=1):
    """The seed's formula with a stride, for one channel: ``image (H, W)``, ``kernel (P, Q)`` -> 2-D array."""
    return conv2d(image[None, :, :, None], kernel[:, :, None, None], strides=stride)[0, :, :, 0]


def _cases():
    """``(image, kernel, stride)`` cases: the chapter's 5×5 example, rectangles, strides that do not divide."""
    rng = grading_rng(3)
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
        if is_close(received, _cross_correlate(image, kernel[::-1, ::-1], stride)):
            raise ExerciseFailed(
                f"{what}: your result is the true convolution (the kernel flipped). The seed's formula, "
                f"like Keras, multiplies x(i*s + p, j*s + q) by k(p, q) without flipping the kernel."
            )
        if stride > 1 and is_close(received, _cross_correlate(image, kernel)[: expected.shape[0], : expected.shape[1]]):
            raise ExerciseFailed(
                f"{what}: your windows move one pixel at a time. With a stride s the window of "
                f"output (i, j) starts at row i*s and column j*s."
            )
        assert_close(received, expected, what=what)


@register("conv_output_size", CHAPTER, "output length of a convolution for 'valid' and 'same' padding")
def _check_conv_output_size(candidate):
    drawn = int(grading_rng(33).integers(8, 5000))  # a length drawn from the grading seed: no table of answers
    for padding in ("valid", "same"):
        for n in (5, 6, 7, 28, 1955, drawn):
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
        if is_close(received, _cross_correlate(image, kernel)):
            raise ExerciseFailed(f"{what}: your result is the cross-correlation (the seed's formula); flip the kernel.")
        for flipped, axis in ((kernel[::-1, :], "rows"), (kernel[:, ::-1], "columns")):
            # Only where that differs from the answer: a drawn kernel can be symmetric along one axis.
            if is_close(received, _cross_correlate(image, flipped)) and not is_close(received, expected):
                raise ExerciseFailed(f"{what}: you flipped the kernel's {axis} only; convolution flips both axes.")
        assert_close(received, expected, what=what)


def _backward_cases():
    """``(dy, x, kernel)`` in NHWC, "valid", stride 1: the chapter's 5×5 example, then rectangles and channels."""
    x = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 2, 1], [2, 0, 1, 0, 2], [1, 3, 2, 1, 0], [0, 1, 0, 2, 1]], float)
    kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], float)
    dy = np.zeros((1, 3, 3, 1))
    dy[0, 1, 2, 0] = 1.0  # one-hot: only y(1, 2) matters
    yield dy, x[None, :, :, None], kernel[:, :, None, None]
    rng = grading_rng(13)
    # (N, H, W, C_in, P, Q, C_out): C_in != C_out and N > 1, so swapped axes and missing sums show in the shapes
    for n, height, width, c_in, rows, cols, c_out in ((1, 6, 7, 1, 3, 2, 1), (2, 5, 6, 3, 3, 3, 2), (3, 4, 5, 2, 2, 3, 4)):
        x = rng.integers(-3, 4, (n, height, width, c_in)).astype(np.float64)
        kernel = rng.integers(-2, 3, (rows, cols, c_in, c_out)).astype(np.float64)
        kernel[0, 0], kernel[-1, -1] = 1.0, -2.0  # never symmetric, so a missing flip shows
        dy = rng.integers(1, 5, (n, height - rows + 1, width - cols + 1, c_out)).astype(np.float64)
        yield dy, x, kernel


def _reference_backward(dy, x, kernel):
    """``(dx, dkernel, dbias)`` of a valid, stride-1 convolution, from the scratch engine's pair."""
    return conv2d_backward(dy, conv2d_forward(x, kernel)[1])


def _require_shape(received, expected, message, hint=""):
    """Fail with ``message`` (which names the array) unless ``received`` has ``expected``'s shape."""
    if np.shape(received) != expected.shape:
        raise ExerciseFailed(f"{message} {expected.shape}, received {np.shape(received)}.{hint}")


@register("conv_backward", CHAPTER, "backward pass of a convolution (valid, stride 1): dx, dkernel and dbias")
def _check_conv_backward(candidate):
    for dy, x, kernel in _backward_cases():
        what = f"conv_backward_naive(dy {dy.shape}, x {x.shape}, kernel {kernel.shape})"
        # The expected answer first, from copies, so nothing the candidate does can change it.
        expected_dx, expected_dkernel, expected_dbias = _reference_backward(dy.copy(), x.copy(), kernel.copy())
        given = {"dy": dy.copy(), "x": x.copy(), "kernel": kernel.copy()}
        received = call_candidate(candidate, given["dy"], given["x"], given["kernel"], what=what)
        for name, original in (("dy", dy), ("x", x), ("kernel", kernel)):
            if given[name].shape != original.shape or not np.array_equal(given[name], original):
                raise ExerciseFailed(
                    f"{what}: your function changed its argument {name} in place. A backward pass must leave "
                    f"its inputs as they were (the forward pass and the optimizer still need them): write the "
                    f"gradients into new arrays, e.g. np.zeros_like(x), and avoid `{name} += ...` or `{name}[...] = ...`."
                )
        if not isinstance(received, (tuple, list)) or len(received) != 3:
            raise ExerciseFailed(
                f"{what}: expected a tuple (dx, dkernel, dbias), received {type(received).__name__} {received!r:.120}"
            )
        dx, dkernel, dbias = received

        if np.shape(dbias) != expected_dbias.shape:
            hint = ""
            if np.shape(dbias) == (x.shape[0], kernel.shape[3]):
                hint = " You summed over the positions but not over the batch; the bias is shared by every image too."
            elif np.shape(dbias) == ():
                hint = " You summed over the filters too; every filter has its own bias, so sum over axes (0, 1, 2) only."
            raise ExerciseFailed(
                f"{what}: dbias must have one entry per filter, shape {expected_dbias.shape}, "
                f"received {np.shape(dbias)}.{hint}"
            )
        positions = dy.shape[0] * dy.shape[1] * dy.shape[2]
        if positions > 1 and is_close(dbias, expected_dbias / positions):
            raise ExerciseFailed(
                f"{what}: dbias is the mean of dy; it must be the sum over the batch and every position "
                f"(the bias is added to every output pixel, so each one sends its gradient back to it)."
            )
        assert_close(dbias, expected_dbias, what=f"{what}, dbias")

        _require_shape(dkernel, expected_dkernel, f"{what}: dkernel must have the kernel's shape")
        if is_close(dkernel, expected_dkernel[::-1, ::-1]):
            raise ExerciseFailed(
                f"{what}: dkernel is flipped. dk(p, q) = sum over i, j of dy(i, j) * x(i + p, j + q): the input "
                f"correlated with dy, with no flip."
            )
        assert_close(dkernel, expected_dkernel, what=f"{what}, dkernel")

        _require_shape(dx, expected_dx, f"{what}: dx must have x's shape", " Every input pixel gets the sum of the "
                       "gradients of the outputs whose windows contain it.")
        if is_close(dx, _reference_backward(dy, x, kernel[::-1, ::-1])[0]):
            raise ExerciseFailed(
                f"{what}: dx is missing the kernel flip. Pixel x(r, c) met weight k(p, q) in output "
                f"y(r - p, c - q), so dx(r, c) = sum over p, q of dy(r - p, c - q) * k(p, q): the seed's formula "
                f"on dy padded with P - 1 zeros uses the kernel turned by 180 degrees."
            )
        assert_close(dx, expected_dx, what=f"{what}, dx")
