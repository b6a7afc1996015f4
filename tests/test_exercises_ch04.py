"""Chapter 3.2's exercise checkers: each passes a correct answer and fails wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def loops_pool2d(x, pool_size, stride, mode):
    x = np.asarray(x, float)
    out_h, out_w = (x.shape[0] - pool_size) // stride + 1, (x.shape[1] - pool_size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    return np.array([[reduce(x[i * stride : i * stride + pool_size, j * stride : j * stride + pool_size])
                      for j in range(out_w)] for i in range(out_h)])


def loops_max_pool_backward(dy, x, pool_size, stride, accumulate=True):
    dx = np.zeros_like(np.asarray(x, float))
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            window = x[i * stride : i * stride + pool_size, j * stride : j * stride + pool_size]
            p, q = np.unravel_index(np.argmax(window), window.shape)
            if accumulate:
                dx[i * stride + p, j * stride + q] += dy[i, j]
            else:
                dx[i * stride + p, j * stride + q] = dy[i, j]
    return dx


def test_chapter_lists_its_checkers():
    assert {exercise.name for exercise in exercises("04_pooling")} == {"pool2d", "max_pool_backward", "avg_pool_backward"}


# pool2d ------------------------------------------------------------------------------------


def test_pool2d_accepts_loops():
    assert check("pool2d", loops_pool2d)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda x, p, s, m: loops_pool2d(x, p, 1, m), "one pixel at a time"),
        (lambda x, p, s, m: loops_pool2d(x, p, s, "average" if m == "max" else "max"), "your result is average pooling"),
        (lambda x, p, s, m: loops_pool2d(x, p, s, m) * (p * p if m == "average" else 1), "sum of each window"),
        (lambda x, p, s, m: loops_pool2d(x, p, s, m) + 1, "wrong values"),
        (lambda x, p, s, m: loops_pool2d(x, p, s, m).tolist()[:-1], "expected an output of shape"),
    ],
)
def test_pool2d_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("pool2d", wrong)


def test_pool2d_reports_stub():
    def stub(x, pool_size, stride, mode):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match="not implemented yet"):
        check("pool2d", stub)


# max_pool_backward -------------------------------------------------------------------------


def test_max_pool_backward_accepts_loops():
    assert check("max_pool_backward", loops_max_pool_backward)


def test_max_pool_backward_rejects_average_gradient():
    def average(dy, x, p, s):
        dx = np.zeros_like(x)
        for i in range(dy.shape[0]):
            for j in range(dy.shape[1]):
                dx[i * s : i * s + p, j * s : j * s + p] += dy[i, j] / (p * p)
        return dx

    with pytest.raises(ExerciseFailed, match="average pooling's backward"):
        check("max_pool_backward", average)


def test_max_pool_backward_rejects_overwriting():
    with pytest.raises(ExerciseFailed, match=r"add \(\+=\)"):
        check("max_pool_backward", lambda dy, x, p, s: loops_max_pool_backward(dy, x, p, s, accumulate=False))


def test_max_pool_backward_rejects_wrong_shape_and_values():
    with pytest.raises(ExerciseFailed, match="expected dx of the input's shape"):
        check("max_pool_backward", lambda dy, x, p, s: np.zeros_like(dy))
    with pytest.raises(ExerciseFailed, match="wrong values"):
        check("max_pool_backward", lambda dy, x, p, s: 2 * loops_max_pool_backward(dy, x, p, s))
    with pytest.raises(ExerciseFailed, match="received None"):
        check("max_pool_backward", lambda dy, x, p, s: None)


# avg_pool_backward -------------------------------------------------------------------------


def loops_avg_pool_backward(dy, x, pool_size, stride, share=True, accumulate=True):
    dx = np.zeros_like(np.asarray(x, float))
    for i in range(dy.shape[0]):
        for j in range(dy.shape[1]):
            window = (slice(i * stride, i * stride + pool_size), slice(j * stride, j * stride + pool_size))
            value = dy[i, j] / pool_size**2 if share else dy[i, j]
            if accumulate:
                dx[window] += value
            else:
                dx[window] = value
    return dx


def test_avg_pool_backward_accepts_loops():
    assert check("avg_pool_backward", loops_avg_pool_backward)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda dy, x, p, s: loops_avg_pool_backward(dy, x, p, s, share=False), "received the whole dy"),
        (lambda dy, x, p, s: loops_max_pool_backward(dy, x, p, s), "max pooling's backward"),
        (lambda dy, x, p, s: loops_avg_pool_backward(dy, x, p, s, accumulate=False), r"add \(\+=\)"),
        (lambda dy, x, p, s: loops_avg_pool_backward(dy, x, p, s)[:-1], "of the input's shape"),
        (lambda dy, x, p, s: loops_avg_pool_backward(dy, x, p, s) + 1, "wrong values"),
    ],
)
def test_avg_pool_backward_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("avg_pool_backward", wrong)
