"""cnncourse.metrics against scikit-learn and hand-computed confusion matrices."""

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from cnncourse.metrics import (
    binary_report,
    bootstrap_ci,
    calibration_bins,
    choose_threshold,
    confusion,
    majority_baseline,
    validate_binary,
)

# Ten patients, hand-labelled: at threshold 0.5 the decisions are
# truth     0    0    0    0    1    1    1    1    1    1
# score   0.1  0.4  0.6  0.2  0.9  0.8  0.3  0.7  0.55 0.45
# call      0    0    1    0    1    1    0    1    1    0
# so TN=3, FP=1, FN=2, TP=4.
Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
S = np.array([0.1, 0.4, 0.6, 0.2, 0.9, 0.8, 0.3, 0.7, 0.55, 0.45])


def test_binary_report_by_hand():
    report = binary_report(Y, S, threshold=0.5)
    assert report["confusion"].tolist() == [[3, 1], [2, 4]]
    assert report["sensitivity"] == pytest.approx(4 / 6)
    assert report["specificity"] == pytest.approx(3 / 4)
    assert report["ppv"] == pytest.approx(4 / 5)
    assert report["npv"] == pytest.approx(3 / 5)
    assert report["accuracy"] == pytest.approx(7 / 10)
    # AUC by hand: of the 24 (positive, negative) pairs, the positive scores higher in 20.
    assert report["auc"] == pytest.approx(20 / 24)


@pytest.mark.parametrize("seed", range(5))
def test_binary_report_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + rng.normal(0.4, 0.25, 200), 0, 1)
    threshold = rng.uniform(0.3, 0.7)
    decisions = (scores >= threshold).astype(int)
    report = binary_report(labels, scores, threshold)
    assert np.array_equal(report["confusion"], confusion_matrix(labels, decisions, labels=[0, 1]))
    assert report["sensitivity"] == pytest.approx(recall_score(labels, decisions))
    assert report["specificity"] == pytest.approx(recall_score(labels, decisions, pos_label=0))
    assert report["ppv"] == pytest.approx(precision_score(labels, decisions))
    assert report["npv"] == pytest.approx(precision_score(labels, decisions, pos_label=0))
    assert report["accuracy"] == pytest.approx(accuracy_score(labels, decisions))
    assert report["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(labels, decisions))
    assert report["auc"] == pytest.approx(roc_auc_score(labels, scores))


def test_ratios_with_empty_denominator_are_nan():
    report = binary_report(Y, S, threshold=2.0)  # nothing called positive
    assert np.isnan(report["ppv"]) and report["sensitivity"] == 0 and report["specificity"] == 1
    single_class = binary_report(np.ones(4, int), np.array([0.2, 0.6, 0.7, 0.9]))
    assert np.isnan(single_class["auc"]) and np.isnan(single_class["specificity"])


def test_confusion_layout():
    assert confusion([0, 1, 1, 0], [0, 1, 0, 1]).tolist() == [[1, 1], [1, 1]]
    assert confusion([1, 1, 1], [1, 1, 1]).tolist() == [[0, 0], [0, 3]]


def test_majority_baseline():
    report = majority_baseline([1, 1, 1, 0], [1, 0, 1, 1, 0])
    assert report["majority_class"] == 1
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["sensitivity"] == 1 and report["specificity"] == 0 and report["auc"] == 0.5


def test_choose_threshold_youden_is_best_on_validation():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = labels * 0.25 + rng.uniform(0, 1, 300)
    threshold = choose_threshold(labels, scores, rule="youden")
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores)
    best_j = np.max(true_positive_rate - false_positive_rate)
    report = binary_report(labels, scores, threshold)
    assert report["sensitivity"] + report["specificity"] - 1 == pytest.approx(best_j)
    assert not np.any(scores == threshold)  # the cut never sits on a score


def test_choose_threshold_rules():
    # Separable: every rule finds a perfect cut between 0.4 and 0.6.
    labels, scores = np.array([0, 0, 1, 1, 1]), np.array([0.1, 0.4, 0.6, 0.7, 0.9])
    for rule in ("youden", "balanced_accuracy", "accuracy"):
        assert 0.4 < choose_threshold(labels, scores, rule=rule) <= 0.6
    # Screening: sensitivity >= 0.95 forces the cut below every positive.
    threshold = choose_threshold(Y, S, rule="sensitivity", min_sensitivity=0.95)
    assert binary_report(Y, S, threshold)["sensitivity"] == 1.0
    accuracy_rule = choose_threshold(Y, S, rule="accuracy")
    best = max(binary_report(Y, S, t)["accuracy"] for t in np.r_[S, 1.0])
    assert binary_report(Y, S, accuracy_rule)["accuracy"] == pytest.approx(best)


def test_bootstrap_ci_contains_estimate_and_is_reproducible():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = labels * 0.4 + rng.uniform(0, 1, 300)
    estimate, lower, upper = bootstrap_ci(roc_auc_score, labels, scores, n_boot=200, seed=3)
    assert estimate == pytest.approx(roc_auc_score(labels, scores))
    assert lower < estimate < upper and upper - lower < 0.2
    assert bootstrap_ci(roc_auc_score, labels, scores, n_boot=200, seed=3) == (estimate, lower, upper)
    # A bigger sample gives a narrower interval (about 1/sqrt(n)).
    big_labels = np.tile(labels, 4)
    big_scores = np.tile(scores, 4)
    _, big_lower, big_upper = bootstrap_ci(roc_auc_score, big_labels, big_scores, n_boot=200, seed=3)
    assert big_upper - big_lower < upper - lower


def test_calibration_bins():
    labels = np.array([0, 0, 1, 1, 1, 0])
    probabilities = np.array([0.05, 0.15, 0.95, 0.85, 1.0, 0.9])
    table = calibration_bins(labels, probabilities, n_bins=2)
    assert table["count"].tolist() == [2, 4]
    assert table["observed"].tolist() == [0.0, 0.75]
    assert table["mean_predicted"] == pytest.approx([0.1, 0.925])
    assert table["ece"] == pytest.approx(2 / 6 * 0.1 + 4 / 6 * 0.175)
    empty = calibration_bins(labels, probabilities, n_bins=10)
    assert empty["count"].sum() == 6 and np.isnan(empty["observed"][5])


@pytest.mark.parametrize(
    "labels, scores, message",
    [
        (np.zeros((3, 2)), np.zeros(3), "y_true must have shape"),
        (np.zeros(3), np.zeros((3, 2)), "scores must have shape"),
        (np.zeros(3), np.zeros(4), "same length"),
        (np.array([0, 1, 2]), np.zeros(3), "only 0 and 1"),
        (np.array([0, 1, np.nan]), np.zeros(3), "only 0 and 1"),
        (np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]), "NaN"),
        (np.array([], int), np.array([]), "empty"),
    ],
)
def test_bad_input(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        binary_report(labels, scores)


def test_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        choose_threshold(Y, S, rule="magic")
    with pytest.raises(ValueError, match="both classes"):
        choose_threshold(np.ones(3, int), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="threshold"):
        binary_report(Y, S, threshold=float("nan"))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_bins(Y, S * 2)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ci(roc_auc_score, Y, S, n_boot=2)
    with pytest.raises(TypeError, match="metric"):
        bootstrap_ci("auc", Y, S)
    with pytest.raises(TypeError, match="numeric"):
        validate_binary(Y, ["a"] * len(Y))


def test_column_vectors_are_accepted():
    labels, scores = validate_binary(Y[:, None], S[:, None])
    assert labels.shape == scores.shape == (10,) and labels.dtype == np.int64


def test_confusion_and_baseline_name_the_bad_argument():
    with pytest.raises(ValueError, match="y_pred must contain only 0 and 1"):
        confusion([0, 1], [0.3, 1])
    with pytest.raises(ValueError, match="same shape"):
        confusion([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="y_train"):
        majority_baseline([0, 2], [0, 1])
