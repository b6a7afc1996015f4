"""Keras's default initialisers: Glorot (Xavier) uniform kernels and zero biases.

Glorot uniform draws from ``U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))``.
For a dense kernel ``(in, out)``: ``fan_in = in``, ``fan_out = out``. For a conv kernel
``(kh, kw, c_in, c_out)``: ``fan_in = kh * kw * c_in``, ``fan_out = kh * kw * c_out``. The
variance ``2 / (fan_in + fan_out)`` keeps activations and gradients at a similar scale
from layer to layer.
"""

from __future__ import annotations

import numpy as np


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
    return np.random.default_rng(seed)


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


def zeros(shape, dtype="float32") -> np.ndarray:
    """A zero bias of shape ``shape``."""
    return np.zeros(shape, dtype=dtype)
