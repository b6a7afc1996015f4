"""Checkers for "Grades: more than two classes" (chapters/14_grades)."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "14_grades"


@register("grades_ordinal_targets", CHAPTER, "cumulative targets (N, K-1) of ordered grades: 1 where grade > k")
def _check_ordinal_targets(candidate):
    rng = grading_rng(14)
    for labels, num_classes in ((np.array([0, 1, 2, 3, 4]), 5), (rng.integers(0, 5, 40), 5), (np.array([0, 1, 1, 0]), 2),
                                (rng.integers(0, 3, 12), 3)):
        what = f"ordinal_targets(labels {labels[:6].tolist()}..., {num_classes})"
        received = call_candidate(candidate, labels, num_classes, what=what)
        expected = (labels[:, None] > np.arange(num_classes - 1)[None, :]).astype(np.float64)
        if is_close(received, (labels[:, None] >= np.arange(num_classes - 1)[None, :]).astype(float)):
            raise ExerciseFailed(f"{what}: target k must say grade > k, not grade >= k (grade 0 is all zeros)")
        if is_close(received, np.eye(num_classes)[labels]):
            raise ExerciseFailed(f"{what}: that is one-hot; the ordinal targets are cumulative, (N, K-1)")
        assert_close(received, expected, what=what)


def _qwk(y_true, y_pred, k):
    observed = np.zeros((k, k))
    np.add.at(observed, (y_true, y_pred), 1)
    expected = np.outer(observed.sum(1), observed.sum(0)) / observed.sum()
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / (k - 1) ** 2
    return 1 - (weights * observed).sum() / (weights * expected).sum()


@register("grades_qwk", CHAPTER, "quadratic-weighted Cohen's kappa of two gradings (y_true, y_pred, num_classes)")
def _check_qwk(candidate):
    rng = grading_rng(41)
    truth = rng.integers(0, 5, 60)
    cases = [
        (truth, truth.copy(), "a perfect grading"),
        (truth, np.clip(truth + rng.integers(-1, 2, 60), 0, 4), "mistakes of one grade"),
        (truth, rng.integers(0, 5, 60), "a random grading"),
        (truth, 4 - truth, "the grades reversed"),
        (truth, np.zeros(60, int), "always grade 0"),
    ]
    for y_true, y_pred, description in cases:
        what = f"quadratic_weighted_kappa(y_true, y_pred, 5) for {description}"
        received = call_candidate(candidate, y_true, y_pred, 5, what=what)
        expected = _qwk(y_true, y_pred, 5)
        try:
            value = float(received)
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what}: expected a number, received {received!r}"[:300]) from None
        assert_close(value, expected, what=what, rtol=1e-6, atol=1e-9)


@register("grades_colour_kernel", CHAPTER, "a grey first-layer kernel (kh, kw, 1, F) made colour (kh, kw, 3, F)")
def _check_colour_kernel(candidate):
    from ..scratch import conv2d

    rng = grading_rng(3)
    for shape in ((3, 3, 1, 4), (5, 5, 1, 2), (3, 3, 1, 32)):
        kernel = rng.normal(size=shape)
        what = f"grey_to_colour_kernel(kernel of shape {shape})"
        received = call_candidate(candidate, kernel, what=what)
        expected = np.repeat(kernel, 3, axis=2) / 3
        if is_close(received, np.repeat(kernel, 3, axis=2)):
            raise ExerciseFailed(f"{what}: with the kernel copied to all three channels a grey image "
                                 "(R = G = B) gives three times the response; divide by 3")
        if np.shape(received) != shape[:2] + (3, shape[3]):
            raise ExerciseFailed(f"{what}: expected shape {shape[:2] + (3, shape[3])} (kh, kw, c_in = 3, filters), "
                                 f"received shape {np.shape(received)}")
        grey = rng.uniform(size=(1, 8, 8, 1))
        same = conv2d(np.repeat(grey, 3, axis=3), np.asarray(received, dtype=np.float64))
        if not np.allclose(same, conv2d(grey, kernel)):
            raise ExerciseFailed(f"{what}: on a grey image copied into R, G and B your kernel must give the "
                                 "grey kernel's feature maps")
        assert_close(received, expected, what=what)
