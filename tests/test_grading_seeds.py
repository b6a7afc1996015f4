"""Every checker whose inputs a student could hard-code draws them from the grading run's secret seed.

For each chapter the chapter's own solutions (the functions its notebook or page defines, found as the
grader finds them) are run through its checkers: the inputs differ between two grading seeds, the
solutions pass under several seeds, and a table of the answers recorded under one seed fails under
another.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import cnncourse.exercises as registry
from cnncourse.exercises import ExerciseFailed, check, exercises
from cnncourse.exercises.__main__ import _check_calls, _code_cells, _parse, grade_functions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted({exercise.chapter for exercise in exercises()})
# Answers that are values, not functions: there are no inputs to draw (chapter 1's problem types, a-d).
VALUE_ANSWERS = {"background_problem_types"}
SEEDS = (1, 7, 2024, 99991, 123456789)
# Answers that act on an object the checker builds (freezing a model's layers), judged by that object's state
# afterwards: no table of return values can pass them, whatever the inputs.
ACTIONS = {"little_data_freeze"}


def _chapter_file(chapter: str) -> Path:
    notebook = ROOT / "chapters" / f"{chapter}.ipynb"
    return notebook if notebook.is_file() else ROOT / "chapters" / f"{chapter}.md"


def _sources(path: Path) -> list[str]:
    """The code of a notebook's code cells, or of a page's ```python blocks."""
    if path.suffix == ".ipynb":
        return _code_cells(path)
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def _solutions(chapter: str) -> dict[str, object]:
    """``{exercise: the answer the chapter checks last}``, defined as the grader defines a notebook's functions."""
    namespace: dict = {"__name__": "__seeds__"}
    answers = {}
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    path = _chapter_file(chapter)
    trees = list(filter(None, map(_parse, _sources(path))))
    # A page shows its checks before the solutions that define the functions: define everything first there.
    steps = [(tree, ()) for tree in trees] + [(None, trees)] if path.suffix == ".md" else [(tree, [tree]) for tree in trees]
    for tree, checked in steps:
        for node in tree.body if tree else ():
            if isinstance(node, keep):
                try:
                    exec(compile(ast.Module(body=[node], type_ignores=[]), chapter, "exec"), namespace)
                except NameError:  # a class built on a name the notebook assigns at run time; the grader skips it too
                    continue
        for name, expression in (call for checked_tree in checked for call in _check_calls(checked_tree)):
            try:
                answers[name] = eval(compile(ast.Expression(expression), chapter, "eval"), namespace)
            except NameError:  # a check of a value the notebook computes (with data), as the grader would find it
                continue
    return answers


def _fingerprint(value, digest=None) -> str:
    """A hash of an argument: arrays by dtype, shape and bytes, containers item by item, functions by code and closure."""
    top = digest is None
    digest = hashlib.sha256() if top else digest
    if isinstance(value, np.ndarray):
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}(".encode())
        for item in value:
            _fingerprint(item, digest)
        digest.update(b")")
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _fingerprint(value[key], digest)
    elif callable(value) and hasattr(value, "__code__"):  # a function by its code and the values it closes over
        digest.update(value.__code__.co_code + repr(value.__code__.co_consts).encode())
        for cell in value.__closure__ or ():
            _fingerprint(cell.cell_contents, digest)
    elif callable(value):
        digest.update(getattr(value, "__qualname__", type(value).__name__).encode())
    else:
        digest.update(repr(value).encode())
    return digest.hexdigest() if top else ""


def _key(args, kwargs) -> str:
    return _fingerprint((list(args), dict(kwargs)))


class _Spy:
    """Calls ``answer``, writing down each call's inputs and output."""

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def __call__(self, *args, **kwargs):
        key = _key(args, kwargs)  # before the answer runs, as the checker gave them
        try:
            result = self.answer(*args, **kwargs)
        except Exception as error:  # an answer that must refuse some inputs (a colour image in chapter 9)
            self.calls.append((key, error))
            raise
        self.calls.append((key, result))
        return result


def _run(name, answer, seed):
    """``check(name, answer)`` with the grading seed ``seed`` (None: as in a notebook)."""
    registry.set_grading_seed(seed)
    try:
        return check(name, answer, timeout=None)
    finally:
        registry.set_grading_seed(None)


@pytest.fixture(scope="module")
def solutions():
    return {chapter: _solutions(chapter) for chapter in CHAPTERS}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_checker_of_the_chapter_has_its_solution(chapter, solutions):
    assert {e.name for e in exercises(chapter)} <= set(solutions[chapter]), "each checker is called in its chapter"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapters_solutions_pass_under_several_grading_seeds(chapter, solutions, capsys):
    """The grader's own path (``grade_functions``) on a notebook: every exercise's last check passes."""
    path = _chapter_file(chapter)
    if path.suffix == ".md":  # a page: its solutions, checked as a student's notebook would check them
        for seed in (None, *SEEDS):
            for name, answer in solutions[chapter].items():
                assert _run(name, answer, seed), (name, seed)
        return
    for seed in (None, *SEEDS):
        registry.set_grading_seed(seed)
        try:
            results = grade_functions(path)
        finally:
            registry.set_grading_seed(None)
        last = {name: (passed, message) for name, passed, message in results}
        failed = {name: message for name, (passed, message) in last.items() if not passed}
        assert not failed, f"{path.name} under grading seed {seed}: {failed}"
        assert {e.name for e in exercises(chapter)} <= set(last)
    capsys.readouterr()


@pytest.mark.parametrize("exercise", [e for e in exercises() if e.name not in VALUE_ANSWERS], ids=lambda e: e.name)
def test_inputs_follow_the_grading_seed_and_a_table_of_answers_fails(exercise, solutions, capsys):
    answer = solutions[exercise.chapter][exercise.name]
    assert callable(answer), f"{exercise.name}'s answer is a value; list it in VALUE_ANSWERS if that is meant"
    seen = {}
    for seed in (None, 11, 12):
        spy = _Spy(answer)
        assert _run(exercise.name, spy, seed)
        seen[seed] = spy.calls
    notebook_keys, keys_11, keys_12 = ([key for key, _ in seen[seed]] for seed in (None, 11, 12))
    if exercise.name not in ACTIONS:
        assert keys_11 != keys_12 and keys_11 != notebook_keys, f"{exercise.name}: the same inputs under two grading seeds"
        assert set(keys_11) - set(keys_12), f"{exercise.name}: every input of seed 11 is asked again under seed 12"

    table = {key: result for key, result in seen[11]}

    def lookup(*args, **kwargs):  # what a student could paste into a notebook: the answers seen under one seed
        result = table[_key(args, kwargs)]
        if isinstance(result, Exception):
            raise result
        return result

    lookup.__name__ = getattr(answer, "__name__", "lookup")
    if exercise.name not in ACTIONS:
        assert _run(exercise.name, lookup, 11), "the table answers the inputs it was recorded on"
    with pytest.raises(ExerciseFailed):
        _run(exercise.name, lookup, 12)
    capsys.readouterr()


def test_value_answers_have_no_inputs_to_draw(solutions):
    """The exemption above is only for answers that are values: a function there would need drawn inputs."""
    for name in VALUE_ANSWERS:
        chapter = next(e.chapter for e in exercises() if e.name == name)
        assert not callable(solutions[chapter][name])


def test_a_grading_seed_is_checked_as_every_seed_is():
    for bad, error in ((-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed must be an int"):
            registry.set_grading_seed(bad)
    registry.set_grading_seed(None)
