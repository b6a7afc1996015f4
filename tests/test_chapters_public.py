"""The chapters show only public code, and do not repeat each other's helpers.

Read from the notebooks' code cells (parsed, never executed):

* no ``show_source(...)`` of a ``_``-named function, class or attribute, and no import of a
  ``_``-named name from ``cnncourse``: what a chapter teaches is the package's public API;
* no function or class defined at the top of a cell in two chapters: a helper that two
  chapters need belongs in the package (``cnncourse.display``, ``cnncourse.data``,
  ``cnncourse.experiments.quick``, ...), unless ``SHARED_NAMES`` says why not.
"""

from __future__ import annotations

import ast
import json
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))

# name -> why two chapters may each define it. Keep this list short.
SHARED_NAMES: dict[str, str] = {}

# (notebook, shown expression) -> why it may still show private code. Keep this list short.
PRIVATE_SHOWN: dict[tuple[str, str], str] = {}


def _code(notebook: Path) -> list[tuple[int, ast.Module]]:
    """``(cell index, parsed source)`` of each code cell; IPython lines (``%``, ``!``) are blanked."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    parsed = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        parsed.append((index, ast.parse("\n".join(lines), filename=f"{notebook.name}, cell {index}")))
    return parsed


def _names_in(expression: ast.expr) -> list[str]:
    """The names and attribute names of an expression such as ``scratch.pooling._max_pool_forward``."""
    return [node.id if isinstance(node, ast.Name) else node.attr
            for node in ast.walk(expression) if isinstance(node, (ast.Name, ast.Attribute))]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_show_source_shows_only_public_code(notebook):
    shown = []
    for index, tree in _code(notebook):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "show_source":
                private = [name for argument in node.args for name in _names_in(argument) if _private(name)]
                if private and (notebook.name, ast.unparse(node.args[0])) not in PRIVATE_SHOWN:
                    shown.append(f"cell {index}: show_source({ast.unparse(node.args[0])})")
    assert not shown, f"{notebook.name} shows private code (make a public function and show that): {shown}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_chapters_import_no_private_names_from_the_package(notebook):
    imported = []
    for index, tree in _code(notebook):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnncourse"):
                parts = node.module.split(".") + [alias.name for alias in node.names]
                imported += [f"cell {index}: from {node.module} import {name}" for name in parts if _private(name)]
            elif isinstance(node, ast.Import):
                imported += [f"cell {index}: import {alias.name}" for alias in node.names
                             if alias.name.startswith("cnncourse") and any(map(_private, alias.name.split(".")))]
    assert not imported, f"{notebook.name} imports private names: {imported}"


def _top_level_definitions() -> dict[str, list[str]]:
    """name -> the chapters (file stems) that define it at the top of a code cell."""
    defined = defaultdict(list)
    for notebook in NOTEBOOKS:
        for _, tree in _code(notebook):
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    if notebook.stem not in defined[node.name]:
                        defined[node.name].append(notebook.stem)
    return defined


def test_no_two_chapters_define_the_same_helper():
    repeated = {name: chapters for name, chapters in _top_level_definitions().items()
                if len(chapters) > 1 and name not in SHARED_NAMES}
    assert not repeated, (
        f"these helpers are defined in more than one chapter: {repeated}. Move each into the package "
        "(and import it in both chapters), or add it to SHARED_NAMES with the reason."
    )


def test_every_allowed_shared_name_is_still_shared():
    defined = _top_level_definitions()
    stale = [name for name in SHARED_NAMES if len(defined.get(name, [])) < 2]
    assert not stale, f"SHARED_NAMES lists names no longer defined in two chapters; remove them: {stale}"


def test_the_checks_see_private_code_and_repeats():
    """The parser finds what the tests look for (so an empty result means something)."""
    tree = ast.parse("show_source(scratch.pooling._max_pool_forward)\nfrom cnncourse.dicom import _grey_image\n")
    call = tree.body[0].value
    assert [name for name in _names_in(call.args[0]) if _private(name)] == ["_max_pool_forward"]
    assert _private("_grey_image") and not _private("__init__") and not _private("grey_image")
    assert len(_top_level_definitions()) > 20  # the chapters do define helpers; they are counted
