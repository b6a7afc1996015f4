"""Checkers for chapter 1, background (chapters/01_background.md).

Chapter 1 is a page of prose, not a notebook, so a student calls these checkers from any
notebook of their own: ``from cnncourse.exercises import check``, then ``check(...)``.
"""

import numpy as np

from . import ExerciseFailed, call_candidate, grading_rng, register

CHAPTER = "01_background"

PROBLEMS = ("classification", "detection", "segmentation", "regression")
_TASKS = {
    "a": ("classification", "flag chest X-rays that need attention today: one label (urgent or not) per image"),
    "b": ("segmentation", "outline the liver to measure its volume: a label per voxel, then a measurement"),
    "c": ("regression", "bone age in months: one number per image"),
    "d": ("detection", "every lung nodule: a box (or sphere) with a score per nodule"),
}


@register("background_problem_types", CHAPTER, 'the learning problem of tasks (a)-(d) as a dict {"a": "classification", ...}')
def _check_learning_problems(candidate):
    answers = call_candidate(candidate, what="your function") if callable(candidate) else candidate
    if not isinstance(answers, dict):
        raise ExerciseFailed(
            f'expected a dict such as {{"a": "classification", "b": ..., "c": ..., "d": ...}} (or a function that '
            f"returns one), received {type(answers).__name__} {answers!r}"[:300]
        )
    keys = {str(key).strip().lower().strip("()"): value for key, value in answers.items()}
    missing = sorted(set(_TASKS) - set(keys))
    if missing:
        raise ExerciseFailed(f"no answer for task(s) {', '.join(missing)}: give one of {', '.join(PROBLEMS)} for each of a-d")
    for task, (expected, reason) in _TASKS.items():
        given = str(keys[task]).strip().lower()
        if given not in PROBLEMS:
            raise ExerciseFailed(f"task ({task}): {keys[task]!r} is not one of {', '.join(PROBLEMS)}")
        if given != expected:
            raise ExerciseFailed(f"task ({task}): {given} is not the best fit; ask what the network must output ({reason[:reason.index(':')]})")


def _weights(image_size, kernel_size):
    outputs = (image_size - kernel_size + 1) ** 2  # positions of a 'valid' convolution
    return kernel_size**2, outputs * kernel_size**2, image_size**2 * outputs


@register("background_weight_sharing", CHAPTER, "weights of a shared k x k kernel, a locally connected layer and a dense layer on an n x n image")
def _check_weight_sharing(candidate):
    rng = grading_rng(1)
    drawn_size = int(rng.integers(8, 100))
    drawn = (drawn_size, int(rng.integers(1, 8)))  # drawn from the grading seed: no table of answers
    for image_size, kernel_size in ((28, 3), (5, 3), (10, 1), (64, 5), (7, 7), drawn):
        what = f"weight_counts({image_size}, {kernel_size})"
        received = call_candidate(candidate, image_size, kernel_size, what=what)
        expected = _weights(image_size, kernel_size)
        if not isinstance(received, (tuple, list)) or len(received) != 3:
            raise ExerciseFailed(f"{what}: expected a tuple of 3 integers (shared, locally connected, dense), received {received!r}"[:300])
        for name, got, want in zip(("shared kernel", "locally connected", "dense"), received, expected):
            exact = isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_))
            if not exact or int(got) != want:
                hint = ""
                if name == "dense" and got == image_size**4:
                    hint = " (the output map is (n - k + 1) x (n - k + 1), not n x n: a 'valid' convolution's size)"
                elif name == "locally connected" and got == kernel_size**2 * image_size**2:
                    hint = " (one kernel per output position: (n - k + 1)^2 positions, not n^2)"
                raise ExerciseFailed(f"{what}: {name}: expected the integer {want}, received {got!r}{hint}"[:400])


def _needed(width, kernel_size):
    # 1 + L * (k - 1) >= width, the smallest such L (stride 1, no pooling)
    return int(np.ceil((width - 1) / (kernel_size - 1)))


@register("background_stack_depth", CHAPTER, "stacked k x k convolutions (stride 1) needed to see a region `width` pixels wide")
def _check_convolutions_needed(candidate):
    rng = grading_rng(11)
    drawn = (int(rng.integers(2, 300)), int(rng.integers(2, 10)))  # drawn from the grading seed: no table of answers
    for width, kernel_size in ((3, 3), (5, 3), (24, 3), (25, 3), (26, 5), (2, 3), (100, 7), drawn):
        what = f"convolutions_needed({width}, {kernel_size})"
        received = call_candidate(candidate, width, kernel_size, what=what)
        expected = _needed(width, kernel_size)
        exact = isinstance(received, (int, np.integer)) and not isinstance(received, (bool, np.bool_))
        if not exact or int(received) != expected:
            hint = ""
            if exact and int(received) == expected + 1 and (width - 1) % (kernel_size - 1) == 0:
                hint = " (L layers see 1 + L * (k - 1) pixels; when that equals the width exactly, L layers suffice)"
            elif exact and int(received) == int(np.ceil(width / kernel_size)):
                hint = " (stacked layers overlap: each adds k - 1 pixels, not k)"
            raise ExerciseFailed(f"{what}: expected the integer {expected} (1 + L * ({kernel_size} - 1) >= {width}), received {received!r}{hint}"[:400])
