"""Chapter 6 (FAQ)'s exercise checkers: each passes correct answers and fails wrong ones readably."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("11_faq")}
    assert names == {"faq_dilated_receptive_field", "faq_dead_unit_fraction", "faq_dice_score", "faq_standardise_pixels",
                     "faq_flip_auc_change"}


# faq_dilated_receptive_field -----------------------------------------------------------


def dilated_receptive_field(layers):
    size, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        size += dilation * (kernel_size - 1) * jump
        jump *= stride
    return size


def dilated_backwards(layers):
    """The same quantity from the output back to the input: r <- (r - 1) * s + d * (k - 1) + 1."""
    size = 1
    for kernel_size, stride, dilation in reversed(layers):
        size = (size - 1) * stride + dilation * (kernel_size - 1) + 1
    return size


def test_dilated_receptive_field_accepts_both_recurrences_and_the_package():
    from cnncourse.receptive import receptive_field

    assert check("faq_dilated_receptive_field", dilated_receptive_field)
    assert check("faq_dilated_receptive_field", dilated_backwards)
    assert check("faq_dilated_receptive_field", lambda layers: np.int64(dilated_receptive_field(layers)))
    # the package's (kernel_size, stride) version answers it once each dilated kernel is replaced by its span
    assert check("faq_dilated_receptive_field", lambda layers: receptive_field([(d * (k - 1) + 1, s) for k, s, d in layers]))


def test_dilated_receptive_field_matches_gradient_support_in_keras():
    # The chapter measures receptive fields by backpropagation; check the formula the same way once, with dilation.
    from cnncourse.backend import import_keras

    keras = import_keras()
    import tensorflow as tf

    model = keras.Sequential([
        keras.Input((48, 48, 1)), keras.layers.Conv2D(2, 3), keras.layers.AveragePooling2D(2),
        keras.layers.Conv2D(2, 3, dilation_rate=2), keras.layers.Conv2D(2, 5),
    ])
    inputs = tf.Variable(tf.random.stateless_uniform((1, 48, 48, 1), seed=(0, 1)))
    with tf.GradientTape() as tape:
        outputs = model(inputs)
        centre = outputs.shape[1] // 2
        total = tf.reduce_sum(outputs[:, centre, centre, :])
    rows = np.flatnonzero(np.abs(tape.gradient(total, inputs).numpy()).sum(axis=(0, 2, 3)) > 0)
    assert rows.max() - rows.min() + 1 == dilated_receptive_field([(3, 1, 1), (2, 2, 1), (3, 1, 2), (5, 1, 1)]) == 20


def test_dilated_receptive_field_explains_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"left out the dilation"):
        check("faq_dilated_receptive_field", lambda layers: dilated_receptive_field([(k, s, 1) for k, s, _ in layers]))
    with pytest.raises(ExerciseFailed, match=r"multiplied by the strides"):
        check("faq_dilated_receptive_field", lambda layers: 1 + sum(d * (k - 1) for k, _, d in layers))
    with pytest.raises(ExerciseFailed, match=r"not k \* d"):
        check("faq_dilated_receptive_field", lambda layers: dilated_receptive_field([(k * d, s, 1) for k, s, d in layers]))


def test_dilated_receptive_field_rejects_off_by_one_and_non_numbers():
    with pytest.raises(ExerciseFailed, match=r"expected 3, received 2"):
        check("faq_dilated_receptive_field", lambda layers: dilated_receptive_field(layers) - 1)
    with pytest.raises(ExerciseFailed, match=r"expected one number"):
        check("faq_dilated_receptive_field", lambda layers: [dilated_receptive_field(layers)])


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


# faq_standardise_pixels ----------------------------------------------------------------


def standardise(train, images):
    train, images = np.asarray(train, dtype=float), np.asarray(images, dtype=float)
    return (images - train.mean(axis=0)) / (train.std(axis=0) + 1e-7)


def test_standardise_accepts_correct_answers():
    assert check("faq_standardise_pixels", standardise)

    def with_scikit_learn(train, images):  # StandardScaler leaves constant pixels at 0 (it divides by 1 there)
        from sklearn.preprocessing import StandardScaler

        return StandardScaler().fit(train).transform(images)

    assert check("faq_standardise_pixels", with_scikit_learn)


def test_standardise_explains_common_mistakes():
    with pytest.raises(ExerciseFailed, match=r"statistics of the images you transform"):
        check("faq_standardise_pixels", lambda train, images: standardise(images, images))
    with pytest.raises(ExerciseFailed, match=r"standardised each image"):
        check("faq_standardise_pixels", lambda train, images: (images - images.mean(axis=1, keepdims=True))
              / (images.std(axis=1, keepdims=True) + 1e-7))
    with np.errstate(invalid="ignore", divide="ignore"), pytest.raises(ExerciseFailed, match=r"NaN or inf"):
        check("faq_standardise_pixels", lambda train, images: (images - train.mean(axis=0)) / train.std(axis=0))


def test_standardise_rejects_centring_only_and_wrong_shapes():
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("faq_standardise_pixels", lambda train, images: images - train.mean(axis=0))
    with pytest.raises(ExerciseFailed, match=r"wrong shape"):
        check("faq_standardise_pixels", lambda train, images: standardise(train, images).ravel())


# faq_flip_auc_change -------------------------------------------------------------------


def flip_auc_change(predict, images, labels):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(labels, predict(images[:, :, ::-1])) - roc_auc_score(labels, predict(images))


def test_flip_auc_change_accepts_correct_answers():
    assert check("faq_flip_auc_change", flip_auc_change)
    assert check("faq_flip_auc_change", lambda predict, x, y: float(flip_auc_change(predict, np.asarray(x), y)))

    def with_np_flip(predict, images, labels):
        from sklearn.metrics import roc_auc_score

        return roc_auc_score(labels, predict(np.flip(images, axis=2))) - roc_auc_score(labels, predict(images))

    assert check("faq_flip_auc_change", with_np_flip)


def test_flip_auc_change_explains_common_mistakes():
    from sklearn.metrics import roc_auc_score

    with pytest.raises(ExerciseFailed, match=r"flipped up-down"):
        check("faq_flip_auc_change", lambda predict, x, y: roc_auc_score(y, predict(x[:, ::-1])) - roc_auc_score(y, predict(x)))
    with pytest.raises(ExerciseFailed, match=r"the sign"):
        check("faq_flip_auc_change", lambda predict, x, y: -flip_auc_change(predict, x, y))
    with pytest.raises(ExerciseFailed, match=r"return the change"):
        check("faq_flip_auc_change", lambda predict, x, y: roc_auc_score(y, predict(x[:, :, ::-1])))


def test_flip_auc_change_rejects_a_constant_and_non_numbers():
    with pytest.raises(ExerciseFailed, match=r"expected -0\.\d+, received \+0\.0000"):
        check("faq_flip_auc_change", lambda predict, x, y: 0.0)
    with pytest.raises(ExerciseFailed, match=r"expected one number"):
        check("faq_flip_auc_change", lambda predict, x, y: [flip_auc_change(predict, x, y)])
