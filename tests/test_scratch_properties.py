"""Property-based tests: over random (often bad) inputs, the scratch ops give a right-shaped result or a clear error.

"Clear" means a ``ValueError`` or ``TypeError`` whose message names the argument at fault;
never an ``IndexError``, a NumPy broadcast error or a silent wrong-shaped answer.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncourse.scratch import avg_pool2d, conv2d, conv2d_naive, max_pool2d

ARGUMENT_NAMES = ("x", "kernel", "bias", "strides", "padding", "pool_size", "dy")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw, max_rank=5, like=None):
    """Mostly rank-4 arrays (the interesting case), of any dtype; ``like``: often match its channel count."""
    rank = draw(st.one_of(st.just(4), st.integers(0, max_rank)))
    shape = list(draw(st.lists(st.integers(0, 6), min_size=rank, max_size=rank)))
    if like is not None and rank == 4 and np.ndim(like) == 4 and draw(st.booleans()):
        shape[2] = like.shape[3]
    shape = tuple(shape)
    kind = draw(st.sampled_from(["float32", "float64", "int64", "bool", "complex128", "nan"]))
    size = int(np.prod(shape)) if shape else 1
    values = np.arange(size, dtype=np.float64).reshape(shape) % 5 - 2
    if kind == "nan":
        values = values.astype(np.float64)
        if values.size:
            values.reshape(-1)[draw(st.integers(0, values.size - 1))] = np.nan
        return values
    return values.astype(kind)


def _is_clear(error: Exception) -> bool:
    named = re.search(r"\b(" + "|".join(ARGUMENT_NAMES) + r")\b", str(error))
    return isinstance(error, (ValueError, TypeError)) and named is not None


def _expected_length(n, k, s, padding):
    return -(-n // s) if padding == "same" else (n - k) // s + 1


@SETTINGS
@given(data=st.data(), x=arrays(), strides=st.sampled_from([1, 2, 3, 0, -1, (1, 2), 1.5]),
       padding=st.sampled_from(["valid", "same", "SAME", "full", 3]))
@pytest.mark.parametrize("operation", [conv2d, conv2d_naive], ids=["conv2d", "conv2d_naive"])
def test_convolution_is_right_or_clearly_refused(operation, data, x, strides, padding):
    kernel = data.draw(arrays(like=x), label="kernel")
    try:
        y = operation(x, kernel, strides=strides, padding=padding)
    except Exception as error:  # noqa: BLE001 - the property is about which errors
        assert _is_clear(error), f"unclear error {type(error).__name__}: {error}"
        return
    sh, sw = (strides, strides) if isinstance(strides, int) else strides
    mode = padding.lower()
    assert y.shape == (x.shape[0], _expected_length(x.shape[1], kernel.shape[0], sh, mode),
                       _expected_length(x.shape[2], kernel.shape[1], sw, mode), kernel.shape[3])
    assert np.isfinite(y).all()


@SETTINGS
@given(x=arrays(), pool_size=st.sampled_from([1, 2, 3, 0, (2, 3), 2.5]), strides=st.sampled_from([None, 1, 2, 0]),
       padding=st.sampled_from(["valid", "same", "bad"]))
@pytest.mark.parametrize("operation", [max_pool2d, avg_pool2d], ids=["max_pool2d", "avg_pool2d"])
def test_pooling_is_right_or_clearly_refused(operation, x, pool_size, strides, padding):
    try:
        y = operation(x, pool_size=pool_size, strides=strides, padding=padding)
    except Exception as error:  # noqa: BLE001
        assert _is_clear(error), f"unclear error {type(error).__name__}: {error}"
        return
    ph, pw = (pool_size, pool_size) if isinstance(pool_size, int) else pool_size
    sh, sw = (ph, pw) if strides is None else (strides, strides)
    assert y.shape == (x.shape[0], _expected_length(x.shape[1], ph, sh, padding),
                       _expected_length(x.shape[2], pw, sw, padding), x.shape[3])
    assert np.isfinite(y).all()
