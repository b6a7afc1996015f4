"""Chapter 3.4's exercise checkers: each passes correct answers and fails wrong ones readably."""

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("06_loss")}
    assert names == {"binary_crossentropy", "softmax_logit_gradient", "balanced_class_weights"}


# binary_crossentropy -------------------------------------------------------------------


def clipped_bce(y_true, y_pred):
    p = np.clip(y_pred, 1e-7, 1 - 1e-7)
    return float(np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))))


def picked_bce(y_true, y_pred):
    """The probability of the true class, clipped, then its mean negative log."""
    p_true = np.where(y_true == 1, y_pred, 1 - y_pred)
    return -np.log(np.clip(p_true, 1e-7, 1 - 1e-7)).mean()


def test_binary_crossentropy_accepts_clipped_answers():
    # Keras itself works in float32, where 1 - 1e-7 rounds: its value differs at the clip.
    assert check("binary_crossentropy", clipped_bce)
    assert check("binary_crossentropy", picked_bce)


def test_binary_crossentropy_rejects_a_missing_clip():
    def unclipped(y_true, y_pred):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.mean(-(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred))))

    with pytest.raises(ExerciseFailed, match=r"Clip the probabilities"):
        check("binary_crossentropy", unclipped)


def test_binary_crossentropy_rejects_per_sample_losses_and_swapped_terms():
    with pytest.raises(ExerciseFailed, match=r"one number, the mean over the batch"):
        check("binary_crossentropy", lambda y, p: -(y * np.log(np.clip(p, 1e-7, 1)) + (1 - y) * np.log(np.clip(1 - p, 1e-7, 1))))
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("binary_crossentropy", lambda y, p: clipped_bce(1 - y, p))


# softmax_logit_gradient ----------------------------------------------------------------


def stable_gradient(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p[np.arange(len(labels)), labels] -= 1
    return p / len(labels)


def test_softmax_logit_gradient_accepts_a_stable_answer_and_tensorflow():
    assert check("softmax_logit_gradient", stable_gradient)

    from cnncourse.backend import import_keras

    keras = import_keras()
    import tensorflow as tf

    def with_tape(logits, labels):
        z = tf.Variable(logits)
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)
        return tape.gradient(loss, z).numpy()

    assert check("softmax_logit_gradient", with_tape)


def test_softmax_logit_gradient_names_the_missing_mean_and_the_sign():
    with pytest.raises(ExerciseFailed, match=r"divide by N"):
        check("softmax_logit_gradient", lambda z, y: stable_gradient(z, y) * len(y))
    with pytest.raises(ExerciseFailed, match=r"wrong sign"):
        check("softmax_logit_gradient", lambda z, y: -stable_gradient(z, y))


def test_softmax_logit_gradient_rejects_an_overflowing_softmax():
    def naive(logits, labels):
        with np.errstate(over="ignore", invalid="ignore"):
            p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        p[np.arange(len(labels)), labels] -= 1
        return p / len(labels)

    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("softmax_logit_gradient", naive)


# balanced_class_weights ----------------------------------------------------------------


def balanced(labels):
    classes, counts = np.unique(labels, return_counts=True)
    return {int(c): len(labels) / (len(classes) * n) for c, n in zip(classes, counts)}


def test_balanced_class_weights_accepts_the_formula():
    assert check("balanced_class_weights", balanced)


def test_balanced_class_weights_rejects_inverse_frequencies_and_lists():
    def inverse_frequency(labels):
        classes, counts = np.unique(labels, return_counts=True)
        return {int(c): 1 / n for c, n in zip(classes, counts)}

    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("balanced_class_weights", inverse_frequency)
    with pytest.raises(ExerciseFailed, match=r"expected a dict"):
        check("balanced_class_weights", lambda labels: list(balanced(labels).values()))
    with pytest.raises(ExerciseFailed, match=r"expected the keys"):
        check("balanced_class_weights", lambda labels: {str(k): v for k, v in balanced(labels).items()})
