"""Checkers for chapter 3.2, pooling layers.

Every expected answer comes from ``cnncourse.scratch`` (itself tested against Keras), so
the checkers and the chapter agree on one definition of pooling. The students' functions
work on one grey image, a 2-D array ``(H, W)``, with a square window.
"""

import numpy as np

from ..scratch import (
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
)
from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "04_pooling"

_EXAMPLE = np.array([[1, 3, 2, 1], [4, 2, 0, 1], [1, 0, 5, 6], [2, 3, 1, 2]], dtype=np.float64)


def _as_batch(image):
    """``(H, W)`` -> ``(1, H, W, 1)``, the scratch engine's NHWC layout."""
    return np.asarray(image, dtype=np.float64)[None, :, :, None]


def _pool(image, pool_size, stride, mode):
    """Reference pooling of one image ``(H, W)`` -> ``(H_out, W_out)``."""
    function = max_pool2d if mode == "max" else avg_pool2d
    return function(_as_batch(image), pool_size, stride)[0, :, :, 0]


def _require_result(received, what):
    if received is None:
        raise ExerciseFailed(f"{what}: received None. Does your function `return` its result?")


def _images():
    """``(image, pool_size, stride)``: the chapter's 4×4 example, odd sizes, overlapping windows.

    Values are distinct within each image (a random permutation), so every window has a
    single maximum and the gradient of max pooling is unambiguous.
    """
    yield _EXAMPLE, 2, 2
    yield _EXAMPLE, 2, 1
    rng = grading_rng(4)
    for height, width, pool_size, stride in ((6, 6, 3, 3), (5, 7, 2, 2), (7, 7, 3, 2), (5, 6, 2, 1)):
        image = rng.permutation(height * width).reshape(height, width).astype(np.float64) / 4.0 - 3.0
        yield image, pool_size, stride


@register("pool2d", CHAPTER, "max or average pooling of one image with a square window and a stride")
def _check_pool2d(candidate):
    for image, pool_size, stride in _images():
        for mode in ("max", "average"):
            what = f"pool2d(image {image.shape}, pool_size={pool_size}, stride={stride}, mode={mode!r})"
            received = call_candidate(candidate, image.copy(), pool_size, stride, mode, what=what)
            _require_result(received, what)
            expected = _pool(image, pool_size, stride, mode)
            received_shape = np.shape(received)
            if received_shape != expected.shape:
                hint = ""
                if stride != 1 and received_shape == _pool(image, pool_size, 1, mode).shape:
                    hint = " Your windows move one pixel at a time (the seed's formula as written); use the stride."
                raise ExerciseFailed(
                    f"{what}: expected an output of shape {expected.shape} "
                    f"(floor((H - pool_size) / stride) + 1 rows, the same for columns), received {received_shape}.{hint}"
                )
            other = "average" if mode == "max" else "max"
            if is_close(received, _pool(image, pool_size, stride, other)):
                raise ExerciseFailed(f"{what}: your result is {other} pooling; mode={mode!r} asks for {mode} pooling.")
            if mode == "average" and is_close(received, _pool(image, pool_size, stride, mode) * pool_size * pool_size):
                raise ExerciseFailed(
                    f"{what}: your result is the sum of each window; divide by the window's "
                    f"{pool_size}·{pool_size} = {pool_size * pool_size} pixels for the mean."
                )
            assert_close(received, expected, what=what)


def _max_backward_overwriting(dy, image, pool_size, stride):
    """A common mistake: ``dx[argmax] = dy`` instead of ``+=``, so overlapping windows overwrite."""
    dx = np.zeros_like(image)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            window = image[i * stride : i * stride + pool_size, j * stride : j * stride + pool_size]
            p, q = np.unravel_index(np.argmax(window), window.shape)
            dx[i * stride + p, j * stride + q] = dy[i, j]
    return dx


def _avg_backward(dy, image, pool_size, stride, accumulate=True):
    """What average pooling's backward pass gives: each window shares its gradient equally.

    With ``accumulate=False`` a window's share replaces (``=``) what overlapping windows gave,
    the mistake that only shows when ``stride < pool_size``.
    """
    dx = np.zeros_like(image)
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            window = (slice(i * stride, i * stride + pool_size), slice(j * stride, j * stride + pool_size))
            dx[window] = (dx[window] if accumulate else 0.0) + dy[i, j] / pool_size**2
    return dx


def _max_pool_dx(dy, x, pool_size, stride):
    """The scratch engine's max pooling gradient of one image: ``dy (H_out, W_out)``, ``x (H, W) -> dx (H, W)``."""
    _, cache = max_pool2d_forward(_as_batch(x), pool_size, stride)
    return max_pool2d_backward(_as_batch(dy), cache)[0, :, :, 0]


def _avg_pool_dx(dy, x, pool_size, stride):
    """The scratch engine's average pooling gradient of one image: ``dy (H_out, W_out)``, ``x (H, W) -> dx (H, W)``."""
    _, cache = avg_pool2d_forward(_as_batch(x), pool_size, stride)
    return avg_pool2d_backward(_as_batch(dy), cache)[0, :, :, 0]


def _backward_answers(candidate, name, backward, seed):
    """The candidate's ``dx`` on every case, shape-checked: ``(what, dy, image, pool_size, stride, received, expected)``.

    ``backward`` is the scratch engine's backward pass of the pooling, which gives ``expected``.
    """
    rng = grading_rng(seed)
    for image, pool_size, stride in _images():
        out_shape = _pool(image, pool_size, stride, "max").shape
        dy = rng.integers(1, 10, out_shape).astype(np.float64)  # positive and distinct-ish: mistakes show
        what = f"{name}(dy {dy.shape}, x {image.shape}, pool_size={pool_size}, stride={stride})"
        received = call_candidate(candidate, dy.copy(), image.copy(), pool_size, stride, what=what)
        _require_result(received, what)
        expected = backward(dy, image, pool_size, stride)
        if np.shape(received) != expected.shape:
            raise ExerciseFailed(
                f"{what}: expected dx of the input's shape {expected.shape}, received {np.shape(received)}. "
                f"The gradient w.r.t. x has one entry per input pixel."
            )
        yield what, dy, image, pool_size, stride, received, expected


@register("max_pool_backward", CHAPTER, "backward pass of max pooling: route each gradient to its window's maximum")
def _check_max_pool_backward(candidate):
    for what, dy, image, pool_size, stride, received, expected in _backward_answers(
            candidate, "max_pool_backward", _max_pool_dx, seed=5):
        if is_close(received, _avg_backward(dy, image, pool_size, stride)):
            raise ExerciseFailed(
                f"{what}: you shared each gradient equally over its window: that is average pooling's backward "
                f"pass. Max pooling's output depends only on the window's maximum, so the whole dy(i, j) goes "
                f"to that one pixel and the others get 0."
            )
        overwriting = _max_backward_overwriting(dy, image, pool_size, stride)
        # Only where overwriting differs from adding (a drawn image may have no pixel that is two windows' maximum).
        if stride < pool_size and is_close(received, overwriting) and not is_close(overwriting, expected):
            raise ExerciseFailed(
                f"{what}: with stride {stride} < pool_size {pool_size} the windows overlap, and a pixel can be "
                f"the maximum of several windows. It must receive the sum of their gradients: add (+=) "
                f"rather than assign (=)."
            )
        assert_close(received, expected, what=what)


@register("avg_pool_backward", CHAPTER, "backward pass of average pooling: share each gradient equally over its window")
def _check_avg_pool_backward(candidate):
    for what, dy, image, pool_size, stride, received, expected in _backward_answers(
            candidate, "avg_pool_backward", _avg_pool_dx, seed=7):
        if is_close(received, expected * pool_size**2):
            raise ExerciseFailed(
                f"{what}: each pixel received the whole dy(i, j). The window's mean divides every pixel by "
                f"{pool_size}·{pool_size} = {pool_size**2}, so each gets dy(i, j) / {pool_size**2}."
            )
        if is_close(received, _max_pool_dx(dy, image, pool_size, stride)):
            raise ExerciseFailed(f"{what}: you routed each gradient to the window's maximum: that is max pooling's "
                                 "backward pass. Every pixel of the window counts in the mean.")
        if stride < pool_size and is_close(received, _avg_backward(dy, image, pool_size, stride, accumulate=False)):
            raise ExerciseFailed(
                f"{what}: with stride {stride} < pool_size {pool_size} the windows overlap, and a pixel in several "
                f"windows must receive the sum of their shares: add (+=) rather than assign (=)."
            )
        assert_close(received, expected, what=what)

