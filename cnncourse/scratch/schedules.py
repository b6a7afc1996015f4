"""Learning-rate schedules, ``keras.optimizers.schedules``'s twins.

A schedule maps the optimizer's step count to a learning rate: ``schedule(step) -> float``.
Pass one as an optimizer's ``learning_rate``; the optimizer evaluates it at its
``iterations`` before each step (0 for the first), as Keras does.

``CosineDecay`` (Loshchilov and Hutter, 2017), with an optional linear warm-up:

    warm-up, step < warmup_steps:   lr = initial + (warmup_target - initial) * step / warmup_steps
    decay,   s = min(step - warmup_steps, decay_steps):
             lr = peak * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)

where ``peak`` is ``warmup_target``, or ``initial_learning_rate`` without a warm-up. After
``warmup_steps + decay_steps`` the rate stays at ``alpha * peak``.
"""

from __future__ import annotations

import math

from ..checks import check_float, check_int

_check_real = check_float  # the name chapter 07b shows in CosineDecay.__call__


class LearningRateSchedule:
    """Base class: ``__call__(step) -> float``, the learning rate at step ``step = 0, 1, 2, ...``."""

    def __call__(self, step) -> float:
        raise NotImplementedError


class CosineDecay(LearningRateSchedule):
    """Cosine decay with optional linear warm-up, ``keras.optimizers.schedules.CosineDecay``'s twin.

    Parameters
    ----------
    initial_learning_rate : float >= 0, the rate at step 0
    decay_steps : int >= 1, the length of the cosine
    alpha : float in [0, 1], the final rate as a fraction of the peak
    warmup_target : float >= 0 or None; with a float, the rate rises linearly from
        ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays
    warmup_steps : int >= 0
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = check_float(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = check_int(decay_steps, "decay_steps", low=1)
        self.alpha = check_float(alpha, "alpha", 0.0, 1.0, high_inclusive=True)
        self.warmup_target = None if warmup_target is None else check_float(warmup_target, "warmup_target")
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", low=0)

    def _decay(self, step, peak):
        completed = step / self.decay_steps
        return peak * ((1.0 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * completed)) + self.alpha)

    def __call__(self, step) -> float:
        """The learning rate at ``step`` (an int or float >= 0, e.g. ``optimizer.iterations``)."""
        step = _check_real(step, "step")
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def __repr__(self):
        return (f"CosineDecay(initial_learning_rate={self.initial_learning_rate}, decay_steps={self.decay_steps}, "
                f"alpha={self.alpha}, warmup_target={self.warmup_target}, warmup_steps={self.warmup_steps})")
