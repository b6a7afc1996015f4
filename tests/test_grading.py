"""The grader under hostile submissions: each gets a row and a status, and none affects another.

Submissions here answer chapter 2's two cheap exercises (``positive_fraction`` and
``conv_params``), so each child process takes well under a second.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from cnncourse.exercises import ExerciseFailed, check
from cnncourse.exercises.__main__ import grade_isolated, main

GOOD = '''
import numpy as np
from cnncourse.exercises import check

def positive_fraction(labels):
    return float(np.mean(labels))

def conv_params(kernel_size, channels_in, filters):
    return kernel_size * kernel_size * channels_in * filters + filters
'''
CHECKS = 'check("positive_fraction", positive_fraction)\ncheck(name="conv_params", candidate=conv_params)\n'


def _notebook(path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
             for source in sources]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return path


@pytest.fixture
def submissions(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    made = {
        "good": _notebook(folder / "good.ipynb", GOOD, CHECKS),
        "wrong": _notebook(folder / "wrong.ipynb", GOOD.replace("+ filters\n", "\n"), CHECKS),
        # Swaps the checker in the registry for one that accepts anything, then answers wrongly.
        "tamper": _notebook(folder / "tamper.ipynb", GOOD.replace("return float(np.mean(labels))", "return 0.0") +
                            "\nimport cnncourse.exercises as E\nclass Hack:\n"
                            "    E._REGISTRY['conv_params'] = E.Exercise('conv_params', '02_core_concepts', 'x' * 10, lambda c: None)\n"
                            "def conv_params(*args):\n    return -1\n", CHECKS),
        "exits": _notebook(folder / "exits.ipynb", "import sys\ndef positive_fraction(labels, _=sys.exit(0)):\n    return 1\n", CHECKS),
        "hard_exit": _notebook(folder / "hard_exit.ipynb", "import os\ndef f(_=os._exit(0)):\n    pass\n", CHECKS),
        "loops": _notebook(folder / "loops.ipynb", "def positive_fraction(labels, _=[0 for _ in iter(int, 1)]):\n    return 1\n", CHECKS),
    }
    for name, content in {"bad_json": b"{ not json", "empty": b"", "cells_null": b'{"cells": null}',
                          "latin1": b'{"cells": [{"cell_type": "code", "source": "x = \xe9"}]}'}.items():
        path = folder / f"{name}.ipynb"
        path.write_bytes(content)
        made[name] = path
    return made


def test_each_kind_of_submission_gets_its_status(submissions, tmp_path, capsys):
    names = ["good", "wrong", "bad_json", "tamper", "exits", "hard_exit", "empty", "cells_null", "latin1", "loops", "good"]
    csv_path = tmp_path / "grades.csv"
    start = time.perf_counter()
    status = main(["grade", "--timeout", "20", "--csv", str(csv_path), "--", *[str(submissions[name]) for name in names]])
    elapsed = time.perf_counter() - start
    assert status == 1  # some submissions could not be graded
    assert elapsed < 20 + 10 * len(names), "the time limit bounds the whole run"
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    by_notebook: dict[str, list[dict]] = {}
    for row in rows:
        by_notebook.setdefault(Path(row["notebook"]).stem, []).append(row)
    assert set(by_notebook) == set(names), "every submission has a row"

    def outcome(name):
        return [(row["status"], row["exercise"], row["passed"]) for row in by_notebook[name]]

    good = [("graded", "positive_fraction", "1"), ("graded", "conv_params", "1")]
    assert outcome("good") == good + good  # graded twice, before and after the others: same result
    assert outcome("wrong") == [("graded", "positive_fraction", "1"), ("graded", "conv_params", "0")]
    assert outcome("tamper") == [("graded", "positive_fraction", "0"), ("graded", "conv_params", "0")]
    for name in ("bad_json", "empty", "cells_null", "latin1"):
        assert outcome(name) == [("malformed", "", "0")], name
    assert "not valid JSON" in by_notebook["bad_json"][0]["message"]
    assert "empty" in by_notebook["empty"][0]["message"]
    assert "list of \"cells\", got NoneType" in by_notebook["cells_null"][0]["message"]
    assert "not UTF-8" in by_notebook["latin1"][0]["message"]
    assert outcome("hard_exit") == [("crashed", "", "0")]
    assert "before reporting" in by_notebook["hard_exit"][0]["message"]
    assert outcome("loops") == [("timed out", "", "0")]
    # sys.exit() in a default argument is the student's bug: that function is simply not defined.
    assert [row["status"] for row in by_notebook["exits"]] == ["graded", "graded"]
    assert by_notebook["exits"][0]["passed"] == "0" and "not defined" in by_notebook["exits"][0]["message"]
    output = capsys.readouterr()
    assert "could not be graded" in output.err and "not graded (timed out)" in output.out


def test_all_graded_exits_zero(submissions):
    assert main(["grade", "--", str(submissions["good"]), str(submissions["wrong"])]) == 0


def test_memory_limit_stops_a_hungry_submission(tmp_path):
    hungry = _notebook(tmp_path / "hungry.ipynb", "def positive_fraction(labels, _=bytearray(3 * 1024**3)):\n    return 1\n", CHECKS)
    submission = grade_isolated(hungry, timeout=60, memory_mb=1024)
    # The allocation fails inside the child: the function is undefined, and the rest is graded.
    assert submission.status == "graded" and submission.results[0][1] is False


@pytest.mark.parametrize("arguments, message", [
    (["--timeout", "0"], "--timeout must be a positive number"),
    (["--memory-mb", "-1"], "--memory-mb must be 0"),
    (["--max-mb", "0"], "--max-mb must be a positive"),
    (["--seed", "-1"], "--seed must be an int in [0, 2**32), got -1"),
])
def test_bad_limits_are_refused(submissions, capsys, arguments, message):
    with pytest.raises(SystemExit):
        main(["grade", *arguments, "--", str(submissions["good"])])
    assert message in capsys.readouterr().err


def test_check_has_a_time_limit():
    def slow(labels):
        while True:
            pass

    start = time.perf_counter()
    with pytest.raises(ExerciseFailed, match="still running after 1 s"):
        check("positive_fraction", slow, timeout=1)
    assert time.perf_counter() - start < 5
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        check("positive_fraction", slow, timeout=-1)


@pytest.mark.parametrize("stop", [SystemExit(0), KeyboardInterrupt()])
def test_check_turns_exits_into_failures(stop):
    def stopper(labels):
        raise stop

    with pytest.raises(ExerciseFailed, match=f"raised {type(stop).__name__}"):
        check("positive_fraction", stopper)


def test_checkers_are_not_fooled():
    def mutating(labels):
        labels[:] = 0
        return 0.0

    with pytest.raises(ExerciseFailed, match="changed its input"):
        check("positive_fraction", mutating)

    class Liar(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    with pytest.raises(ExerciseFailed, match="expected 320"):
        check("conv_params", lambda k, c, f: Liar(0))


def test_every_checker_gets_copies_and_catches_in_place_edits():
    """call_candidate hands out copies: a right answer that also edits its input fails, whatever the checker."""
    from cnncourse.dicom import apply_window

    def window_then_wipe(values, center, width):
        result = apply_window(values, center, width)
        values[...] = 0  # the checker's own array is untouched: this edits a copy, and is caught
        return result

    with pytest.raises(ExerciseFailed, match="changed its argument values in place"):
        check("dicom_window", window_then_wipe)
    assert check("dicom_window", apply_window)


def test_number_answers_are_compared_as_plain_floats():
    """A float subclass whose comparisons lie cannot pass a checker that reads a number."""

    class Liar(float):
        def __lt__(self, other):
            return False

        __gt__ = __lt__

        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    with pytest.raises(ExerciseFailed, match="too small"):
        check("measured_max_lr", lambda loss, gradient, start, high: Liar(0.0))
    with pytest.raises(ExerciseFailed, match="wrong values"):
        check("majority_baseline_accuracy", lambda y_train, y_test: Liar(0.0))


def test_registry_snapshot_restores_a_swapped_checker():
    from cnncourse.exercises import register, registry_snapshot, restore_registry

    snapshot = registry_snapshot()
    original = snapshot["positive_fraction"].checker
    try:
        import cnncourse.exercises as registry_module

        registry_module._REGISTRY.pop("positive_fraction")  # what a hostile notebook might do
        register("positive_fraction", "02_core_concepts", "swapped")(lambda candidate: None)
        restore_registry(snapshot)
        assert registry_snapshot()["positive_fraction"].checker is original
        with pytest.raises(ExerciseFailed):
            check("positive_fraction", lambda labels: -1.0)
    finally:
        restore_registry(snapshot)
    with pytest.raises(TypeError, match="snapshot must be"):
        restore_registry({"positive_fraction": "not an exercise"})
