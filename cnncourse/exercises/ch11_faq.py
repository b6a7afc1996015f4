"""Checkers for chapter 6, the FAQ (chapters/11_faq)."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, register

CHAPTER = "11_faq"


def _reference_receptive_field(layers):
    size, jump = 1, 1
    for kernel_size, stride in layers:
        size += (kernel_size - 1) * jump
        jump *= stride
    return size


def _as_number(received, what):
    """``received`` as a float, or a readable failure when it is not one number."""
    if isinstance(received, (bool, np.bool_)) or not np.isscalar(received) and np.ndim(received) != 0:
        raise ExerciseFailed(f"{what}: expected one number, received {type(received).__name__} {received!r}"[:300])
    try:
        return float(received)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"{what}: expected one number, received {type(received).__name__} {received!r}"[:300]) from None


@register("faq_receptive_field", CHAPTER, "receptive field in pixels of a chain of (kernel_size, stride) layers")
def _check_receptive_field(candidate):
    cases = (
        [(3, 1)],
        [(3, 1), (3, 1)],
        [(5, 1)],
        [(3, 1), (2, 2), (3, 1)],
        [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)],  # the seed's CNN: 18
        [(7, 2), (3, 2), (3, 1)],
        [(1, 1)],
    )
    for layers in cases:
        what = f"receptive_field({layers})"
        received = _as_number(call_candidate(candidate, list(layers), what=what), what)
        expected = _reference_receptive_field(layers)
        if received != expected:
            hint = ""
            if received == 1 + sum(k - 1 for k, _ in layers):
                hint = " (you added kernel_size - 1 per layer; each layer's growth must be multiplied by the strides before it)"
            raise ExerciseFailed(f"{what}: expected {expected}, received {received:g}{hint}")


@register("faq_dead_unit_fraction", CHAPTER, "fraction of ReLU units whose output is 0 for every input (N, U)")
def _check_dead_unit_fraction(candidate):
    rng = np.random.default_rng(11)
    alive = np.maximum(rng.normal(size=(50, 8)), 0.0)
    cases = [np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])]
    partly = alive.copy()
    partly[:, [1, 4, 5]] = 0.0
    cases += [partly, np.zeros((4, 5)), np.abs(rng.normal(size=(3, 6))) + 0.1]
    for activations in cases:
        what = f"dead_unit_fraction(activations of shape {activations.shape})"
        received = _as_number(call_candidate(candidate, activations.copy(), what=what), what)
        expected = float(np.mean(np.all(activations <= 0, axis=0)))
        if not np.isclose(received, expected):
            hint = ""
            if np.isclose(received, np.mean(activations <= 0)):
                hint = " (that is the fraction of zero *entries*; count a unit as dead only if it is 0 for all N rows)"
            elif np.isclose(received, np.mean(np.all(activations <= 0, axis=1))):
                hint = " (you looked along the wrong axis: units are the columns, images the rows)"
            raise ExerciseFailed(f"{what}: expected {expected:.4f}, received {received:.4f}{hint}")


def _reference_dice(predicted, truth):
    total = predicted.sum() + truth.sum()
    return 1.0 if total == 0 else 2.0 * np.logical_and(predicted, truth).sum() / total


@register("faq_dice_score", CHAPTER, "Dice overlap 2|A∩B|/(|A|+|B|) of two boolean masks; 1.0 when both are empty")
def _check_dice_score(candidate):
    rng = np.random.default_rng(12)
    truth = np.zeros((28, 28), bool)
    truth[10:14, 5:9] = True
    shifted = np.roll(truth, 2, axis=1)
    cases = [
        (truth, truth, "identical masks"),
        (shifted, truth, "a mask shifted by 2 pixels"),
        (np.zeros_like(truth), truth, "an empty prediction"),
        (np.zeros_like(truth), np.zeros_like(truth), "two empty masks (no lesion, none found)"),
        (rng.random((6, 7)) < 0.4, rng.random((6, 7)) < 0.3, "random 6 x 7 masks"),
    ]
    for predicted, true_mask, description in cases:
        what = f"dice_score on {description}"
        received = _as_number(call_candidate(candidate, predicted.copy(), true_mask.copy(), what=what), what)
        expected = _reference_dice(predicted, true_mask)
        if not np.isfinite(received):
            raise ExerciseFailed(f"{what}: expected {expected:.4f}, received {received} (handle empty masks)")
        assert_close(received, expected, what=what)
