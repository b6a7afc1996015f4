"""cnncourse.timing.median_seconds, timed by a fake clock so no assertion depends on speed."""

import pytest

from cnncourse.timing import median_seconds


class FakeClock:
    """Each call to the function advances time by the next of ``durations``."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self):
        return self.now

    def work(self):
        self.calls += 1
        self.now += self.durations.pop(0)


def test_median_of_the_timed_calls_after_the_warmup():
    clock = FakeClock([100.0, 3.0, 1.0, 2.0])  # the warm-up's 100 s is not counted
    assert median_seconds(clock.work, repeats=3, warmup=1, clock=clock) == 2.0
    assert clock.calls == 4


def test_median_ignores_one_slow_run():
    clock = FakeClock([1.0, 1.0, 50.0, 1.0, 1.0])
    assert median_seconds(clock.work, repeats=5, warmup=0, clock=clock) == 1.0


def test_even_number_of_repeats_averages_the_middle_two():
    clock = FakeClock([1.0, 2.0, 4.0, 8.0])
    assert median_seconds(clock.work, repeats=4, warmup=0, clock=clock) == 3.0


def test_real_clock_gives_a_non_negative_float():
    result = median_seconds(lambda: None, repeats=2)
    assert isinstance(result, float) and result >= 0.0


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"function": 3}, TypeError, "function must be callable"),
        ({"repeats": 0}, ValueError, "repeats must be an integer >= 1"),
        ({"repeats": 2.0}, ValueError, "repeats"),
        ({"warmup": -1}, ValueError, "warmup must be an integer >= 0"),
        ({"warmup": True}, ValueError, "warmup"),
        ({"clock": "now"}, TypeError, "clock must be callable"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    calls = []
    arguments = {"function": lambda: calls.append(1)} | kwargs
    with pytest.raises(error, match=words):
        median_seconds(**arguments)
    assert calls == []  # validated before anything runs


def test_clock_measures_wall_and_cpu_seconds_of_a_block():
    from cnncourse.timing import Clock

    with Clock() as clock:
        sum(range(100_000))
    assert clock.wall >= 0 and clock.cpu >= 0


def test_blas_threads_limits_numpy_blas_and_checks_its_argument():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from cnncourse.timing import blas_threads

    with blas_threads(1):
        pools = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
        assert all(pool["num_threads"] == 1 for pool in pools)
    with pytest.raises(ValueError, match="limit"):
        blas_threads(0)
