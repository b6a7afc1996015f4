"""Keras's initialisers: Glorot (Xavier) and He kernels, uniform or truncated normal, and zero biases.

Glorot uniform draws from ``U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``.
For a dense kernel ``(in, out)``: ``fan_in = in``, ``fan_out = out``. For a conv kernel
``(kh, kw, c_in, c_out)``: ``fan_in = kh * kw * c_in``, ``fan_out = kh * kw * c_out``. The
variance ``2 / (fan_in + fan_out)`` keeps activations and gradients at a similar scale
from layer to layer.

Keras's ``VarianceScaling`` family, each with a target variance ``var``:

====================  ===========================  =======================================
name                  ``var``                      distribution
====================  ===========================  =======================================
``glorot_uniform``    ``2 / (fan_in + fan_out)``   ``U(-sqrt(3 var), sqrt(3 var))``
``glorot_normal``     ``2 / (fan_in + fan_out)``   truncated normal
``he_uniform``        ``2 / fan_in``               ``U(-sqrt(3 var), sqrt(3 var))``
``he_normal``         ``2 / fan_in``               truncated normal
====================  ===========================  =======================================

He's ``2 / fan_in`` makes up for ReLU zeroing half of its inputs (He et al., 2015).
The truncated normal redraws every value beyond two standard deviations, as
TensorFlow's ``truncated_normal`` does; truncation shrinks the standard deviation by
0.87962566103423978 (the standard deviation of N(0, 1) cut at +-2), so Keras draws with
``stddev = sqrt(var) / 0.87962566103423978`` to land on ``var`` exactly.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_seed


def make_rng(seed=None) -> np.random.Generator:
    """A NumPy generator from an int seed, an existing generator, or None.

    None draws the generator's seed from NumPy's global random state, so that
    ``cnncourse.set_seed`` (or ``np.random.seed``) makes everything reproducible: the same
    seed gives the same weights, dropout masks and batch order.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    return np.random.default_rng(check_seed(seed))


def fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a kernel of shape ``(in, out)`` or ``(kh, kw, c_in, c_out)``."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(f"a kernel needs at least 2 dimensions, got shape {shape}")
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def glorot_uniform(shape, seed=None, dtype="float32") -> np.ndarray:
    """Glorot uniform kernel of shape ``shape``; ``seed`` is an int, None or a Generator."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return make_rng(seed).uniform(-limit, limit, size=shape).astype(dtype)


# The standard deviation of a standard normal truncated to [-2, 2], as in Keras's VarianceScaling.
TRUNCATED_NORMAL_STD = 0.87962566103423978


def truncated_normal(shape, stddev, seed=None, dtype="float32") -> np.ndarray:
    """``N(0, stddev**2)`` values of shape ``shape``, each beyond ``2 * stddev`` redrawn (TensorFlow's rule)."""
    rng = make_rng(seed)
    values = rng.normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (values * stddev).astype(dtype)


def glorot_normal(shape, seed=None, dtype="float32") -> np.ndarray:
    """Glorot normal kernel: truncated normal with variance ``2 / (fan_in + fan_out)``."""
    fan_in, fan_out = fans(shape)
    return truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)) / TRUNCATED_NORMAL_STD, seed, dtype)


def he_normal(shape, seed=None, dtype="float32") -> np.ndarray:
    """He normal kernel: truncated normal with variance ``2 / fan_in``."""
    fan_in, _ = fans(shape)
    return truncated_normal(shape, np.sqrt(2.0 / fan_in) / TRUNCATED_NORMAL_STD, seed, dtype)


def he_uniform(shape, seed=None, dtype="float32") -> np.ndarray:
    """He uniform kernel: ``U(-limit, limit)`` with ``limit = sqrt(6 / fan_in)``, variance ``2 / fan_in``."""
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return make_rng(seed).uniform(-limit, limit, size=shape).astype(dtype)


KERNEL_INITIALIZERS = {"glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
                       "he_uniform": he_uniform, "he_normal": he_normal}


def get_initializer(name):
    """The kernel initialiser ``f(shape, seed, dtype)`` for a Keras name such as ``"he_normal"``."""
    if not isinstance(name, str):
        raise TypeError(f"kernel_initializer must be one of {sorted(KERNEL_INITIALIZERS)}, "
                        f"got {type(name).__name__} {name!r}")
    if name.lower() not in KERNEL_INITIALIZERS:
        raise ValueError(f"kernel_initializer must be one of {sorted(KERNEL_INITIALIZERS)}, got {name!r}")
    return KERNEL_INITIALIZERS[name.lower()]


def zeros(shape, dtype="float32") -> np.ndarray:
    """A zero bias of shape ``shape``."""
    return np.zeros(shape, dtype=dtype)
