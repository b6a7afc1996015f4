"""Shared pytest fixtures."""

import contextlib

import pytest


@pytest.fixture(scope="module")
def single_threaded_blas():
    """Limit NumPy's BLAS to one thread while a module runs.

    The NumPy engine's matrix products are small; on a busy 2-core machine a multi-threaded
    OpenBLAS spends most of its time waiting for cores and makes them several times slower.
    Use with ``pytestmark = pytest.mark.usefixtures("single_threaded_blas")``.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, run as is
        limit = contextlib.nullcontext()
    else:
        limit = threadpool_limits(limits=1, user_api="blas")
    with limit:
        yield
