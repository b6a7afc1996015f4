"""The exercise registry as a whole: every checker belongs to a chapter, is used there, is tested, fails readably.

Each chapter's own ``tests/test_exercises_chNN.py`` proves that its checkers accept a
correct answer and reject wrong ones; this file checks what holds for all of them.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cnncourse.exercises as registry
from cnncourse.exercises import ExerciseFailed, assert_close, call_candidate, check, exercises, register
from cnncourse.exercises.__main__ import main
from cnncourse.publishing.toc import toc_notebooks, toc_pages

ROOT = Path(__file__).resolve().parents[1]
TOC_ENTRIES = toc_pages()
TOC_NOTEBOOKS = [ROOT / path for path in toc_notebooks(ROOT)]
EXERCISES = exercises()
NAMES = [exercise.name for exercise in EXERCISES]


def _check_calls(notebook: Path) -> list[str]:
    """The exercise names of the ``check("name", ...)`` calls in a notebook's code cells."""
    names = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:  # IPython magics; the chapters' tests catch real syntax errors
            continue
        for node in ast.walk(tree):
            function = getattr(node, "func", None)
            if isinstance(node, ast.Call) and (getattr(function, "id", None) or getattr(function, "attr", None)) == "check":
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    names.append(node.args[0].value)
    return names


CALLS = {notebook.stem: _check_calls(notebook) for notebook in TOC_NOTEBOOKS}


def test_there_are_exercises():
    assert len(EXERCISES) >= 2 and len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
def test_exercise_is_well_formed(exercise):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", exercise.name), "names are snake_case, as the functions students write"
    assert re.fullmatch(r"\d\d[a-z]?_[a-z0-9_]+", exercise.chapter), f"chapter ids look like 03_convolution: {exercise.chapter!r}"
    assert len(exercise.description) >= 10, "the list command shows the description; say what the function computes"
    module = exercise.checker.__module__.rsplit(".", 1)[-1]
    assert module == f"ch{exercise.chapter}", f"{exercise.name} is registered in {module}, not ch{exercise.chapter}.py"


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
def test_exercise_chapter_exists_and_uses_it(exercise):
    chapter = ROOT / "chapters" / f"{exercise.chapter}.ipynb"
    page = ROOT / "chapters" / f"{exercise.chapter}.md"
    if not chapter.is_file() and page.is_file():  # a prose chapter: students call its checkers from their own notebooks
        assert f"chapters/{exercise.chapter}" in TOC_ENTRIES, f"chapters/{exercise.chapter}.md is not in _toc.yml"
        assert f'check("{exercise.name}"' in page.read_text(encoding="utf-8"), f"chapters/{exercise.chapter}.md never shows check(\"{exercise.name}\", ...)"
        return
    assert chapter.is_file(), f"{exercise.name} belongs to {exercise.chapter}, but chapters/{exercise.chapter}.ipynb does not exist"
    assert chapter in TOC_NOTEBOOKS, f"chapters/{exercise.chapter}.ipynb is not in _toc.yml"
    assert exercise.name in CALLS[exercise.chapter], (
        f'no cell of chapters/{exercise.chapter}.ipynb calls check("{exercise.name}", ...)'
    )


@pytest.mark.parametrize("chapter", sorted({e.chapter for e in EXERCISES}))
def test_each_chapter_has_checker_tests(chapter):
    found = sorted((ROOT / "tests").glob(f"test_exercises_ch{chapter[:2]}*.py"))
    assert found, f"tests/test_exercises_ch{chapter[:2]}.py is missing: test each checker with a correct and a wrong answer"
    text = "\n".join(path.read_text(encoding="utf-8") for path in found)
    for exercise in exercises(chapter):
        assert exercise.name in text, f"{found[0].name} never mentions the exercise {exercise.name!r}"


@pytest.mark.parametrize("notebook", sorted(CALLS), ids=str)
def test_every_check_call_names_an_exercise_of_its_chapter(notebook):
    by_name = {exercise.name: exercise for exercise in EXERCISES}
    for name in CALLS[notebook]:
        assert name in by_name, f'{notebook}.ipynb calls check("{name}", ...), which is not registered'
        assert by_name[name].chapter == notebook, f"{name} is registered for {by_name[name].chapter}, used in {notebook}"


# Whatever the exercise, a student's unfinished or broken answer gets an ExerciseFailed, never a crash.


def _stub(*args, **kwargs):
    raise NotImplementedError


def _returns_nothing(*args, **kwargs):
    return None


def _raises(*args, **kwargs):
    raise IndexError("index 7 is out of bounds for axis 0 with size 3")


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
def test_every_checker_fails_readably_on_a_stub(exercise):
    with pytest.raises(ExerciseFailed) as failure:
        check(exercise.name, _stub)
    assert "not implemented" in str(failure.value)


@pytest.mark.parametrize("exercise", EXERCISES, ids=NAMES)
@pytest.mark.parametrize("answer", [_returns_nothing, _raises, None, "a string"], ids=["returns-None", "raises", "None", "str"])
def test_every_checker_fails_readably_on_wrong_answers(exercise, answer):
    with pytest.raises(ExerciseFailed) as failure:
        check(exercise.name, answer)
    message = str(failure.value)
    assert 10 < len(message) < 2000 and "Traceback" not in message
    if answer is _raises:
        assert "IndexError" in message and "index 7" in message


# The list command.


def test_list_command_groups_by_chapter(capsys):
    assert main(["list"]) == 0
    output = capsys.readouterr().out
    for exercise in EXERCISES:
        heading = output.index(f"{exercise.chapter}:\n")
        line = re.search(rf"^  {re.escape(exercise.name)} +{re.escape(exercise.description)}$", output, re.MULTILINE)
        assert line and line.start() > heading, f"{exercise.name} is not listed under {exercise.chapter}"
    chapters = [line[:-1] for line in output.splitlines() if re.fullmatch(r"\d\d[a-z]?_\w+:", line)]
    assert chapters == sorted(set(chapters)), "each chapter once, in order"
    assert f"{len(EXERCISES)} exercises in {len(chapters)} chapter" in output


def test_list_command_one_chapter(capsys):
    chapter = EXERCISES[0].chapter
    for selector in (chapter, chapter[:2], str(int(chapter[:2]))):
        assert main(["list", selector]) == 0
        output = capsys.readouterr().out
        assert output.startswith(f"{chapter}:\n")
        assert set(re.findall(r"^  (\w+) ", output, re.MULTILINE)) == {e.name for e in exercises(chapter)}
    assert main(["list", "99_nowhere"]) == 2
    assert "chapters with exercises" in capsys.readouterr().err


def test_list_command_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "cnncourse.exercises", "list"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert all(name in result.stdout for name in NAMES)


# Readable failure messages.


def test_assert_close_reports_shapes_and_values():
    expected = np.arange(12.0).reshape(3, 4)
    with pytest.raises(ExerciseFailed) as failure:
        assert_close(np.zeros((4, 3)), expected, what="conv(x)")
    message = str(failure.value)
    assert "conv(x): wrong shape" in message and "expected: shape (3, 4)" in message and "received: shape (4, 3)" in message
    assert "first values [0., 1., 2., 3., 4., 5.] …" in message

    wrong = expected.copy()
    wrong[2, 1] = -1.0
    with pytest.raises(ExerciseFailed, match=r"wrong values \(largest difference at index \(2, 1\): expected 9, received -1\)"):
        assert_close(wrong, expected, what="conv(x)")
    assert_close(expected + 1e-9, expected)  # within tolerance: no error


@pytest.mark.parametrize(
    "received, pattern",
    [
        (None, r"received None\. Does your function `return` its result\?"),
        ("text", r"expected an array .*received str 'text'"),
        ([[1.0, 2.0], [3.0]], r"expected an array"),
        (np.full(3, np.nan), r"wrong values"),
    ],
)
def test_assert_close_reports_odd_answers(received, pattern):
    with pytest.raises(ExerciseFailed, match=pattern):
        assert_close(received, np.ones(3), what="f(x)")


def test_call_candidate_turns_errors_into_failures():
    def stub(x):
        raise NotImplementedError

    with pytest.raises(ExerciseFailed, match=r"^f\(x\) is not implemented yet: replace the `raise NotImplementedError` stub"):
        call_candidate(stub, 1, what="f(x)")
    with pytest.raises(ExerciseFailed, match=r"f\(x\) raised ZeroDivisionError: division by zero"):
        call_candidate(lambda x: x / 0, 1, what="f(x)")
    with pytest.raises(ExerciseFailed, match=r"expected a function, received shape \(\), dtype int64"):
        call_candidate(np.int64(3), what="f(x)")
    assert call_candidate(lambda x, y=0: x + y, 1, y=2) == 3


@pytest.fixture
def temporary_exercise():
    """A throw-away exercise whose checker inspects its answer carelessly."""

    @register("_tmp_double", "99_test", "twice the input")
    def _checker(candidate):
        what = "double([0, 1, 2])"
        assert_close(call_candidate(candidate, np.arange(3.0), what=what), np.arange(3.0) * 2, what=what)
        candidate.attribute_that_functions_lack  # noqa: B018 - a checker bug: AttributeError

    yield "_tmp_double"
    registry._REGISTRY.pop("_tmp_double")


def test_check_messages(temporary_exercise, capsys):
    with pytest.raises(ExerciseFailed, match=r"double\(\[0, 1, 2\]\): wrong values"):
        check(temporary_exercise, lambda x: x * 3)
    with pytest.raises(ExerciseFailed, match=r"_tmp_double \(twice the input\): your answer could not be checked \(AttributeError"):
        check(temporary_exercise, lambda x: x * 2)
    with pytest.raises(KeyError, match=r"did you mean '_tmp_double'"):
        check("_tmp_doubel", lambda x: x)
    with pytest.raises(ValueError, match="registered twice"):
        register("_tmp_double", "99_test", "again")(lambda candidate: None)


def test_check_prints_success(capsys):
    exercise = EXERCISES[0]
    calls = []

    def recording_checker(candidate):
        calls.append(candidate)

    original = registry._REGISTRY[exercise.name]
    registry._REGISTRY[exercise.name] = registry.Exercise(exercise.name, exercise.chapter, exercise.description, recording_checker)
    try:
        assert check(exercise.name, "answer") is True
    finally:
        registry._REGISTRY[exercise.name] = original
    assert calls == ["answer"] and capsys.readouterr().out == f"✓ {exercise.name}: correct\n"


# Grading students' notebooks.

GRADED = [notebook for notebook in TOC_NOTEBOOKS if CALLS[notebook.stem]]


@pytest.mark.parametrize("notebook", GRADED, ids=lambda path: path.stem)
def test_grade_passes_the_chapters_own_solutions(notebook):
    from cnncourse.exercises.__main__ import grade_functions

    results = grade_functions(notebook)
    assert [name for name, _, _ in results] == CALLS[notebook.stem]
    failed = [(name, message) for name, ok, message in results if not ok]
    assert not failed, (
        f"{notebook.name}: grading by functions fails the chapter's own solutions {failed}; an exercise "
        "function may use only its arguments, imports and other functions (not variables of earlier cells)"
    )


def test_grade_command_on_a_student_edition(tmp_path, capsys):
    from cnncourse.publishing import student as make_student

    notebook = GRADED[0]
    student = make_student.student_notebook(__import__("nbformat").read(notebook, as_version=4))
    submission = tmp_path / notebook.name
    __import__("nbformat").write(student, submission)
    csv_path = tmp_path / "grades.csv"
    assert main(["grade", "--csv", str(csv_path), "--", str(submission)]) == 0
    output = capsys.readouterr().out
    names = CALLS[notebook.stem]
    assert f"{submission}: 0/{len(names)} exercises correct" in output
    for name in names:
        assert re.search(rf"✗ {name}: .*not implemented yet", output), output
    rows = csv_path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "notebook,status,exercise,passed,message" and len(rows) == len(names) + 1
    assert all(",graded," in row for row in rows[1:])
    assert main(["grade", "--", str(tmp_path / "missing.ipynb")]) == 2


def test_list_selects_a_lettered_chapter_by_its_number():
    from cnncourse.exercises.__main__ import _select

    chapters = {exercise.chapter for exercise in _select("07b")}
    assert chapters == {"07b_training_deeper"}
    assert {exercise.chapter for exercise in _select("7")} == {"07_optimizers"}
