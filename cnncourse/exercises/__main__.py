"""The exercise checkers from the command line.

    python -m cnncourse.exercises list [CHAPTER]
    python -m cnncourse.exercises grade [--execute] [--csv FILE] NOTEBOOK [NOTEBOOK ...]

``list`` shows the checkers by chapter; ``CHAPTER`` is a chapter id such as
``03_convolution``, or just its number (``03`` or ``3``).

``grade`` runs every ``check("name", function)`` call of students' notebooks and prints
one line per exercise and a score per notebook. By default it runs only the notebooks'
imports, ``def``s and ``class``es, then the checks: seconds per notebook, no data, no
training. ``--execute`` runs each notebook top to bottom instead (as a student would,
minutes per notebook) and reads the checks' results from its outputs. Both run the
students' code: grade submissions in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import io
import json
import os
import sys
from pathlib import Path

from . import ExerciseFailed, check, exercises


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _select(chapter: str | None) -> list:
    """The exercises of ``chapter`` (an id, or a number such as ``3`` or ``03``); all if None."""
    every = exercises()
    if chapter is None:
        return every
    wanted = chapter.strip()
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}_"
        return [exercise for exercise in every if exercise.chapter.startswith(wanted)]
    return [exercise for exercise in every if exercise.chapter == wanted]


def _list(chapter: str | None) -> int:
    selected = _select(chapter)
    if not selected:
        known = ", ".join(sorted({exercise.chapter for exercise in exercises()}))
        print(f"no exercises for chapter {chapter!r}; chapters with exercises: {known}", file=sys.stderr)
        return 2
    current = None
    for exercise in selected:
        if exercise.chapter != current:
            current = exercise.chapter
            print(f"{current}:")
        print(f"  {exercise.name:<28} {exercise.description}")
    chapters = len({exercise.chapter for exercise in selected})
    print(
        f"\n{_plural(len(selected), 'exercise')} in {_plural(chapters, 'chapter')}. "
        f'In a notebook: check("name", your_function)'
    )
    return 0


# ----------------------------------------------------------------------------- grading


def _code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    sources = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else source)
    return sources


def _parse(source: str) -> ast.Module | None:
    """A cell's code, IPython magics (``%…``, ``!…``) left out; None if it does not parse."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _check_calls(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    calls = []
    for node in ast.walk(tree):
        function = getattr(node, "func", None)
        name = getattr(function, "id", None) or getattr(function, "attr", None)
        if isinstance(node, ast.Call) and name == "check" and len(node.args) == 2:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                calls.append((first.value, node.args[1]))
    return calls


def _first_line(message: str) -> str:
    line = str(message).strip().splitlines()[0] if str(message).strip() else ""
    return line if len(line) <= 160 else line[:159] + "…"


def grade_functions(path: Path) -> list[tuple[str, bool, str]]:
    """Grade ``path`` by running its imports, ``def``s and ``class``es, then its checks.

    Returns ``(exercise, passed, message)`` for each ``check`` call, in order.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # a notebook's `import tensorflow` stays quiet
    namespace: dict = {"__name__": "__grading__"}
    trees = [tree for tree in map(_parse, _code_cells(path)) if tree is not None]
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    results = []
    for tree in trees:
        for node in tree.body:
            if isinstance(node, keep):
                with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
        for name, candidate in _check_calls(tree):
            try:
                answer = eval(compile(ast.Expression(candidate), str(path), "eval"), namespace)
            except Exception as error:
                results.append((name, False, f"{ast.unparse(candidate)} is not defined ({type(error).__name__}: {error})"))
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    check(name, answer)
                results.append((name, True, "correct"))
            except ExerciseFailed as failure:
                results.append((name, False, _first_line(failure)))
            except KeyError as error:
                results.append((name, False, _first_line(error.args[0] if error.args else error)))
    return results


def grade_execute(path: Path, timeout: int = 600) -> list[tuple[str, bool, str]]:
    """Grade ``path`` by executing it top to bottom and reading its check cells' outputs."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError as error:  # pragma: no cover - both come with Jupyter
        raise SystemExit(f"--execute needs nbformat and nbclient (pip install nbclient): {error}") from None
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    client.execute()
    results = []
    for cell in notebook.cells:
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        for name, _ in _check_calls(tree) if tree else []:
            text = "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
            errors = [output for output in cell.outputs if output.output_type == "error"]
            if f"✓ {name}: correct" in text:
                results.append((name, True, "correct"))
            elif errors:
                results.append((name, False, _first_line(f"{errors[0].ename}: {errors[0].evalue}")))
            else:
                results.append((name, False, "not run (an earlier check in the same cell failed?)"))
    return results


def _grade(notebooks: list[Path], execute: bool, csv_path: Path | None) -> int:
    rows = []
    for path in notebooks:
        results = grade_execute(path) if execute else grade_functions(path)
        passed = sum(ok for _, ok, _ in results)
        print(f"{path}: {passed}/{len(results)} exercises correct")
        for name, ok, message in results:
            print(f"  {'✓' if ok else '✗'} {name}" + ("" if ok else f": {message}"))
            rows.append({"notebook": str(path), "exercise": name, "passed": int(ok), "message": message})
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["notebook", "exercise", "passed", "message"])
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {csv_path}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.exercises", description="The course's exercise checkers.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the exercise checkers by chapter")
    listing.add_argument("chapter", nargs="?", help="only this chapter, e.g. 03_convolution or 3")
    grading = sub.add_parser("grade", help="run the checks of students' notebooks and print a score per notebook")
    grading.add_argument("notebooks", nargs="+", type=Path, help="the students' .ipynb files")
    grading.add_argument("--execute", action="store_true", help="run each notebook top to bottom (slow, faithful)")
    grading.add_argument("--csv", type=Path, help="also write one row per notebook and exercise to this CSV file")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args.chapter)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    return _grade(args.notebooks, args.execute, args.csv)


if __name__ == "__main__":
    raise SystemExit(main())
