"""One way to seed the whole course: ``set_seed``.

Every notebook and ``cnncourse.experiments`` seed through ``set_seed(seed)``. It seeds
Python's ``random``, NumPy's global generator and Keras (``keras.utils.set_random_seed``,
which also seeds TensorFlow), and turns on TensorFlow's op determinism, so that the same
seed gives the same weights on the same machine and BLAS thread count.

The environment variable ``CNNCOURSE_SEED_OFFSET`` (an integer, default 0) is added to
every seed given, so the whole course can be re-run with other seeds::

    CNNCOURSE_SEED_OFFSET=7 make notebooks

A claim that only holds for one seed fails such a run: that is the point.
"""

from __future__ import annotations

import os
import random

import numpy as np

from .checks import SEED_LIMIT, check_int

__all__ = ["OFFSET_VARIABLE", "seed_offset", "set_seed"]

OFFSET_VARIABLE = "CNNCOURSE_SEED_OFFSET"


def seed_offset() -> int:
    """The integer in ``$CNNCOURSE_SEED_OFFSET`` (0 when unset or empty)."""
    text = os.environ.get(OFFSET_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{OFFSET_VARIABLE} must be an integer, got {text!r}") from None


def _effective(seed) -> int:
    """``seed + $CNNCOURSE_SEED_OFFSET``, checked as ``checks.check_seed`` checks a seed (the sum must lie in
    [0, 2**32); the seed alone may be negative when the offset brings it back into range)."""
    effective = check_int(seed, "seed") + seed_offset()
    if not 0 <= effective < SEED_LIMIT:
        raise ValueError(f"seed + {OFFSET_VARIABLE} must be in [0, 2**32), got {seed} + {seed_offset()} = {effective}")
    return effective


def set_seed(seed: int, keras: bool = True) -> int:
    """Seed Python, NumPy and (by default) Keras/TensorFlow; return the seed actually used.

    Parameters
    ----------
    seed : int, the seed asked for; ``$CNNCOURSE_SEED_OFFSET`` is added to it
    keras : bool, also seed Keras and TensorFlow and enable TensorFlow's op determinism
        (imports TensorFlow; pass False in NumPy-only code to keep it cheap)

    Returns
    -------
    int, the effective seed ``seed + offset``. Pass it on wherever a seed is needed
    (``seed_cnn(seed=...)``, ``np.random.default_rng(...)``), so that the offset reaches it.
    """
    effective = _effective(seed)
    random.seed(effective)
    np.random.seed(effective)
    if keras:
        from .backend import import_keras

        keras_module = import_keras()
        keras_module.utils.set_random_seed(effective)
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return effective
