"""Multi-class metrics of cnncourse.metrics against scikit-learn, by hand, on edge cases and on bad input."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, confusion_matrix, roc_auc_score

from cnncourse.metrics import (
    macro_auc,
    multiclass_confusion,
    multiclass_report,
    one_vs_rest_auc,
    quadratic_weighted_kappa,
    validate_multiclass,
    validate_multiclass_labels,
)


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _data(n, k, seed, signal=1.0, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:k] = np.arange(k)  # every class present
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += signal
    if ties:
        logits = np.round(logits)  # many tied scores
    return y, _softmax(logits)


@pytest.mark.parametrize("n, k, seed, ties", [(50, 3, 0, False), (200, 5, 1, False), (120, 5, 2, True), (30, 2, 3, True),
                                              (400, 7, 4, False)])
def test_auc_matches_sklearn_ovr(n, k, seed, ties):
    y, probabilities = _data(n, k, seed, ties=ties)
    per_class = one_vs_rest_auc(y, probabilities)
    expected = roc_auc_score(y, probabilities, multi_class="ovr", average=None, labels=list(range(k))) if k > 2 else None
    if k == 2:  # sklearn's binary AUC of each column against its class
        expected = [roc_auc_score(y == c, probabilities[:, c]) for c in range(2)]
    np.testing.assert_allclose(per_class, expected, rtol=1e-12)
    if k > 2:
        assert macro_auc(y, probabilities) == pytest.approx(roc_auc_score(y, probabilities, multi_class="ovr",
                                                                          average="macro"), rel=1e-12)


def test_auc_by_hand():
    # Class 2 against the rest: its three images score 0.9, 0.5, 0.2 for class 2, the others 0.1, 0.6, 0.3;
    # of 3 x 3 pairs the class-2 image wins 0.9>all (3), 0.5>0.1,0.3 (2), 0.2>0.1 (1): AUC 6/9.
    y = np.array([2, 2, 2, 0, 1, 0])
    s2 = np.array([0.9, 0.5, 0.2, 0.1, 0.6, 0.3])
    scores = np.column_stack([1 - s2, np.zeros(6), s2])
    assert one_vs_rest_auc(y, scores)[2] == pytest.approx(6 / 9)


def test_confusion_matches_sklearn_and_keeps_absent_classes():
    y, probabilities = _data(150, 5, 5)
    predicted = probabilities.argmax(axis=1)
    matrix = multiclass_confusion(y, predicted, 5)
    np.testing.assert_array_equal(matrix, confusion_matrix(y, predicted, labels=range(5)))
    assert matrix.sum() == 150 and np.trace(matrix) == np.sum(predicted == y)
    # class 3 never occurs nor is predicted: its row and column are there, all zero
    m = multiclass_confusion([0, 1, 2, 4, 4], [0, 2, 2, 4, 0], 5)
    assert m.shape == (5, 5) and m[3].sum() == m[:, 3].sum() == 0
    assert m.tolist() == confusion_matrix([0, 1, 2, 4, 4], [0, 2, 2, 4, 0], labels=range(5)).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_quadratic_kappa_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 100)
    y_pred = np.clip(y + rng.integers(-2, 3, 100), 0, 4)
    expected = cohen_kappa_score(y, y_pred, weights="quadratic", labels=list(range(5)))
    assert quadratic_weighted_kappa(y, y_pred, 5) == pytest.approx(expected, rel=1e-12)


def test_quadratic_kappa_uses_grade_values_when_a_grade_is_absent():
    # Grades 0, 1 and 4 occur: a miss from 1 to 4 is 3 grades. sklearn agrees given labels=range(5); without
    # labels it weights by position among the labels present (4 counts as 2), and gives another number.
    y, y_pred = np.array([0, 1, 4, 4, 0, 1, 1]), np.array([0, 4, 4, 1, 1, 0, 1])
    ours = quadratic_weighted_kappa(y, y_pred, 5)
    assert ours == pytest.approx(cohen_kappa_score(y, y_pred, weights="quadratic", labels=list(range(5))), rel=1e-12)
    assert abs(ours - cohen_kappa_score(y, y_pred, weights="quadratic")) > 0.01


def test_quadratic_kappa_by_hand():
    # Perfect agreement is 1; reversing the grades of a balanced set is -1 (the worst the marginals allow).
    y = np.array([0, 1, 2, 0, 1, 2])
    assert quadratic_weighted_kappa(y, y, 3) == pytest.approx(1.0)
    assert quadratic_weighted_kappa(y, 2 - y, 3) == pytest.approx(-1.0)
    # Off by one grade on half the images costs less than off by two.
    truth = [0, 0, 2, 2]
    near = quadratic_weighted_kappa(truth, [0, 1, 2, 1], 3)
    far = quadratic_weighted_kappa(truth, [0, 2, 2, 0], 3)
    assert far < near < 1
    for predicted, value in (([0, 1, 2, 1], near), ([0, 2, 2, 0], far)):
        assert value == pytest.approx(cohen_kappa_score(truth, predicted, weights="quadratic", labels=[0, 1, 2]))


def test_a_class_absent_from_y_true_is_an_error_or_an_explicit_skip():
    y = np.array([0, 1, 0, 1, 3, 3])  # class 2 absent
    scores = _softmax(np.random.default_rng(0).normal(size=(6, 4)))
    with pytest.raises(ValueError, match="class 2 has no image in y_true.*absent='skip'"):
        one_vs_rest_auc(y, scores)
    with pytest.raises(ValueError, match="class 2 has no image"):
        macro_auc(y, scores)
    per_class = one_vs_rest_auc(y, scores, absent="skip")
    assert np.isnan(per_class[2]) and np.isfinite(per_class[[0, 1, 3]]).all()
    present = [roc_auc_score(y == c, scores[:, c]) for c in (0, 1, 3)]
    np.testing.assert_allclose(per_class[[0, 1, 3]], present, rtol=1e-12)
    assert macro_auc(y, scores, absent="skip") == pytest.approx(np.mean(present))
    with pytest.raises(ValueError, match="class 0 has every image"):
        one_vs_rest_auc(np.zeros(4, int), scores[:4])
    with pytest.raises(ValueError, match="no class has a defined"):
        macro_auc(np.zeros(4, int), scores[:4], absent="skip")
    with pytest.raises(ValueError, match="absent must be one of"):
        one_vs_rest_auc(y, scores, absent="ignore")


def test_kappa_is_never_nan():
    with pytest.raises(ValueError, match="kappa is undefined"):
        quadratic_weighted_kappa([1, 1, 1], [1, 1, 1], 3)
    # one rater constant, the other not: defined (0 here: no agreement beyond chance)
    assert quadratic_weighted_kappa([1, 1, 1, 1], [0, 1, 2, 1], 3) == pytest.approx(
        cohen_kappa_score([1, 1, 1, 1], [0, 1, 2, 1], weights="quadratic", labels=[0, 1, 2]))


def test_report_on_an_ordinal_model():
    y, probabilities = _data(300, 5, 7, signal=2.0)
    report = multiclass_report(y, probabilities)
    predicted = probabilities.argmax(axis=1)
    assert report["num_classes"] == 5 and report["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert report["macro_auc"] == pytest.approx(roc_auc_score(y, probabilities, multi_class="ovr"))
    assert report["quadratic_kappa"] == pytest.approx(cohen_kappa_score(y, predicted, weights="quadratic"))
    np.testing.assert_array_equal(report["confusion"], confusion_matrix(y, predicted))
    expected_grade = np.rint(probabilities @ np.arange(5)).astype(int)  # another prediction rule for grades
    other = multiclass_report(y, probabilities, y_pred=expected_grade)
    assert other["quadratic_kappa"] == pytest.approx(cohen_kappa_score(y, expected_grade, weights="quadratic",
                                                                       labels=list(range(5))))


@pytest.mark.parametrize("call, error, words", [
    (lambda: one_vs_rest_auc([0, 1, 5], np.full((3, 3), 1 / 3)), ValueError, "classes 0..2 (num_classes=3), got values [5]"),
    (lambda: one_vs_rest_auc([0, 1, -1], np.full((3, 3), 1 / 3)), ValueError, "got values [-1]"),
    (lambda: one_vs_rest_auc([0, 1, 2], np.full((3,), 0.5)), ValueError, "scores must have shape (N, K)"),
    (lambda: one_vs_rest_auc([0, 1, 2], np.full((3, 1), 0.5)), ValueError, "scores must have shape (N, K)"),
    (lambda: one_vs_rest_auc([0, 1], np.full((3, 3), 1 / 3)), ValueError, "same length, got 2 and 3"),
    (lambda: one_vs_rest_auc([0, 1, 2], [[np.nan, 0, 1]] * 3), ValueError, "3 NaN or infinite"),
    (lambda: one_vs_rest_auc([0, 1, 2], [["a", "b", "c"]] * 3), TypeError, "scores must be numeric"),
    (lambda: one_vs_rest_auc([0.5, 1, 2], np.full((3, 3), 1 / 3)), ValueError, "whole numbers"),
    (lambda: one_vs_rest_auc([True, False, True], np.full((3, 3), 1 / 3)), TypeError, "dtype bool"),
    (lambda: one_vs_rest_auc([[0, 1, 2]], np.full((3, 3), 1 / 3)), ValueError, "y_true must have shape (N,)"),
    (lambda: multiclass_confusion([0, 1], [0, 3], 3), ValueError, "y_pred must hold classes 0..2"),
    (lambda: multiclass_confusion([0, 1], [0, 1, 1], 3), ValueError, "same length"),
    (lambda: multiclass_confusion([0, 1], [0, 1], 1), ValueError, "num_classes must be an int >= 2, got 1"),
    (lambda: quadratic_weighted_kappa([], [], 3), ValueError, "y_true is empty"),
    (lambda: validate_multiclass_labels([0, 1], 2.5), TypeError, "num_classes must be an int, got float"),
    (lambda: multiclass_report([0, 1, 2], np.eye(3), y_pred=[0, 1]), ValueError, "y_pred must have one class per image"),
])
def test_bad_input_is_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_validate_multiclass_converts():
    labels, scores = validate_multiclass(np.array([[0.0], [2.0]]), [[1, 0, 0], [0, 0, 1]])
    assert labels.dtype == np.int64 and labels.tolist() == [0, 2] and scores.dtype == np.float64
