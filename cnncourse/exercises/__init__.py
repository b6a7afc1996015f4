"""Automatic checkers for the chapters' exercises.

A student writes a function (or computes a value) and calls::

    from cnncourse.exercises import check
    check("conv2d_stride", my_conv2d)

``check`` prints a one-line success message, or raises ``ExerciseFailed`` (an
``AssertionError``) whose message says what was expected and what was received:
shapes, dtypes and a sample of values. A candidate that raises, e.g. the student
edition's ``NotImplementedError`` stub, fails with a readable message too.

When the grader runs a notebook (``python -m cnncourse.exercises grade``), ``check``
inside its sandbox only records what the answer returns on the checker's inputs; the
grader judges those records with its own checkers (``cnncourse.exercises.sandbox``).

Each chapter registers its checkers in a module of its own (``ch03_convolution.py``
and so on) with the ``register`` decorator; ``python -m cnncourse.exercises list``
lists them all by chapter.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import pkgutil
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "ExerciseFailed", "Exercise", "register", "check", "exercises", "assert_close", "is_close", "call_candidate",
    "registry_snapshot", "restore_registry", "grading_rng",
]


class ExerciseFailed(AssertionError):
    """A student's answer did not pass its checker."""


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its ``name``, its ``chapter`` and the checker function."""

    name: str
    chapter: str
    description: str
    checker: Callable[[Any], None]


_REGISTRY: dict[str, Exercise] = {}
_LOADED = False
CHECK_SECONDS = 60  # default time limit of one check(); an endless loop fails instead of hanging


class OutOfTime(BaseException):
    """Raised inside a candidate by the alarm of ``_time_limit`` (a BaseException, so a bare ``except Exception`` in
    the student's code cannot swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds):
    """Interrupt the block after ``seconds`` with ``OutOfTime``, where a POSIX alarm can be used (the main thread)."""
    usable = seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def ring(signum, frame):
        raise OutOfTime()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def register(name: str, chapter: str, description: str):
    """Decorator that registers ``checker(candidate)`` under ``name``.

    The checker raises ``ExerciseFailed`` with a readable message when the candidate
    is wrong and returns normally when it is right.
    """

    def decorate(checker):
        if name in _REGISTRY and _REGISTRY[name].checker is not checker:
            raise ValueError(f"exercise {name!r} is registered twice")
        _REGISTRY[name] = Exercise(name, chapter, description, checker)
        return checker

    return decorate


def _load_all() -> None:
    """Import every chapter module of this package so that its checkers register."""
    global _LOADED
    if _LOADED:
        return
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")
    _LOADED = True


def exercises(chapter: str | None = None) -> list[Exercise]:
    """All registered exercises, sorted by chapter then name; only ``chapter``'s if given."""
    _load_all()
    found = [e for e in _REGISTRY.values() if chapter is None or e.chapter == chapter]
    return sorted(found, key=lambda e: (e.chapter, e.name))


def registry_snapshot() -> dict[str, Exercise]:
    """A copy of the registry (name -> ``Exercise``), every chapter's checkers loaded.

    The grader takes one before any submission runs and restores it with
    ``restore_registry`` before judging each record. (A notebook cannot reach the grader's
    checkers anyway: its code runs in a sandbox that only records its answers; see
    ``cnncourse.exercises.sandbox``.)
    """
    _load_all()
    return dict(_REGISTRY)


def restore_registry(snapshot: dict[str, Exercise]) -> None:
    """Make the registry exactly ``snapshot`` again (a dict from ``registry_snapshot``)."""
    if not isinstance(snapshot, dict) or not all(isinstance(e, Exercise) for e in snapshot.values()):
        raise TypeError(f"snapshot must be the dict registry_snapshot() returns, got {type(snapshot).__name__}")
    _REGISTRY.clear()
    _REGISTRY.update(snapshot)


_GRADING_SEED: int | None = None  # set by the grader (and, from the environment, inside its sandbox)


def set_grading_seed(seed: int | None) -> None:
    """Set the grading run's secret seed that :func:`grading_rng` draws from (``None`` clears it)."""
    from ..checks import check_seed

    global _GRADING_SEED
    _GRADING_SEED = None if seed is None else check_seed(seed)


def _grading_seed() -> int | None:
    import os

    from .sandbox import SEED_ENV

    if _GRADING_SEED is not None:
        return _GRADING_SEED
    text = os.environ.get(SEED_ENV, "")
    return int(text) if text.isdigit() else None


def grading_rng(seed: int) -> np.random.Generator:
    """The random generator for a checker's inputs: ``default_rng(seed)`` in a notebook, and while grading one
    drawn also from the grading run's secret seed, so that a submission cannot hard-code the answers."""
    secret = _grading_seed()
    return np.random.default_rng(seed if secret is None else [seed, secret])


def check(name: str, candidate, timeout: float | None = CHECK_SECONDS) -> bool:
    """Check a student's ``candidate`` answer to exercise ``name``.

    Returns True and prints a short message when the answer passes; raises
    ``ExerciseFailed`` with what was expected and what was received otherwise. An
    error inside the checker (say, an answer of a type it cannot inspect) is reported
    as an ``ExerciseFailed`` too, so a student never sees a bare traceback from here;
    so are a candidate that calls ``sys.exit()`` or raises ``KeyboardInterrupt``, and
    one still running after ``timeout`` seconds (None: no limit; the limit needs the
    main thread of a POSIX system, as in a notebook).
    An unknown ``name`` raises ``KeyError`` with the closest known names.
    """
    _load_all()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3)
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"no exercise named {name!r}; {hint}known exercises: {known}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    import os

    from .sandbox import RECORD_ENV, record_check

    record_to = os.environ.get(RECORD_ENV)
    try:
        with _time_limit(timeout):
            if record_to:  # inside the grader's sandbox: the calls are written down for the grader to judge
                record_check(name, candidate, _REGISTRY[name].checker, record_to)
            else:
                _REGISTRY[name].checker(candidate)
    except ExerciseFailed:
        raise
    except OutOfTime:
        raise ExerciseFailed(
            f"{name}: your answer was still running after {timeout:g} s; look for an endless loop."
        ) from None
    except (SystemExit, KeyboardInterrupt) as stop:
        raise ExerciseFailed(
            f"{name}: your answer raised {type(stop).__name__}{f'({stop})' if str(stop) else ''}; "
            "a function should return its result, not stop the program."
        ) from None
    except NotImplementedError:
        raise ExerciseFailed(f"{name}: not implemented yet: replace the `raise NotImplementedError` stub.") from None
    except Exception as error:  # e.g. an answer of an unexpected type that the checker could not even inspect
        raise ExerciseFailed(
            f"{name} ({_REGISTRY[name].description}): your answer could not be checked "
            f"({type(error).__name__}: {error}); received {_describe(candidate)}"
        ) from error
    print(f"✓ {name}: correct")
    return True


def _describe(value) -> str:
    """A short description of an answer: shape, dtype and the first values of an array."""
    if isinstance(value, np.ndarray) or (np.isscalar(value) and not isinstance(value, (str, bytes))):
        array = np.asarray(value)
        sample = np.array2string(array.reshape(-1)[:6], precision=4, separator=", ")
        more = " …" if array.size > 6 else ""
        return f"shape {array.shape}, dtype {array.dtype}, first values {sample}{more}"
    if callable(value):
        return f"the function {getattr(value, '__name__', type(value).__name__)}"
    text = f"{type(value).__name__} {value!r}"
    return text if len(text) <= 200 else text[:199] + "…"


def is_close(received, expected, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Whether ``received`` is an array of ``expected``'s shape and values (False for anything unreadable).

    The checkers use it to recognise a typical mistake (a flipped kernel, a mean for a
    sum) and say so, before ``assert_close`` reports the plain difference.
    """
    try:
        received_array = np.asarray(received, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    expected_array = np.asarray(expected, dtype=np.float64)
    return received_array.shape == expected_array.shape and bool(
        np.allclose(received_array, expected_array, rtol=rtol, atol=atol, equal_nan=False))


def assert_close(received, expected, what: str = "your result", rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Raise ``ExerciseFailed`` unless ``received`` matches ``expected`` in shape and value."""
    if received is None:
        raise ExerciseFailed(
            f"{what}: expected {_describe(expected)}, received None. Does your function `return` its result?"
        )
    try:
        received_array = np.asarray(received, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseFailed(f"{what}: expected an array ({_describe(expected)}), received {_describe(received)}") from None
    expected_array = np.asarray(expected, dtype=np.float64)
    if received_array.shape != expected_array.shape:
        raise ExerciseFailed(
            f"{what}: wrong shape.\n  expected: {_describe(expected_array)}\n  received: {_describe(received_array)}"
        )
    if not np.allclose(received_array, expected_array, rtol=rtol, atol=atol, equal_nan=False):
        worst = np.unravel_index(np.argmax(np.abs(received_array - expected_array)), expected_array.shape)
        raise ExerciseFailed(
            f"{what}: wrong values (largest difference at index {tuple(int(i) for i in worst)}: "
            f"expected {expected_array[worst]:.6g}, received {received_array[worst]:.6g}).\n"
            f"  expected: {_describe(expected_array)}\n  received: {_describe(received_array)}"
        )


def _argument_names(candidate, args, kwargs) -> list[str]:
    """The parameter names that ``args`` bind to in ``candidate`` (positions where it cannot be bound)."""
    import inspect

    try:
        bound = inspect.signature(candidate).bind_partial(*args, **kwargs).arguments
        names = list(bound)
        return names[: len(args)] + [key for key in kwargs]
    except (TypeError, ValueError):
        return [f"#{index + 1}" for index in range(len(args))] + list(kwargs)


def call_candidate(candidate, *args, what: str = "your function", **kwargs):
    """Call ``candidate(*args, **kwargs)``, turning any exception into a readable failure.

    The candidate gets copies of the arrays, so the checker's own inputs (from which it
    computes the expected answer) cannot be changed; a candidate that modifies an array it
    was given fails, because a function should return its result, not edit its input.
    """
    if not callable(candidate):
        raise ExerciseFailed(f"{what}: expected a function, received {_describe(candidate)}")
    given_args = [value.copy() if isinstance(value, np.ndarray) else value for value in args]
    given_kwargs = {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in kwargs.items()}
    try:
        result = candidate(*given_args, **given_kwargs)
    except NotImplementedError:
        raise ExerciseFailed(f"{what} is not implemented yet: replace the `raise NotImplementedError` stub.") from None
    except Exception as error:  # the student's bug, reported rather than crashing the checker
        raise ExerciseFailed(f"{what} raised {type(error).__name__}: {error}") from error
    names = _argument_names(candidate, args, kwargs)
    pairs = list(zip(args, given_args)) + [(kwargs[key], given_kwargs[key]) for key in kwargs]
    for name, (original, given) in zip(names, pairs):
        if isinstance(original, np.ndarray) and not (
            given.shape == original.shape and np.array_equal(given, original, equal_nan=original.dtype.kind in "fc")
        ):
            raise ExerciseFailed(
                f"{what} changed its argument {name} in place: it changed its input, which it must leave as it "
                f"was. Return a new array instead (e.g. start from a copy, and avoid `{name} += ...` or `{name}[...] = ...`)."
            )
    return result
