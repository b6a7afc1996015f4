"""The checkers of "Training deeper CNNs" (07b): correct answers pass, usual mistakes fail readably."""

import math

import numpy as np
import pytest

from cnncourse.exercises import ExerciseFailed, check, exercises


def test_chapter_lists_its_checkers():
    names = {exercise.name for exercise in exercises("07b_training_deeper")}
    assert names == {"batchnorm_forward", "batchnorm_backward", "inverted_dropout", "cosine_warmup_lr", "he_normal_std"}


# batchnorm_forward and batchnorm_backward ---------------------------------------------------


def batchnorm_forward(x, gamma, beta, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    return gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes) + epsilon) + beta


def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    axes = tuple(range(x.ndim - 1))
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    x_hat = (x - x.mean(axis=axes)) * inv_std
    dx_hat = dy * gamma
    dx = inv_std * (dx_hat - dx_hat.mean(axis=axes) - x_hat * (dx_hat * x_hat).mean(axis=axes))
    return dx, (dy * x_hat).sum(axis=axes), dy.sum(axis=axes)


def test_batchnorm_forward_accepts_the_formula_and_keras():
    assert check("batchnorm_forward", batchnorm_forward)
    keras = pytest.importorskip("keras")

    def with_keras(x, gamma, beta, epsilon=1e-3):
        layer = keras.layers.BatchNormalization(epsilon=epsilon, dtype="float64")
        layer.build(x.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        return np.asarray(layer(x, training=True))

    assert check("batchnorm_forward", with_keras)


def test_batchnorm_forward_explains_unbiased_variance_and_wrong_axes():
    def unbiased(x, gamma, beta, epsilon=1e-3):
        axes = tuple(range(x.ndim - 1))
        return gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes, ddof=1) + epsilon) + beta

    def batch_axis_only(x, gamma, beta, epsilon=1e-3):
        return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon) + beta

    with pytest.raises(ExerciseFailed, match=r"unbiased variance"):
        check("batchnorm_forward", unbiased)
    with pytest.raises(ExerciseFailed, match=r"batch axis only"):
        check("batchnorm_forward", batch_axis_only)
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("batchnorm_forward", lambda x, g, b, e=1e-3: batchnorm_forward(x, g, b, e) - b)


def test_batchnorm_backward_accepts_the_formula_and_gradient_tape():
    assert check("batchnorm_backward", batchnorm_backward)
    tf = pytest.importorskip("tensorflow")

    def with_tape(dy, x, gamma, epsilon=1e-3):
        x, gamma = tf.Variable(x), tf.Variable(gamma)
        beta = tf.Variable(tf.zeros_like(gamma))
        axes = list(range(len(x.shape) - 1))
        with tf.GradientTape() as tape:
            mean, var = tf.nn.moments(x, axes)
            y = gamma * (x - mean) / tf.sqrt(var + epsilon) + beta
            loss = tf.reduce_sum(y * dy)
        dx, dgamma, dbeta = tape.gradient(loss, [x, gamma, beta])
        return dx.numpy(), dgamma.numpy(), dbeta.numpy()

    assert check("batchnorm_backward", with_tape)


def test_batchnorm_backward_explains_constant_statistics_and_wrong_returns():
    def frozen(dy, x, gamma, epsilon=1e-3):
        dx, dgamma, dbeta = batchnorm_backward(dy, x, gamma, epsilon)
        return gamma * dy / np.sqrt(x.var(axis=tuple(range(x.ndim - 1))) + epsilon), dgamma, dbeta

    with pytest.raises(ExerciseFailed, match=r"treats the batch mean and variance as constants"):
        check("batchnorm_backward", frozen)
    with pytest.raises(ExerciseFailed, match=r"return a tuple \(dx, dgamma, dbeta\)"):
        check("batchnorm_backward", lambda dy, x, g, e=1e-3: batchnorm_backward(dy, x, g, e)[0])
    with pytest.raises(ExerciseFailed, match=r"dgamma"):
        check("batchnorm_backward", lambda dy, x, g, e=1e-3: (batchnorm_backward(dy, x, g, e)[0], g,
                                                              batchnorm_backward(dy, x, g, e)[2]))


# inverted_dropout -------------------------------------------------------------------------


def inverted_dropout(x, rate, uniform):
    return np.where(uniform >= rate, x / (1.0 - rate), 0.0)


def test_inverted_dropout_accepts_the_rule():
    assert check("inverted_dropout", inverted_dropout)
    assert check("inverted_dropout", lambda x, rate, u: x * (u >= rate) / (1 - rate))


@pytest.mark.parametrize("wrong, message", [
    (lambda x, rate, u: np.where(u >= rate, x, 0.0), r"not scaled"),
    (lambda x, rate, u: np.where(u >= rate, x * (1 - rate), 0.0), r"multiplied the kept values by 1 - rate"),
    (lambda x, rate, u: np.where(u < rate, x / (1 - rate), 0.0), r"mask is reversed"),
    (lambda x, rate, u: x, r"wrong values"),
])
def test_inverted_dropout_explains_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("inverted_dropout", wrong)


# cosine_warmup_lr -------------------------------------------------------------------------


def cosine_warmup_lr(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
    if warmup_target is not None and step < warmup_steps:
        return initial_learning_rate + (warmup_target - initial_learning_rate) * step / warmup_steps
    peak = initial_learning_rate if warmup_target is None else warmup_target
    completed = min(step - warmup_steps, decay_steps) / decay_steps
    return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * completed)) + alpha)


def test_cosine_warmup_lr_accepts_the_formula_and_keras():
    assert check("cosine_warmup_lr", cosine_warmup_lr)
    keras = pytest.importorskip("keras")

    def with_keras(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        schedule = keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps, alpha=alpha,
                                                          warmup_target=warmup_target, warmup_steps=warmup_steps)
        return float(schedule(step))

    assert check("cosine_warmup_lr", with_keras)


def test_cosine_warmup_lr_explains_mistakes():
    def no_clip(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        peak = initial_learning_rate if warmup_target is None else warmup_target
        if warmup_target is not None and step < warmup_steps:
            return cosine_warmup_lr(step, initial_learning_rate, decay_steps, alpha, warmup_target, warmup_steps)
        completed = (step - warmup_steps) / decay_steps
        return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * completed)) + alpha)

    def cosine_from_zero(step, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        peak = initial_learning_rate if warmup_target is None else warmup_target
        return peak * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * min(step, decay_steps) / decay_steps)) + alpha)

    with pytest.raises(ExerciseFailed, match=r"stays at alpha \* peak"):
        check("cosine_warmup_lr", no_clip)
    with pytest.raises(ExerciseFailed, match=r"during the warm-up the rate rises linearly"):
        check("cosine_warmup_lr", cosine_from_zero)
    with pytest.raises(ExerciseFailed, match=r"wrong values"):
        check("cosine_warmup_lr", lambda step, initial_learning_rate, *args, **kwargs: initial_learning_rate)


# he_normal_std ----------------------------------------------------------------------------


def test_he_normal_std_accepts_the_formula():
    assert check("he_normal_std", lambda shape: math.sqrt(2 / (shape[0] * shape[1] * shape[2])))


@pytest.mark.parametrize("wrong, message", [
    (lambda s: math.sqrt(2 / (s[0] * s[1] * (s[2] + s[3]))), r"Glorot"),
    (lambda s: math.sqrt(2 / (s[0] * s[1] * s[3])), r"fan_out"),
    (lambda s: math.sqrt(2 / s[2]), r"not c_in alone"),
    (lambda s: math.sqrt(1 / (s[0] * s[1] * s[2])), r"LeCun"),
    (lambda s: 0.05, r"wrong values"),
])
def test_he_normal_std_explains_mistakes(wrong, message):
    with pytest.raises(ExerciseFailed, match=message):
        check("he_normal_std", wrong)
