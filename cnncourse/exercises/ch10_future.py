"""Checkers for chapter 5, future trends and challenges (chapters/10_future)."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "10_future"


@register("future_conv3d_params", CHAPTER, "number of parameters of a Conv3D layer (k*k*k*c_in*filters + filters)")
def _check_conv3d_params(candidate):
    rng = grading_rng(101)
    drawn = (int(rng.integers(1, 8)), int(rng.integers(1, 65)), int(rng.integers(1, 129)))  # no table of answers
    for kernel_size, channels_in, filters in ((3, 1, 8), (3, 8, 16), (5, 2, 4), (1, 32, 10), drawn):
        expected = kernel_size**3 * channels_in * filters + filters
        what = f"conv3d_params({kernel_size}, {channels_in}, {filters})"
        received = call_candidate(candidate, kernel_size, channels_in, filters, what=what)
        if not isinstance(received, (int, np.integer)) or isinstance(received, bool) or received != expected:
            hint = ""
            if received == kernel_size**2 * channels_in * filters + filters:
                hint = " (that is the 2-D count: a 3-D kernel has kernel_size**3 weights per input channel)"
            elif received == kernel_size**3 * channels_in * filters:
                hint = " (add one bias per filter)"
            raise ExerciseFailed(
                f"{what}: expected the integer {expected} (= {kernel_size}^3·{channels_in}·{filters} weights "
                f"+ {filters} biases), received {received!r}{hint}"[:400]
            )


def _reference_average(site_weights, site_sizes):
    shares = np.asarray(site_sizes, dtype=np.float64) / np.sum(site_sizes)
    return [sum(share * weights[i] for share, weights in zip(shares, site_weights)) for i in range(len(site_weights[0]))]


@register("future_fedavg", CHAPTER, "FedAvg server step: size-weighted average of per-site weight lists")
def _check_fedavg(candidate):
    rng = grading_rng(10)
    shapes = [(3, 3, 1, 2), (2,), (4, 2)]
    cases = [
        ([[np.ones(s) * value for s in shapes] for value in (1.0, 3.0)], [100, 300], "two sites of 100 and 300 images"),
        ([[rng.normal(size=s) for s in shapes] for _ in range(3)], [50, 50, 50], "three equal sites"),
        ([[rng.normal(size=s) for s in shapes] for _ in range(4)], [10, 1000, 250, 40], "four unequal sites"),
    ]
    for site_weights, site_sizes, description in cases:
        what = f"federated_average on {description}"
        copies = [[array.copy() for array in weights] for weights in site_weights]
        received = call_candidate(candidate, copies, list(site_sizes), what=what)
        expected = _reference_average(site_weights, site_sizes)
        if not isinstance(received, (list, tuple)) or len(received) != len(expected):
            length = len(received) if isinstance(received, (list, tuple)) else "not a list"
            raise ExerciseFailed(
                f"{what}: expected a list of {len(expected)} arrays (one per weight tensor), "
                f"received {type(received).__name__} ({length})"
            )
        for index, (got, want) in enumerate(zip(received, expected)):
            unweighted = np.mean([weights[index] for weights in site_weights], axis=0)
            if len(set(site_sizes)) > 1 and np.shape(got) == want.shape and np.allclose(got, unweighted):
                raise ExerciseFailed(f"{what}: weight {index} is the plain mean; weight each site by its share of the images")
            assert_close(got, want, what=f"{what}, weight {index}")


def _reference_prevalence_shift(probabilities, old_prevalence, new_prevalence):
    """Bayes' rule with new priors: the odds are multiplied by the ratio of the new to the old prior odds."""
    ratio = (new_prevalence / (1 - new_prevalence)) / (old_prevalence / (1 - old_prevalence))
    odds = probabilities / (1 - probabilities) * ratio
    return odds / (1 + odds)


@register("future_prevalence_shift", CHAPTER, "adjust predicted probabilities (N,) from one prevalence to another (prior shift)")
def _check_prevalence_shift(candidate):
    rng = grading_rng(13)
    cases = [
        (np.array([0.5, 0.9, 0.1]), 0.742, 0.05, "validation (74.2%) to screening (5%)"),
        (np.array([0.5]), 0.5, 0.2, "a 50% training prevalence to 20%"),
        (rng.uniform(0.01, 0.99, 20), 0.625, 0.625, "an unchanged prevalence"),
        (rng.uniform(0.01, 0.99, 50), 0.3, 0.8, "30% to 80%"),
    ]
    for probabilities, old, new, description in cases:
        what = f"adjust_to_prevalence(probabilities of shape {probabilities.shape}, {old}, {new}), {description}"
        received = call_candidate(candidate, probabilities.copy(), old, new, what=what)
        expected = _reference_prevalence_shift(probabilities, old, new)
        received_array = np.asarray(received, dtype=np.float64) if received is not None else None
        if received_array is not None and received_array.shape == expected.shape and not np.allclose(received_array, expected):
            scaled = probabilities * new / old
            inverse = _reference_prevalence_shift(probabilities, new, old)
            if np.allclose(received_array, scaled):
                raise ExerciseFailed(
                    f"{what}: you scaled the probabilities by new / old prevalence; that forgets the normal class. "
                    "Multiply the *odds* p / (1 - p) by the ratio of the prior odds, then turn the odds back into a "
                    "probability (your values can exceed 1)"
                )
            if np.allclose(received_array, inverse):
                raise ExerciseFailed(f"{what}: the ratio is upside down: multiply the odds by new odds / old odds")
        assert_close(received, expected, what=what)
