"""The book's structure: every chapter is in the table of contents, committed executed, bilingual."""

import json
import re
from pathlib import Path

import pytest

from cnncourse.publishing.toc import toc_pages

ROOT = Path(__file__).resolve().parents[1]
TOC_ENTRIES = toc_pages()
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
CHAPTERS = sorted(list(NOTEBOOKS) + list((ROOT / "chapters").glob("*.md")))
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_toc_entry_exists():
    for entry in TOC_ENTRIES:
        candidates = [ROOT / (entry + suffix) for suffix in ("", ".md", ".ipynb")]
        assert any(path.is_file() for path in candidates), f"_toc.yml names {entry}, which does not exist"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_in_toc(chapter):
    assert f"chapters/{chapter.stem}" in TOC_ENTRIES, f"{chapter.name} is not listed in _toc.yml"


def _first_heading(chapter: Path) -> str:
    if chapter.suffix == ".md":
        text = chapter.read_text(encoding="utf-8")
    else:
        cells = json.loads(chapter.read_text(encoding="utf-8"))["cells"]
        text = "".join(cells[0]["source"]) if cells else ""
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert match, f"{chapter.name} has no level-1 heading in its first cell"
    return match.group(1)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_heading_is_english_and_chinese(chapter):
    heading = _first_heading(chapter)
    assert "·" in heading and CJK.search(heading) and re.search(r"[A-Za-z]{3}", heading), heading


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_executed_in_order(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code, f"{notebook.name} has no code"
    counts = [c.get("execution_count") for c in code]
    assert None not in counts, f"{notebook.name}: {counts.count(None)} code cells were never executed"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"{notebook.name}: executed out of order"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{notebook.name}: a cell holds an error output: {errors[0].get('ename')}"
    assert any("# NBVAL_CHECK_OUTPUT" in "".join(c["source"]) for c in code), f"{notebook.name}: no checked cell"
    assert any(re.search(r"^\s*assert ", "".join(c["source"]), re.MULTILINE) for c in code), f"{notebook.name}: no assert"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_does_not_hack_sys_path(notebook):
    text = notebook.read_text(encoding="utf-8")
    assert "sys.path" not in text, f"{notebook.name} edits sys.path; install the package with pip install -e ."


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_size_is_reasonable(notebook):
    assert notebook.stat().st_size < 3_000_000, f"{notebook.name} is over 3 MB; shrink its figures"
