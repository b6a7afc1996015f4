"""Chapter 5 (future trends)'s exercise checkers: each passes correct answers and fails wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    assert {exercise.name for exercise in exercises("10_future")} == {"future_conv3d_params", "future_fedavg", "future_prevalence_shift"}


# future_conv3d_params ------------------------------------------------------------------


def test_conv3d_params_accepts_the_formula_and_keras():
    assert check("future_conv3d_params", lambda k, c, f: k**3 * c * f + f)

    from cnncourse.backend import import_keras

    keras = import_keras()

    def with_keras(kernel_size, channels_in, filters):
        layer = keras.layers.Conv3D(filters, kernel_size)
        layer.build((None, 8, 8, 8, channels_in))
        return layer.count_params()

    assert check("future_conv3d_params", with_keras)


def test_conv3d_params_explains_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"2-D count"):
        check("future_conv3d_params", lambda k, c, f: k**2 * c * f + f)
    with pytest.raises(ExerciseFailed, match=r"add one bias per filter"):
        check("future_conv3d_params", lambda k, c, f: k**3 * c * f)
    with pytest.raises(ExerciseFailed, match=r"expected the integer 224"):
        check("future_conv3d_params", lambda k, c, f: float(k**3 * c * f + f))


# future_fedavg ------------------------------------------------------------------------


def federated_average(site_weights, site_sizes):
    shares = np.asarray(site_sizes, dtype=np.float64) / np.sum(site_sizes)
    return [sum(share * np.asarray(w[i]) for share, w in zip(shares, site_weights)) for i in range(len(site_weights[0]))]


def test_fedavg_accepts_correct_answers():
    assert check("future_fedavg", federated_average)

    def with_numpy_average(site_weights, site_sizes):
        return [np.average(np.stack(tensors), axis=0, weights=site_sizes) for tensors in zip(*site_weights)]

    assert check("future_fedavg", with_numpy_average)


def test_fedavg_explains_the_unweighted_mean():
    def plain_mean(site_weights, site_sizes):
        return [np.mean(np.stack(tensors), axis=0) for tensors in zip(*site_weights)]

    with pytest.raises(ExerciseFailed, match=r"plain mean; weight each site"):
        check("future_fedavg", plain_mean)


def test_fedavg_rejects_wrong_structure_and_values():
    with pytest.raises(ExerciseFailed, match=r"expected a list of 3 arrays"):
        check("future_fedavg", lambda site_weights, site_sizes: federated_average(site_weights, site_sizes)[0])
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("future_fedavg", lambda w, n: [sum(np.asarray(s[i]) * k for s, k in zip(w, n)) for i in range(len(w[0]))])


# future_prevalence_shift -------------------------------------------------------------


def adjust_to_prevalence(probabilities, old_prevalence, new_prevalence):
    ratio = (new_prevalence / (1 - new_prevalence)) / (old_prevalence / (1 - old_prevalence))
    odds = np.asarray(probabilities) / (1 - np.asarray(probabilities)) * ratio
    return odds / (1 + odds)


def test_prevalence_shift_accepts_the_odds_and_bayes_forms():
    assert check("future_prevalence_shift", adjust_to_prevalence)

    def with_bayes(p, old, new):  # reweight the two class posteriors by new / old priors, then renormalise
        positive = p * new / old
        negative = (1 - p) * (1 - new) / (1 - old)
        return positive / (positive + negative)

    assert check("future_prevalence_shift", with_bayes)


def test_prevalence_shift_moves_the_old_prevalence_to_the_new_one():
    # A probability equal to the training prevalence moves to the new prevalence (a classifier with no evidence).
    assert np.isclose(adjust_to_prevalence(np.array([0.742]), 0.742, 0.05)[0], 0.05)


def test_prevalence_shift_explains_scaled_probabilities_and_the_inverted_ratio():
    with pytest.raises(ExerciseFailed, match=r"scaled the probabilities by new / old prevalence"):
        check("future_prevalence_shift", lambda p, old, new: p * new / old)
    with pytest.raises(ExerciseFailed, match=r"ratio is upside down"):
        check("future_prevalence_shift", lambda p, old, new: adjust_to_prevalence(p, new, old))


def test_prevalence_shift_rejects_unchanged_probabilities_and_wrong_shapes():
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("future_prevalence_shift", lambda p, old, new: p)
    with pytest.raises(ExerciseFailed, match=r"wrong shape"):
        check("future_prevalence_shift", lambda p, old, new: adjust_to_prevalence(p, old, new)[:1])
    with pytest.raises(ExerciseFailed, match=r"received None"):
        check("future_prevalence_shift", lambda p, old, new: None)
