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
    delong_test,
    majority_baseline,
    paired_bootstrap_auc,
    validate_binary,
    validate_labels,
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


def _two_models(n=400, seed=0):
    """Labels (n,) and two correlated models' scores (n,): b is a noisier copy of a."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    labels[:2] = (0, 1)
    scores_a = rng.normal(1.5 * labels, 1.0)
    return labels, scores_a, scores_a + rng.normal(0, 0.8, n)


def test_validate_labels_is_public_and_names_the_argument():
    assert validate_labels([[0], [1], [1]], "y_val").tolist() == [0, 1, 1]
    assert validate_labels(np.array([True, False])).dtype == np.int64
    with pytest.raises(ValueError, match="y_val must contain only 0 and 1"):
        validate_labels([0, 2], "y_val")
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\)"):
        validate_labels(np.zeros((2, 2)), "labels")
    with pytest.raises(TypeError, match="numeric labels"):
        validate_labels(np.array(["a", "b"]), "labels")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_bootstrap_point_estimate_is_sklearns_difference(seed):
    labels, scores_a, scores_b = _two_models(seed=seed)
    result = paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=200, seed=seed)
    assert result["auc_a"] == roc_auc_score(labels, scores_a)
    assert result["auc_b"] == roc_auc_score(labels, scores_b)
    assert result["difference"] == pytest.approx(roc_auc_score(labels, scores_a) - roc_auc_score(labels, scores_b))
    assert result["lower"] <= result["difference"] <= result["upper"]
    assert result["n_resamples"] == 200 and result["confidence"] == 0.95


def test_paired_bootstrap_resamples_auc_as_sklearn_does():
    # The rank formula used per resample equals roc_auc_score, ties included.
    labels, scores_a, _ = _two_models(n=60)
    tied = np.round(scores_a)  # many ties
    result = paired_bootstrap_auc(labels, tied, np.zeros_like(tied), n_resamples=10)
    assert result["auc_a"] == pytest.approx(roc_auc_score(labels, tied)) and result["auc_b"] == 0.5
    # A constant model has AUC 0.5 in every resample, so the differences are AUC_a(resample) - 0.5.
    rng = np.random.default_rng(0)
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    index = np.concatenate([rng.choice(positives, (10, positives.size)), rng.choice(negatives, (10, negatives.size))], 1)
    by_sklearn = np.array([roc_auc_score(labels[row], tied[row]) for row in index]) - 0.5
    alpha = 0.025
    assert result["lower"] == pytest.approx(np.quantile(by_sklearn, alpha))
    assert result["upper"] == pytest.approx(np.quantile(by_sklearn, 1 - alpha))


def test_paired_bootstrap_is_deterministic_for_a_seed():
    labels, scores_a, scores_b = _two_models()
    first = paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=300, seed=5)
    assert first == paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=300, seed=5)
    assert first["lower"] != paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=300, seed=6)["lower"]


def test_identical_scores_differ_by_zero():
    labels, scores_a, _ = _two_models()
    result = paired_bootstrap_auc(labels, scores_a, scores_a.copy(), n_resamples=100)
    assert result["difference"] == 0 and result["lower"] == 0 and result["upper"] == 0
    assert result["standard_error"] == 0 and result["p_value"] == 1
    delong = delong_test(labels, scores_a, scores_a.copy())
    assert delong["difference"] == 0 and delong["standard_error"] == 0 and delong["z"] == 0 and delong["p_value"] == 1


def test_paired_interval_is_narrower_than_unpaired_and_agrees_with_delong():
    labels, scores_a, scores_b = _two_models(n=600)
    paired = paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=2000, seed=0)
    delong = delong_test(labels, scores_a, scores_b)
    assert delong["auc_a"] == pytest.approx(roc_auc_score(labels, scores_a))
    assert delong["auc_b"] == pytest.approx(roc_auc_score(labels, scores_b))
    assert delong["difference"] == pytest.approx(paired["difference"])
    # DeLong's standard error is the asymptotic version of the bootstrap's.
    assert delong["standard_error"] == pytest.approx(paired["standard_error"], rel=0.15)
    # Pairing removes what both models share: the interval is narrower than either model's own.
    _, lower_a, upper_a = bootstrap_ci(roc_auc_score, labels, scores_a, n_boot=500)
    assert paired["upper"] - paired["lower"] < upper_a - lower_a
    # b is a noisier copy of a: a clearly better ranking.
    assert paired["lower"] > 0 and delong["z"] > 3 and delong["p_value"] < 1e-3 and paired["p_value"] < 0.01
    # A bootstrap of n resamples cannot show p below 2 / (n + 1): never a p of exactly 0.
    assert paired["p_value"] >= 2 / (2000 + 1)


def test_delong_single_auc_variance_by_hand():
    # 2 positives (0.9, 0.4), 2 negatives (0.5, 0.1): psi = [[1, 1], [0, 1]], AUC 3/4.
    labels = np.array([1, 1, 0, 0])
    scores = np.array([0.9, 0.4, 0.5, 0.1])
    result = delong_test(labels, scores, np.array([0.9, 0.1, 0.5, 0.4]))  # b: psi = [[1, 1], [0, 0]], AUC 1/2
    assert result["auc_a"] == 0.75 and result["auc_b"] == 0.5
    # V10: a (1, 1/2), b (1, 0); V01: a (1/2, 1), b (0, 1). Difference of components: V10 (0, 1/2), V01 (1/2, 0).
    variance = np.var([0, 0.5], ddof=1) / 2 + np.var([0.5, 0], ddof=1) / 2
    assert result["standard_error"] == pytest.approx(np.sqrt(variance))
    assert result["z"] == pytest.approx(0.25 / np.sqrt(variance))


@pytest.mark.parametrize("function", [paired_bootstrap_auc, delong_test])
def test_paired_comparisons_reject_bad_input(function):
    labels, scores_a, scores_b = _two_models(n=20)
    with pytest.raises(ValueError, match="same length"):
        function(labels, scores_a, scores_b[:-1])
    with pytest.raises(ValueError, match="same length"):
        function(labels[:-1], scores_a, scores_b)
    with pytest.raises(ValueError, match="scores_b contains 1 NaN"):
        function(labels, scores_a, np.where(np.arange(20) == 3, np.nan, scores_b))
    with pytest.raises(ValueError, match="scores_a contains 1 NaN"):
        function(labels, np.where(np.arange(20) == 3, np.inf, scores_a), scores_b)
    with pytest.raises(ValueError, match="both classes"):
        function(np.ones(20, int), scores_a, scores_b)
    with pytest.raises(ValueError, match=r"scores_a must have shape \(N,\)"):
        function(labels, np.ones((20, 2)), scores_b)
    with pytest.raises(ValueError, match="only 0 and 1"):
        function(labels + 1, scores_a, scores_b)


def test_paired_bootstrap_bad_arguments():
    labels, scores_a, scores_b = _two_models(n=20)
    for bad in (5, 2.5, True, "100"):
        with pytest.raises(ValueError, match="n_resamples"):
            paired_bootstrap_auc(labels, scores_a, scores_b, n_resamples=bad)
    for bad in (0, 1, 1.5, "0.9"):
        with pytest.raises(ValueError, match="confidence"):
            paired_bootstrap_auc(labels, scores_a, scores_b, confidence=bad)
