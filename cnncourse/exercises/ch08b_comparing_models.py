"""Checkers for the comparison of two models over seeds (notebook 08b)."""

import numpy as np

from . import ExerciseFailed, call_candidate, grading_rng, register

CHAPTER = "08b_comparing_models"


def _paired_cases():
    """(auc_without, auc_with) pairs: validation AUCs per seed, paired by seed (the same subset and start)."""
    without = np.array([0.985, 0.983, 0.986])
    strong_seed_effect = np.array([0.95, 0.97, 0.99, 0.96, 0.98])  # seeds differ more than the variants do
    rng = grading_rng(83)  # one pair drawn from the grading seed: no table of answers
    drawn = np.round(rng.uniform(0.90, 0.99, 6), 4)
    return (
        (without, without + np.array([-0.001, -0.0012, -0.0009])),
        (np.array([0.990, 0.970, 0.980, 0.985]), np.array([0.991, 0.975, 0.990, 0.980])),
        (strong_seed_effect, strong_seed_effect + np.array([0.002, 0.001, 0.003, 0.002, 0.001])),
        (drawn, np.round(drawn + rng.normal(0.003, 0.004, 6), 4)),
    )


@register("augmentation_comparison", CHAPTER,
          "mean paired difference of per-seed validation AUCs (with minus without an augmentation) and its standard error")
def _check_augmentation_comparison(candidate):
    for without, with_ in _paired_cases():
        what = f"paired_difference(auc_without={without.tolist()}, auc_with={with_.tolist()})"
        received = call_candidate(candidate, without.copy(), with_.copy(), what=what)
        if not isinstance(received, (tuple, list)) or len(received) != 2:
            raise ExerciseFailed(f"{what} must return a pair (difference, standard_error), received {received!r}"[:300])
        try:
            difference, error = float(received[0]), float(received[1])
        except (TypeError, ValueError):
            raise ExerciseFailed(f"{what} must return two numbers, received {received!r}"[:300]) from None
        paired = with_ - without  # one difference per seed
        expected_difference = float(paired.mean())
        expected_error = float(paired.std(ddof=1) / np.sqrt(paired.size))
        if np.isclose(difference, -expected_difference, atol=1e-9) and abs(expected_difference) > 1e-9:
            raise ExerciseFailed(f"{what}: the difference has the wrong sign; take auc_with minus auc_without "
                                 f"(= {expected_difference:+.5f})")
        if not np.isclose(difference, expected_difference, atol=1e-9):
            raise ExerciseFailed(f"{what}: the difference is the mean of the per-seed differences "
                                 f"auc_with - auc_without, {expected_difference:+.5f}; received {difference:+.5f}")
        unpaired = float(np.sqrt(without.var(ddof=1) / without.size + with_.var(ddof=1) / with_.size))
        if np.isclose(error, paired.std(ddof=1), rtol=1e-6):
            raise ExerciseFailed(f"{what}: {error:.5g} is the standard deviation of the per-seed differences; the "
                                 f"standard error of their mean divides it by sqrt(number of seeds): {expected_error:.5g}")
        if np.isclose(error, paired.std(ddof=0) / np.sqrt(paired.size), rtol=1e-6):
            raise ExerciseFailed(f"{what}: use the sample standard deviation (ddof=1) of the differences, "
                                 f"expected {expected_error:.5g}, received {error:.5g}")
        if not np.isclose(error, expected_error, rtol=1e-6, atol=1e-12):
            hint = " (that is the unpaired error, which ignores that both runs of a seed share their subset and start)" \
                if np.isclose(error, unpaired, rtol=1e-6) else ""
            raise ExerciseFailed(f"{what}: the standard error of the mean paired difference is "
                                 f"std(differences, ddof=1) / sqrt(n) = {expected_error:.5g}; received {error:.5g}{hint}")
