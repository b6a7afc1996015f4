"""Checkers for chapter 6, the FAQ (chapters/11_faq)."""

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, register

CHAPTER = "11_faq"


def _reference_dilated_receptive_field(layers):
    size, jump = 1, 1
    for kernel_size, stride, dilation in layers:
        size += dilation * (kernel_size - 1) * jump
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


@register("faq_dilated_receptive_field", CHAPTER, "receptive field in pixels of a chain of (kernel_size, stride, dilation) layers")
def _check_dilated_receptive_field(candidate):
    rng = grading_rng(111)
    drawn = [(int(rng.integers(1, 8)), int(rng.integers(1, 3)), int(rng.integers(1, 5))) for _ in range(int(rng.integers(2, 6)))]
    cases = (
        [(3, 1, 1)],
        [(3, 1, 2)],  # a 3 x 3 kernel with its taps 2 apart spans 5 pixels
        [(3, 1, 1), (3, 1, 2), (3, 1, 4)],  # dilations 1, 2, 4: 15, as three 7 x 7 kernels' worth of context
        [(3, 1, 1), (2, 2, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)],  # the seed's CNN: 18
        [(3, 1, 1), (2, 2, 1), (3, 1, 2)],
        [(7, 2, 1), (3, 2, 3), (3, 1, 1)],
        [(1, 1, 5)],  # a 1 x 1 kernel has one tap, whatever the dilation
        drawn,  # a chain drawn from the grading seed: no table of answers
    )
    for layers in cases:
        what = f"dilated_receptive_field({layers})"
        received = _as_number(call_candidate(candidate, list(layers), what=what), what)
        expected = _reference_dilated_receptive_field(layers)
        if received != expected:
            hint = ""
            if received == _reference_dilated_receptive_field([(k, s, 1) for k, s, _ in layers]):
                hint = " (you left out the dilation: a k x k kernel with dilation d spans d * (k - 1) + 1 pixels)"
            elif received == 1 + sum(d * (k - 1) for k, _, d in layers):
                hint = " (each layer's growth must also be multiplied by the strides before it)"
            elif received == _reference_dilated_receptive_field([(k * d, s, 1) for k, s, d in layers]):
                hint = " (a dilated kernel spans d * (k - 1) + 1 pixels, not k * d)"
            raise ExerciseFailed(f"{what}: expected {expected}, received {received:g}{hint}")


@register("faq_dead_unit_fraction", CHAPTER, "fraction of ReLU units whose output is 0 for every input (N, U)")
def _check_dead_unit_fraction(candidate):
    rng = grading_rng(11)
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
    rng = grading_rng(12)
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


def _reference_standardise(train, images):
    return (images - train.mean(axis=0)) / (train.std(axis=0) + 1e-7)


@register("faq_standardise_pixels", CHAPTER, "standardise (N, D) images with each pixel's mean and sd over the training images")
def _check_standardise_pixels(candidate):
    rng = grading_rng(14)
    train = rng.uniform(0.2, 0.9, (40, 6)) * np.linspace(0.5, 1.5, 6)
    constant = train.copy()
    constant[:, 2] = 0.5  # a pixel with the same value in every training image: its sd is 0
    cases = [
        (train, rng.uniform(0, 1, (7, 6)), "7 images of 6 pixels"),
        (train, train, "the training images themselves"),
        (constant, np.full((3, 6), 0.5), "a pixel that is constant in the training images"),
    ]
    for train_images, images, description in cases:
        what = f"standardise(train of shape {train_images.shape}, images of shape {images.shape}), {description}"
        received = call_candidate(candidate, train_images.copy(), images.copy(), what=what)
        expected = _reference_standardise(train_images, images)
        array = None if received is None else np.asarray(received, dtype=np.float64)
        if array is not None and array.shape == expected.shape and not np.allclose(array, expected, rtol=1e-5, atol=1e-5):
            if not np.isfinite(array).all():
                raise ExerciseFailed(f"{what}: your result holds NaN or inf: a pixel whose training sd is 0 must not "
                                     "be divided by 0 (add 1e-7 to the sd)")
            own = (images - images.mean(axis=0)) / (images.std(axis=0) + 1e-7)
            per_image = (images - images.mean(axis=1, keepdims=True)) / (images.std(axis=1, keepdims=True) + 1e-7)
            if len(images) > 1 and np.allclose(array, own, atol=1e-5):
                raise ExerciseFailed(f"{what}: you used the statistics of the images you transform; use the training "
                                     "images' mean and sd, so that validation images are transformed as the training ones were")
            if np.allclose(array, per_image, atol=1e-5):
                raise ExerciseFailed(f"{what}: you standardised each image (its rows); standardise each pixel (a column, "
                                     "axis 0) with its mean and sd over the training images")
        assert_close(received, expected, what=what, rtol=1e-5, atol=1e-5)


def _auc(labels, scores):
    """ROC AUC as the probability that a random positive outscores a random negative (ties count one half)."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).mean() + 0.5 * (positives[:, None] == negatives[None, :]).mean()
    return float(wins)


def _flip_cases():
    """Images (N, 8, 8, 1) with a bright spot on the left (label 1) or the right (label 0), and three scorers."""
    rng = grading_rng(16)
    labels = np.tile([0, 1], 20)
    images = rng.uniform(0.0, 0.3, (40, 8, 8, 1))
    for index, label in enumerate(labels):
        column = rng.integers(0, 3) if label else rng.integers(5, 8)
        images[index, rng.integers(1, 7), column, 0] += 0.6 + 0.3 * rng.random()
    left_side = lambda x: np.asarray(x)[:, :, :4, 0].mean(axis=(1, 2)) - np.asarray(x)[:, :, 4:, 0].mean(axis=(1, 2))
    top_left = lambda x: np.asarray(x)[:, :4, :4, 0].mean(axis=(1, 2)) + 0.5 * np.asarray(x)[:, :4, :, 0].mean(axis=(1, 2))
    symmetric = lambda x: np.asarray(x)[..., 0].max(axis=(1, 2))
    return images, labels, (("a scorer that looks at the left half", left_side),
                            ("a scorer that looks at the top left", top_left),
                            ("a left-right symmetric scorer", symmetric))


@register("faq_flip_auc_change", CHAPTER, "validation AUC on left-right flipped images minus the AUC on the originals")
def _check_flip_auc_change(candidate):
    images, labels, scorers = _flip_cases()
    for description, predict in scorers:
        what = f"flip_auc_change(predict, images of shape {images.shape}, labels) with {description}"
        received = _as_number(call_candidate(candidate, predict, images.copy(), labels.copy(), what=what), what)
        original = _auc(labels, predict(images))
        expected = _auc(labels, predict(images[:, :, ::-1])) - original
        if not np.isclose(received, expected, atol=1e-6):
            hint = ""
            if np.isclose(received, _auc(labels, predict(images[:, ::-1])) - original, atol=1e-6):
                hint = " (you flipped up-down: a left-right flip reverses the width axis, images[:, :, ::-1])"
            elif np.isclose(received, -expected, atol=1e-6):
                hint = " (the sign: flipped minus original)"
            elif np.isclose(received, expected + original, atol=1e-6):
                hint = " (that is the AUC on the flipped images; return the change)"
            raise ExerciseFailed(f"{what}: expected {expected:+.4f}, received {received:+.4f}{hint}")
