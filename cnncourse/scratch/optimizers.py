"""Optimizers: the seed's gradient descent (section 3.5), Adam and AdamW, with Keras's update rules.

The seed's rule is ``theta <- theta - alpha * grad L(theta)``. That is ``SGD()`` with
``momentum=0``; run on the whole training set as one batch, it is plain (full-batch)
gradient descent; on mini-batches, stochastic gradient descent.

An optimizer updates parameter arrays **in place** from ``(gradient, parameter)`` pairs,
as ``keras.optimizers.Optimizer.apply_gradients`` does. Its state (momentum, Adam's
moments) is kept per parameter array.

``learning_rate`` is a float or a schedule (``cnncourse.scratch.schedules``); a schedule is
evaluated at ``iterations`` (0 for the first step), so ``optimizer.learning_rate`` always
reads the rate of the next step, as in Keras.
"""

from __future__ import annotations

import numpy as np

from .schedules import LearningRateSchedule
from ..checks import check_float


# One validation vocabulary: the package's checks live in cnncourse/checks.py.
_check_float = check_float


def _all_finite(array, others) -> bool:
    """Whether ``array`` and every array in ``others`` hold only finite numbers.

    One sum per array, accumulated in float64 (a float32 array's sum cannot overflow there): NaN or
    infinity anywhere makes it non-finite. Only a non-finite sum is looked at element by element.
    """
    for value in (array, *others):
        if not np.isfinite(np.add.reduce(value, axis=None, dtype=np.float64)) and not np.isfinite(value).all():
            return False
    return True


class Optimizer:
    """Base class: ``apply_gradients(pairs)`` calls ``_update(gradient, parameter, state)`` for each pair."""

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate  # checked by the setter below
        self.iterations = 0  # steps taken, as Keras's optimizer.iterations
        self._state: dict[int, dict] = {}

    @property
    def learning_rate(self) -> float:
        """The rate of the next step: the float given, or the schedule evaluated at ``iterations``."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return self._learning_rate(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
        else:
            self._learning_rate = _check_float(value, "learning_rate", low=0.0, low_inclusive=False)

    def apply_gradients(self, grads_and_vars, *, checked: bool = False) -> None:
        """One step: update every parameter in place.

        Parameters
        ----------
        grads_and_vars : iterable of ``(gradient, parameter)`` pairs; each ``gradient``
            has its ``parameter``'s shape. The order is Keras's: gradient first.
        checked : True when the pairs come from the engine's own backward pass (``fit``): a list of
            ``(gradient, parameter)`` arrays of one shape and dtype, so they are not checked again.
            Either way an update that overflows to infinity or NaN changes nothing.
        """
        # All of them first: a bad pair updates nothing.
        pairs = grads_and_vars if checked else self._check_pairs(grads_and_vars)
        staged = []
        for index, (gradient, parameter) in enumerate(pairs):
            # Each update is computed on copies first: one that overflows the parameter's dtype changes nothing.
            # State is keyed by the array's identity; the array itself is kept so its id cannot be reused.
            state = self._state.get(id(parameter), {})
            trial_state = {key: value.copy() for key, value in state.items() if key != "parameter"}
            trial = parameter.copy()
            with np.errstate(over="ignore", invalid="ignore"):
                self._update(gradient, trial, trial_state)
            if not _all_finite(trial, trial_state.values()):
                if checked and not np.isfinite(gradient).all():
                    raise ValueError(f"step {self.iterations + 1}: gradient {index} contains NaN or infinity; "
                                     "nothing was changed. Lower the learning rate or check the loss.")
                raise ValueError(
                    f"step {self.iterations + 1}: the update of parameter {index} (shape {parameter.shape}) overflows "
                    f"{parameter.dtype} to infinity or NaN (learning rate {self.learning_rate:g}); nothing was changed. "
                    "Lower the learning rate."
                )
            staged.append((parameter, trial, trial_state))
        for parameter, trial, trial_state in staged:
            parameter[...] = trial
            self._state[id(parameter)] = {"parameter": parameter, **trial_state}
        self.iterations += 1

    @staticmethod
    def _check_pairs(grads_and_vars) -> list[tuple[np.ndarray, np.ndarray]]:
        """The ``(gradient, parameter)`` pairs, each checked; raises before anything is updated."""
        if grads_and_vars is None or not hasattr(grads_and_vars, "__iter__"):
            raise TypeError(f"grads_and_vars must be a list of (gradient, parameter) pairs, got {type(grads_and_vars).__name__}")
        pairs = []
        for index, pair in enumerate(grads_and_vars):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"grads_and_vars[{index}] must be a (gradient, parameter) pair, got {type(pair).__name__}")
            gradient, parameter = pair
            if not isinstance(parameter, np.ndarray):
                raise TypeError(f"parameter {index} must be a NumPy array (updated in place), got {type(parameter).__name__}")
            if not np.issubdtype(parameter.dtype, np.floating):
                raise TypeError(f"parameter {index} must be a float array to be updated in place, got dtype {parameter.dtype}")
            if not parameter.flags.writeable:
                raise ValueError(f"parameter {index} is read-only; pass a writeable array")
            raw = np.asarray(gradient)
            if np.iscomplexobj(raw) or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
                raise TypeError(f"gradient {index} must hold real numbers, got dtype {raw.dtype}")
            gradient = raw.astype(parameter.dtype, copy=False)
            if gradient.shape != parameter.shape:
                raise ValueError(f"gradient must have the parameter's shape {parameter.shape}, got {gradient.shape} (pair {index})")
            if not np.isfinite(gradient).all():
                raise ValueError(f"gradient {index} contains NaN or infinity; lower the learning rate or check the loss")
            pairs.append((gradient, parameter))
        return pairs

    def _update(self, gradient, parameter, state):
        raise NotImplementedError

    def __getstate__(self):
        # The state is keyed by id(parameter), which a copy or a pickle changes: store the arrays themselves, so
        # that copy.deepcopy(model) and pickle keep each parameter's moments with that (copied) parameter.
        state = dict(self.__dict__)
        state["_state"] = list(self._state.values())
        return state

    def __setstate__(self, state):
        state = dict(state)
        entries = state.pop("_state", [])
        self.__dict__.update(state)
        self._state = {id(entry["parameter"]): entry for entry in entries}

    def reset(self) -> None:
        """Forget all state (momentum, moments) and the step count."""
        self.iterations = 0
        self._state.clear()


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum, ``keras.optimizers.SGD``'s rule.

    ``momentum == 0``:  ``theta -= learning_rate * g``  (the seed's formula)

    ``momentum > 0``:   ``v = momentum * v - learning_rate * g``, then
    ``theta += v`` or, with ``nesterov=True``, ``theta += momentum * v - learning_rate * g``.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = _check_float(momentum, "momentum", low=0.0, high=1.0)
        self.nesterov = bool(nesterov)

    def _update(self, gradient, parameter, state):
        if self.momentum == 0.0:
            parameter -= self.learning_rate * gradient
            return
        velocity = state.setdefault("velocity", np.zeros_like(parameter))
        velocity *= self.momentum
        velocity -= self.learning_rate * gradient
        if self.nesterov:
            parameter += self.momentum * velocity - self.learning_rate * gradient
        else:
            parameter += velocity

    def __repr__(self):
        return f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum}, nesterov={self.nesterov})"


class Adam(Optimizer):
    """Adam, with ``keras.optimizers.Adam``'s rule and defaults. At step ``t = 1, 2, ...``:

    ``m += (1 - beta_1) * (g - m)``;  ``v += (1 - beta_2) * (g**2 - v)``;
    ``alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``;
    ``theta -= alpha * m / (sqrt(v) + epsilon)``.

    Keras folds the bias corrections into ``alpha``, so ``epsilon`` is added to the
    uncorrected ``sqrt(v)``: this differs slightly from the paper's ``m_hat / (sqrt(v_hat) + eps)``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _check_float(beta_1, "beta_1", high=1.0)
        self.beta_2 = _check_float(beta_2, "beta_2", high=1.0)
        self.epsilon = _check_float(epsilon, "epsilon", low=0.0, low_inclusive=False)

    def _update(self, gradient, parameter, state):
        m = state.setdefault("m", np.zeros_like(parameter))
        v = state.setdefault("v", np.zeros_like(parameter))
        step = self.iterations + 1
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        m += (1 - self.beta_1) * (gradient - m)
        v += (1 - self.beta_2) * (np.square(gradient) - v)
        parameter -= (alpha * m / (np.sqrt(v) + self.epsilon)).astype(parameter.dtype, copy=False)

    def __repr__(self):
        return (f"Adam(learning_rate={self.learning_rate}, beta_1={self.beta_1}, beta_2={self.beta_2}, "
                f"epsilon={self.epsilon})")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), ``keras.optimizers.AdamW``'s rule.

    Each step, in Keras's order: first the decay, ``theta -= learning_rate * weight_decay * theta``,
    then Adam's update of ``theta`` with the gradient ``g`` of the loss alone (see ``Adam``).

    Weight decay is not an L2 term in the loss for Adam. ``Adam`` on ``g + weight_decay * theta``
    divides the decay by ``sqrt(v)`` like the rest of the gradient, so weights with large
    gradients are barely decayed; AdamW shrinks every weight by the same factor
    ``1 - learning_rate * weight_decay``. (For plain SGD the two are the same.)

    As in Keras (without ``exclude_from_weight_decay``), every trainable weight is decayed,
    biases and BatchNormalization's gamma and beta included.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        self.weight_decay = _check_float(weight_decay, "weight_decay")

    def _update(self, gradient, parameter, state):
        parameter -= (parameter * (self.weight_decay * self.learning_rate)).astype(parameter.dtype, copy=False)
        super()._update(gradient, parameter, state)

    def __repr__(self):
        return (f"AdamW(learning_rate={self.learning_rate}, weight_decay={self.weight_decay}, beta_1={self.beta_1}, "
                f"beta_2={self.beta_2}, epsilon={self.epsilon})")


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def get_optimizer(optimizer) -> Optimizer:
    """An optimizer from an ``Optimizer`` instance or a Keras name (``"sgd"``, ``"adam"``) with default settings."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"optimizer must be an Optimizer object or one of {sorted(OPTIMIZERS)}, got {optimizer!r}")
