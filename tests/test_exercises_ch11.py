"""Chapter 6 (FAQ)'s exercise checkers: each passes correct answers and fails wrong ones readably."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("11_faq")}
    assert names == {"faq_receptive_field", "faq_dead_unit_fraction", "faq_dice_score"}


# faq_receptive_field -------------------------------------------------------------------


def receptive_field(layers):
    size, jump = 1, 1
    for kernel_size, stride in layers:
        size += (kernel_size - 1) * jump
        jump *= stride
    return size


def receptive_field_backwards(layers):
    """The same quantity computed from the output back to the input: r <- (r - 1) * s + k."""
    size = 1
    for kernel_size, stride in reversed(layers):
        size = (size - 1) * stride + kernel_size
    return size


def test_receptive_field_accepts_both_recurrences():
    assert check("faq_receptive_field", receptive_field)
    assert check("faq_receptive_field", receptive_field_backwards)
    assert check("faq_receptive_field", lambda layers: np.int64(receptive_field(layers)))


def test_receptive_field_matches_gradient_support_in_keras():
    # The chapter measures receptive fields by backpropagation; check the formula the same way once.
    from cnncourse.backend import import_keras

    keras = import_keras()
    import tensorflow as tf

    model = keras.Sequential(
        [keras.Input((40, 40, 1)), keras.layers.Conv2D(2, 3), keras.layers.AveragePooling2D(2), keras.layers.Conv2D(2, 5)]
    )
    inputs = tf.Variable(tf.random.stateless_uniform((1, 40, 40, 1), seed=(0, 1)))
    with tf.GradientTape() as tape:
        outputs = model(inputs)
        centre = outputs.shape[1] // 2
        total = tf.reduce_sum(outputs[:, centre, centre, :])
    rows = np.flatnonzero(np.abs(tape.gradient(total, inputs).numpy()).sum(axis=(0, 2, 3)) > 0)
    assert rows.max() - rows.min() + 1 == receptive_field([(3, 1), (2, 2), (5, 1)]) == 12


def test_receptive_field_explains_forgotten_strides():
    def no_strides(layers):
        return 1 + sum(kernel_size - 1 for kernel_size, _ in layers)

    with pytest.raises(ExerciseFailed, match=r"multiplied by the strides"):
        check("faq_receptive_field", no_strides)


def test_receptive_field_rejects_off_by_one_and_non_numbers():
    with pytest.raises(ExerciseFailed, match=r"expected 3, received 2"):
        check("faq_receptive_field", lambda layers: receptive_field(layers) - 1)
    with pytest.raises(ExerciseFailed, match=r"expected one number"):
        check("faq_receptive_field", lambda layers: [receptive_field(layers)])


# faq_dead_unit_fraction ----------------------------------------------------------------


def dead_unit_fraction(activations):
    return float(np.mean(np.all(np.asarray(activations) <= 0, axis=0)))


def test_dead_unit_fraction_accepts_correct_answers():
    assert check("faq_dead_unit_fraction", dead_unit_fraction)
    assert check("faq_dead_unit_fraction", lambda a: np.mean(np.asarray(a).max(axis=0) == 0))


def test_dead_unit_fraction_explains_counting_entries():
    with pytest.raises(ExerciseFailed, match=r"fraction of zero \*entries\*"):
        check("faq_dead_unit_fraction", lambda a: float(np.mean(np.asarray(a) <= 0)))


def test_dead_unit_fraction_explains_the_wrong_axis():
    with pytest.raises(ExerciseFailed, match=r"wrong axis"):
        check("faq_dead_unit_fraction", lambda a: float(np.mean(np.all(np.asarray(a) <= 0, axis=1))))


def test_dead_unit_fraction_rejects_counts():
    with pytest.raises(ExerciseFailed, match=r"expected 0\.\d+, received [1-9]"):
        check("faq_dead_unit_fraction", lambda a: int(np.sum(np.all(np.asarray(a) <= 0, axis=0))))


# faq_dice_score ------------------------------------------------------------------------


def dice_score(predicted, truth):
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    total = predicted.sum() + truth.sum()
    return 1.0 if total == 0 else float(2 * np.logical_and(predicted, truth).sum() / total)


def test_dice_score_accepts_correct_answers_and_equals_f1():
    assert check("faq_dice_score", dice_score)

    def with_sklearn(predicted, truth):
        if not np.any(predicted) and not np.any(truth):
            return 1.0
        return f1_score(np.ravel(truth), np.ravel(predicted))

    assert check("faq_dice_score", with_sklearn)


def test_dice_score_requires_the_empty_case():
    def nan_when_empty(predicted, truth):
        predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            return 2 * np.logical_and(predicted, truth).sum() / (predicted.sum() + truth.sum())

    with pytest.raises(ExerciseFailed, match=r"handle empty masks"):
        check("faq_dice_score", nan_when_empty)


def test_dice_score_rejects_iou_and_pixel_accuracy():
    def iou(predicted, truth):
        union = np.logical_or(predicted, truth).sum()
        return 1.0 if union == 0 else np.logical_and(predicted, truth).sum() / union

    with pytest.raises(ExerciseFailed, match=r"dice_score on a mask shifted by 2 pixels: wrong values"):
        check("faq_dice_score", iou)
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("faq_dice_score", lambda predicted, truth: float(np.mean(np.asarray(predicted) == np.asarray(truth))))
