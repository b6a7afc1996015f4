"""Timing code the way the chapters and the benchmark do: the median of a few runs."""

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
