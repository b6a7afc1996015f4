"""Checkers for the chapter "Training deeper CNNs" (07b, beyond the seed).

The references are the NumPy engine's pieces, which ``tests/test_scratch_*`` compare with
Keras: ``BatchNormalization``, ``Dropout``'s rule, ``CosineDecay`` and the He initialiser.
"""

import math

import numpy as np

from . import ExerciseFailed, assert_close, call_candidate, grading_rng, is_close, register

CHAPTER = "07b_training_deeper"

# (N, C) features and (N, H, W, C) images, channels last, as in Keras.
_BATCHNORM_SHAPES = ((6, 3), (4, 5, 5, 2), (2, 3, 4, 4))


def _batchnorm_case(shape, seed):
    """``x`` with a different mean and scale per channel, ``gamma``, ``beta`` and ``dy``."""
    rng = grading_rng(seed)
    channels = shape[-1]
    x = rng.normal(size=shape) * rng.uniform(0.5, 3.0, channels) + rng.uniform(-2.0, 2.0, channels)
    return x, rng.uniform(0.5, 2.0, channels), rng.normal(size=channels), rng.normal(size=shape)


def _reference_batchnorm(x, gamma, beta, epsilon, dy=None):
    """The scratch layer in training mode: ``y``, and with ``dy`` also ``(dx, dgamma, dbeta)``."""
    from ..scratch import BatchNormalization

    layer = BatchNormalization(epsilon=epsilon, dtype="float64")
    layer.build(x.shape[1:])
    layer.params["gamma"][...], layer.params["beta"][...] = gamma, beta
    y = layer.forward(x, training=True)
    if dy is None:
        return y
    dx = layer.backward(dy)
    return y, (dx, layer.grads["gamma"].copy(), layer.grads["beta"].copy())


def _matches(received, expected) -> bool:
    """A typical mistake recognised at the checkers' own tolerance."""
    return is_close(received, expected, rtol=1e-6, atol=1e-9)


@register("batchnorm_forward", CHAPTER, "batch normalisation in training mode: y = gamma * (x - mean) / sqrt(var + eps) + beta")
def _check_batchnorm_forward(candidate):
    for index, shape in enumerate(_BATCHNORM_SHAPES):
        x, gamma, beta, _ = _batchnorm_case(shape, seed=70 + index)
        epsilon = 1e-3
        what = f"batchnorm_forward(x of shape {shape}, gamma, beta, epsilon={epsilon})"
        received = call_candidate(candidate, x, gamma, beta, epsilon, what=what)
        expected = _reference_batchnorm(x, gamma, beta, epsilon)
        axes = tuple(range(x.ndim - 1))
        unbiased = gamma * (x - x.mean(axis=axes)) / np.sqrt(x.var(axis=axes, ddof=1) + epsilon) + beta
        if _matches(received, unbiased):
            raise ExerciseFailed(f"{what}: you divided by the unbiased variance (ddof=1). Batch normalisation, in Keras "
                                 "and in the paper, normalises with the biased batch variance mean((x - mean)**2)")
        if len(shape) > 2 and _matches(received, gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + epsilon) + beta):
            raise ExerciseFailed(f"{what}: you averaged over the batch axis only. For images, each channel's "
                                 "statistics are taken over the batch and every position: axes (0, 1, 2) for NHWC")
        assert_close(received, expected, what=what, rtol=1e-6, atol=1e-8)


@register("batchnorm_backward", CHAPTER, "batch normalisation's backward pass in training mode: (dx, dgamma, dbeta)")
def _check_batchnorm_backward(candidate):
    for index, shape in enumerate(_BATCHNORM_SHAPES):
        x, gamma, beta, dy = _batchnorm_case(shape, seed=80 + index)
        epsilon = 1e-3
        what = f"batchnorm_backward(dy, x of shape {shape}, gamma, epsilon={epsilon})"
        received = call_candidate(candidate, dy, x, gamma, epsilon, what=what)
        if not isinstance(received, (tuple, list)) or len(received) != 3:
            raise ExerciseFailed(f"{what}: return a tuple (dx, dgamma, dbeta), received {type(received).__name__}")
        dx, dgamma, dbeta = received
        _, (expected_dx, expected_dgamma, expected_dbeta) = _reference_batchnorm(x, gamma, beta, epsilon, dy)
        axes = tuple(range(x.ndim - 1))
        frozen = gamma * dy / np.sqrt(x.var(axis=axes) + epsilon)  # as if mean and variance were constants
        if _matches(dx, frozen):
            raise ExerciseFailed(f"{what}: your dx treats the batch mean and variance as constants (that is the "
                                 "inference-mode gradient). In training they depend on x: "
                                 "dx = gamma / sqrt(var + eps) * (dy - mean(dy) - x_hat * mean(dy * x_hat))")
        assert_close(dbeta, expected_dbeta, what=f"{what}: dbeta (the sum of dy over all but the channel axis)",
                     rtol=1e-6, atol=1e-8)
        assert_close(dgamma, expected_dgamma, what=f"{what}: dgamma (the sum of dy * x_hat)", rtol=1e-6, atol=1e-8)
        assert_close(dx, expected_dx, what=f"{what}: dx", rtol=1e-5, atol=1e-8)


@register("inverted_dropout", CHAPTER, "inverted dropout in training: keep where uniform >= rate, scale by 1 / (1 - rate)")
def _check_inverted_dropout(candidate):
    rng = grading_rng(90)
    for rate, shape in ((0.5, (4, 6)), (0.2, (2, 5, 5, 3)), (0.0, (3, 4)), (0.9, (10, 10))):
        x = rng.normal(size=shape)
        uniform = rng.random(shape)  # the random draws, given so that the mask is known
        uniform.flat[:2] = (rate / 2, (1 + rate) / 2)  # one value dropped and one kept whatever the draw: mistakes show
        what = f"inverted_dropout(x of shape {shape}, rate={rate}, uniform)"
        received = call_candidate(candidate, x, rate, uniform, what=what)
        keep = uniform >= rate
        expected = np.where(keep, x / (1.0 - rate), 0.0)
        if rate > 0 and _matches(received, np.where(keep, x, 0.0)):
            raise ExerciseFailed(f"{what}: the kept values are not scaled. Inverted dropout divides them by "
                                 f"1 - rate = {1 - rate:g}, so that the expected output equals x and inference needs "
                                 "no change")
        if rate > 0 and _matches(received, np.where(keep, x * (1.0 - rate), 0.0)):
            raise ExerciseFailed(f"{what}: you multiplied the kept values by 1 - rate; divide by it instead")
        if rate > 0 and _matches(received, np.where(uniform < rate, x / (1.0 - rate), 0.0)):
            raise ExerciseFailed(f"{what}: your mask is reversed: a value is dropped with probability rate, i.e. "
                                 "where uniform < rate, and kept where uniform >= rate")
        assert_close(received, expected, what=what, rtol=1e-7, atol=1e-12)


@register("cosine_warmup_lr", CHAPTER, "learning rate of cosine decay with a linear warm-up, Keras's CosineDecay")
def _check_cosine_warmup_lr(candidate):
    from ..scratch import CosineDecay

    rng = grading_rng(91)
    settings = (
        dict(initial_learning_rate=0.1, decay_steps=100, alpha=0.0, warmup_target=None, warmup_steps=0),
        dict(initial_learning_rate=0.0, decay_steps=50, alpha=0.1, warmup_target=0.01, warmup_steps=10),
        dict(initial_learning_rate=1e-4, decay_steps=20, alpha=0.0, warmup_target=1e-3, warmup_steps=5),
        dict(initial_learning_rate=round(float(rng.uniform(1e-4, 1e-3)), 6), decay_steps=int(rng.integers(20, 200)),
             alpha=round(float(rng.uniform(0.0, 0.3)), 3), warmup_target=round(float(rng.uniform(2e-3, 2e-2)), 5),
             warmup_steps=int(rng.integers(2, 30))),  # drawn from the grading seed: no table of answers
    )
    for options in settings:
        schedule = CosineDecay(**options)
        total = options["warmup_steps"] + options["decay_steps"]
        for step in sorted({0, 1, options["warmup_steps"] // 2, options["warmup_steps"], options["warmup_steps"] + 1,
                            total // 2, total - 1, total, total + 7}):
            what = f"cosine_warmup_lr(step={step}, " + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"
            received = call_candidate(candidate, step, **options, what=what)
            expected = schedule(step)
            try:
                value = float(received)
            except (TypeError, ValueError):
                value = None
            peak = options["warmup_target"] if options["warmup_target"] is not None else options["initial_learning_rate"]
            if (value is not None and step > total and not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-12)):
                raise ExerciseFailed(f"{what}: after warmup_steps + decay_steps the rate stays at alpha * peak = "
                                     f"{options['alpha'] * peak:.6g}; received {value:.6g}. Clip the decay's step "
                                     "at decay_steps")
            cosine_from_step_zero = schedule._decay(min(step, options["decay_steps"]), peak)
            if (value is not None and step < options["warmup_steps"]
                    and math.isclose(value, cosine_from_step_zero, rel_tol=1e-9)
                    and not math.isclose(value, expected, rel_tol=1e-6)):
                raise ExerciseFailed(f"{what}: during the warm-up the rate rises linearly from initial_learning_rate to "
                                     f"warmup_target; the cosine starts after warmup_steps. Expected {expected:.6g}")
            # float32 schedules (Keras) pass: 1e-4 relative
            assert_close(received, expected, what=what, rtol=1e-4, atol=1e-9)


@register("he_normal_std", CHAPTER, "He's standard deviation sqrt(2 / fan_in) for a conv kernel (kh, kw, c_in, c_out)")
def _check_he_normal_std(candidate):
    rng = grading_rng(92)
    drawn = (int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 129)), int(rng.integers(1, 129)))
    for shape in ((3, 3, 1, 32), (3, 3, 32, 64), (5, 5, 3, 8), (1, 1, 64, 16), (7, 3, 2, 5), drawn):
        kh, kw, c_in, c_out = shape
        expected = math.sqrt(2.0 / (kh * kw * c_in))
        what = f"he_normal_std(kernel_shape={shape})"
        received = call_candidate(candidate, shape, what=what)
        try:
            value = float(received)
        except (TypeError, ValueError):
            value = None
        hints = (
            (math.sqrt(2.0 / (kh * kw * (c_in + c_out))), "that is Glorot's sqrt(2 / (fan_in + fan_out)); He uses "
                                                          "fan_in alone, because ReLU zeroes half of its inputs"),
            (math.sqrt(2.0 / (kh * kw * c_out)), "you used fan_out = kh * kw * c_out; He's normal uses fan_in"),
            (math.sqrt(2.0 / c_in), "fan_in of a conv kernel counts every input of one output: kh * kw * c_in, "
                                    "not c_in alone"),
            (math.sqrt(1.0 / (kh * kw * c_in)), "that is LeCun's sqrt(1 / fan_in); He's has a 2 for ReLU"),
        )
        for wrong, hint in hints:
            if value is not None and math.isclose(value, wrong, rel_tol=1e-9) and not math.isclose(wrong, expected):
                raise ExerciseFailed(f"{what}: received {value:.6g}; {hint}. Expected {expected:.6g}")
        assert_close(received, expected, what=what, rtol=1e-9, atol=0.0)
