"""What a chapter shows of the package is the package's code today.

Chapters show the package with ``cnncourse.display.show_source``, whose stored output holds
the shown code as plain text. If that code has since changed, the page shows a stale copy:
re-execute the chapter (``make execute NB=chapters/...``). nbval does not catch this, since
it does not compare the outputs of unchecked cells.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
PACKAGE = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "cnncourse").rglob("*.py")))


def _shown(notebook: Path):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code" or "show_source(" not in "".join(cell["source"]):
            continue
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/plain", ""))
            if text.strip():
                yield index, cell.get("id"), text.strip("\n")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_shown_source_is_current(notebook):
    stale = [f"cell {index} ({cell_id}): {text.splitlines()[0][:80]}" for index, cell_id, text in _shown(notebook)
             if text not in PACKAGE]
    assert not stale, f"{notebook.name} shows code that has changed since it was executed; re-execute it:\n  " + "\n  ".join(stale)


def test_the_chapters_show_package_code():
    assert sum(1 for notebook in NOTEBOOKS for _ in _shown(notebook)) >= 20
