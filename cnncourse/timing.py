"""Timing as the chapters and the benchmark do it: the median of a few runs, a block's wall and CPU seconds."""

from __future__ import annotations

import statistics
import time


def median_seconds(function, repeats: int = 3, warmup: int = 1, clock=time.perf_counter) -> float:
    """Median wall-clock seconds of ``function()`` over ``repeats`` timed calls.

    ``warmup`` untimed calls come first, so one-off costs (tracing a Keras layer, filling
    caches) do not count. The median, unlike the mean, ignores a run slowed by another
    process.

    Parameters
    ----------
    function : callable taking no arguments; its result is ignored
    repeats : int >= 1, timed calls
    warmup : int >= 0, untimed calls before them
    clock : callable returning seconds; ``time.perf_counter`` unless a test passes a fake

    Returns
    -------
    float, the median of the ``repeats`` durations in seconds
    """
    if not callable(function):
        raise TypeError(f"function must be callable with no arguments, got {type(function).__name__}")
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if not callable(clock):
        raise TypeError(f"clock must be callable, got {type(clock).__name__}")
    for _ in range(warmup):
        function()
    durations = []
    for _ in range(repeats):
        start = clock()
        function()
        durations.append(clock() - start)
    return float(statistics.median(durations))


class Clock:
    """Wall-clock and process CPU seconds of a ``with`` block (CPU time is immune to other load).

    ``with Clock() as clock: ...`` then ``clock.wall`` and ``clock.cpu`` (floats, seconds).
    """

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def blas_threads(limit: int = 1):
    """A context manager that limits NumPy's BLAS to ``limit`` threads (``threadpoolctl``).

    The NumPy engine's small matrix products only wait for cores with more threads, on a small
    machine. Without ``threadpoolctl`` (it comes with scikit-learn) the BLAS is left as it is.
    """
    import contextlib

    from .checks import check_positive_int

    limit = check_positive_int(limit, "limit")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")
