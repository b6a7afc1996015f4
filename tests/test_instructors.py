"""The instructors' guide lists every registered exercise, with its chapter, so the list cannot go stale."""

import re
from pathlib import Path

from cnncourse.exercises import exercises

GUIDE = Path(__file__).resolve().parents[1] / "book" / "instructors.md"
START, END = "<!-- exercise-table:start -->", "<!-- exercise-table:end -->"


def _table_rows() -> dict[str, list[str]]:
    """Exercise name -> the other cells of its row, from the table between the markers."""
    text = GUIDE.read_text(encoding="utf-8")
    assert START in text and END in text, f"{GUIDE.name} has no {START} ... {END} table"
    rows = {}
    for line in text.split(START, 1)[1].split(END, 1)[0].strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        match = re.fullmatch(r"`([a-z0-9_]+)`", cells[0])
        assert match and len(cells) == 4, f"a row of the exercise table is malformed: {line!r}"
        assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
        rows[match.group(1)] = cells[1:]
    return rows


def test_every_registered_exercise_is_in_the_table_with_its_chapter():
    rows = _table_rows()
    registered = {exercise.name: exercise.chapter for exercise in exercises()}
    missing, stale = sorted(set(registered) - set(rows)), sorted(set(rows) - set(registered))
    assert not missing, f"book/instructors.md does not list {missing}: add a row for each (chapter, package, grading)"
    assert not stale, f"book/instructors.md lists {stale}, which are not registered any more"
    for name, (chapter, _, _) in rows.items():
        assert chapter == registered[name], f"{name} is registered for {registered[name]}, listed under {chapter}"


def test_every_row_says_whether_the_package_answers_and_how_to_grade():
    for name, (_, package, grade) in _table_rows().items():
        assert re.match(r"(yes|partly|no)\b", package), f"{name}: start the package column with yes, partly or no"
        assert len(grade) >= 10, f"{name}: say how to grade it"
        if package.startswith(("yes", "partly")):
            assert "`" in package, f"{name}: name the package function (or library call) that answers it"
