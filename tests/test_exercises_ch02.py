"""Chapter 2's exercise checkers: each passes a correct answer and fails wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    assert {exercise.name for exercise in exercises("02_core_concepts")} == {"positive_fraction", "conv_params", "majority_baseline_accuracy"}


# positive_fraction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [lambda labels: float(np.mean(np.asarray(labels) == 1)), lambda labels: np.count_nonzero(labels) / len(labels)],
)
def test_positive_fraction_accepts_correct_answers(answer):
    assert check("positive_fraction", answer)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda labels: float(np.mean(np.asarray(labels) == 0)), r"wrong values .*expected 0\.75, received 0\.25"),
        (lambda labels: int(np.sum(labels)), r"wrong values"),
        (lambda labels: None, r"received None\. Does your function `return` its result\?"),
    ],
)
def test_positive_fraction_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("positive_fraction", wrong)


def test_positive_fraction_reports_stub():
    def positive_fraction(labels):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match=r"positive_fraction\(labels\) is not implemented yet"):
        check("positive_fraction", positive_fraction)


# conv_params ---------------------------------------------------------------------------


def test_conv_params_accepts_formula():
    assert check("conv_params", lambda k, c_in, filters: k * k * c_in * filters + filters)
    assert check("conv_params", lambda k, c_in, filters: int(np.prod([k, k, c_in, filters])) + filters)


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda k, c_in, filters: k * k * c_in * filters, r"conv_params\(3, 1, 32\): expected 320 .*received 288"),
        (lambda k, c_in, filters: k * k * filters + filters, r"conv_params\(3, 32, 64\): expected 18496"),
        (lambda k, c_in, filters: float(k * k * c_in * filters + filters), r"expected 320 .*received 320\.0"),
    ],
)
def test_conv_params_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("conv_params", wrong)


# majority_baseline_accuracy ---------------------------------------------------------------


def majority_baseline_accuracy(y_train, y_test):
    return float(np.mean(np.asarray(y_test) == np.bincount(y_train).argmax()))


def test_majority_baseline_accuracy_accepts_the_train_majority():
    assert check("majority_baseline_accuracy", majority_baseline_accuracy)
    assert check("majority_baseline_accuracy", lambda y_train, y_test: np.mean(y_test == round(np.mean(y_train))))


@pytest.mark.parametrize(
    "wrong, message",
    [
        (lambda y_train, y_test: float(np.mean(y_test == np.bincount(y_test).argmax())), "majority class of y_test"),
        (lambda y_train, y_test: float(np.mean(y_train == np.bincount(y_train).argmax())), "accuracy on y_train"),
        (lambda y_train, y_test: 100 * majority_baseline_accuracy(y_train, y_test), "not a percentage"),
        (lambda y_train, y_test: 0.5, "wrong values"),
        (lambda y_train, y_test: None, "received None"),
    ],
)
def test_majority_baseline_accuracy_rejects_wrong_answers(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("majority_baseline_accuracy", wrong)
