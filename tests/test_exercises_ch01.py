"""Chapter 1 (background)'s exercise checkers: each passes correct answers and fails wrong ones readably.

Chapter 1 is a Markdown page; its checkers are called from any notebook."""

import math

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises

ANSWERS = {"a": "classification", "b": "segmentation", "c": "regression", "d": "detection"}


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("01_background")}
    assert names == {"background_problem_types", "background_weight_sharing", "background_stack_depth"}


def test_chapter_page_names_every_checker():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "chapters" / "01_background.md").read_text(encoding="utf-8")
    for exercise in exercises("01_background"):
        assert f'check("{exercise.name}"' in page


# background_problem_types ----------------------------------------------------------


def test_learning_problems_accepts_a_dict_or_a_function_and_tolerant_spelling():
    assert check("background_problem_types", ANSWERS)
    assert check("background_problem_types", lambda: dict(ANSWERS))
    assert check("background_problem_types", {"(A)": "Classification", "b": " segmentation", "C": "REGRESSION", "d": "detection"})


def test_learning_problems_names_the_wrong_task():
    with pytest.raises(ExerciseFailed, match=r"task \(b\): detection is not the best fit"):
        check("background_problem_types", {**ANSWERS, "b": "detection"})
    with pytest.raises(ExerciseFailed, match=r"'clustering' is not one of classification"):
        check("background_problem_types", {**ANSWERS, "c": "clustering"})
    with pytest.raises(ExerciseFailed, match=r"no answer for task\(s\) d"):
        check("background_problem_types", {key: ANSWERS[key] for key in "abc"})
    with pytest.raises(ExerciseFailed, match=r"expected a dict"):
        check("background_problem_types", ["classification", "segmentation", "regression", "detection"])


# background_weight_sharing -------------------------------------------------------------


def weight_counts(image_size, kernel_size):
    positions = (image_size - kernel_size + 1) ** 2
    return kernel_size**2, positions * kernel_size**2, image_size**2 * positions


def test_weight_sharing_accepts_the_counts():
    assert check("background_weight_sharing", weight_counts)
    assert check("background_weight_sharing", lambda n, k: [np.int64(v) for v in weight_counts(n, k)])
    assert weight_counts(28, 3) == (9, 6084, 529984) and 6084 // 9 == 26**2  # the figures on the page


def test_weight_sharing_explains_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"not n x n"):
        check("background_weight_sharing", lambda n, k: (k * k, (n - k + 1) ** 2 * k * k, n**4))
    with pytest.raises(ExerciseFailed, match=r"not n\^2"):
        check("background_weight_sharing", lambda n, k: (k * k, n * n * k * k, weight_counts(n, k)[2]))
    with pytest.raises(ExerciseFailed, match=r"expected the integer 9, received 9.0"):
        check("background_weight_sharing", lambda n, k: tuple(float(v) for v in weight_counts(n, k)))
    with pytest.raises(ExerciseFailed, match=r"expected a tuple of 3 integers"):
        check("background_weight_sharing", lambda n, k: weight_counts(n, k)[:2])


# background_stack_depth --------------------------------------------------------


def convolutions_needed(width, kernel_size):
    return math.ceil((width - 1) / (kernel_size - 1))


def test_convolutions_needed_accepts_the_formula_and_a_search_with_the_package():
    from cnncourse.receptive import receptive_field

    assert check("background_stack_depth", convolutions_needed)

    def by_search(width, kernel_size):
        layers = 0
        while receptive_field([(kernel_size, 1)] * layers) < width:
            layers += 1
        return layers

    assert check("background_stack_depth", by_search)
    assert convolutions_needed(24, 3) == by_search(24, 3) == 12  # the figure on the page


def test_convolutions_needed_explains_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"L layers suffice"):
        check("background_stack_depth", lambda w, k: (w - 1) // (k - 1) + 1)
    with pytest.raises(ExerciseFailed, match=r"each adds k - 1 pixels, not k"):
        check("background_stack_depth", lambda w, k: math.ceil(w / k))
    with pytest.raises(ExerciseFailed, match=r"expected the integer 1 .*received 1.0"):
        check("background_stack_depth", lambda w, k: float(convolutions_needed(w, k)))
