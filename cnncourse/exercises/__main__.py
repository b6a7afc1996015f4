"""The exercise checkers from the command line.

    python -m cnncourse.exercises list [CHAPTER]
    python -m cnncourse.exercises grade [--execute] [--csv FILE] NOTEBOOK [NOTEBOOK ...]

``list`` shows the checkers by chapter; ``CHAPTER`` is a chapter id such as
``03_convolution``, or just its number (``03`` or ``3``).

``grade`` runs every ``check("name", function)`` call of students' notebooks and prints
one line per exercise and a score per notebook. By default it runs only the notebooks'
imports, ``def``s and ``class``es, then the checks: seconds per notebook, no data, no
training. ``--execute`` runs each notebook top to bottom instead (as a student would,
minutes per notebook) and reads the checks' results from its outputs.

Each submission is graded in its own subprocess, with a time limit (``--timeout``), a
memory limit where the platform has one (``--memory-mb``, Linux and macOS) and a fresh
checker registry, so a notebook that loops, exits, crashes or tampers with the checkers
affects only its own row. Every submission gets a status: ``graded``, ``timed out``,
``crashed`` or ``malformed`` (with the reason); the exit status is 1 when any submission
could not be graded. The limits do not sandbox: the students' code still runs with your
rights, so grade in a container or a throw-away account.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import ExerciseFailed, check, exercises, registry_snapshot, restore_registry

DEFAULT_TIMEOUT = {"functions": 300, "execute": 1800}  # seconds per submission
DEFAULT_MEMORY_MB = 8192
STATUSES = ("graded", "timed out", "crashed", "malformed")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _select(chapter: str | None) -> list:
    """The exercises of ``chapter`` (an id, or a number such as ``3``, ``03`` or ``07b``); all if None."""
    every = exercises()
    if chapter is None:
        return every
    wanted = chapter.strip()
    number = re.fullmatch(r"(\d+)([a-z]?)", wanted)
    if number:
        prefix = f"{int(number.group(1)):02d}{number.group(2)}_"
        return [exercise for exercise in every if exercise.chapter.startswith(prefix)]
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


class MalformedNotebook(ValueError):
    """A submission that is not a readable Jupyter notebook."""


def _code_cells(path: Path) -> list[str]:
    """The sources of the notebook's code cells; ``MalformedNotebook`` says why it cannot be read."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedNotebook(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise MalformedNotebook(f"cannot be read ({error.strerror or error})") from None
    if not text.strip():
        raise MalformedNotebook("the file is empty")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedNotebook(f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        found = type(notebook.get("cells")).__name__ if isinstance(notebook, dict) else type(notebook).__name__
        raise MalformedNotebook(f"a notebook is a JSON object with a list of \"cells\", got {found}")
    sources = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            raise MalformedNotebook(f"cell {index} is {type(cell).__name__}, not an object")
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list) and all(isinstance(line, str) for line in source):
                source = "".join(source)
            if not isinstance(source, str):
                raise MalformedNotebook(f"code cell {index} has a source of type {type(source).__name__}")
            sources.append(source)
    return sources


def _parse(source: str) -> ast.Module | None:
    """A cell's code, IPython magics (``%…``, ``!…``) left out; None if it does not parse."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _check_calls(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    """``(exercise name, candidate expression)`` of every ``check(...)`` call, positional or keyword."""
    calls = []
    for node in ast.walk(tree):
        function = getattr(node, "func", None)
        name = getattr(function, "id", None) or getattr(function, "attr", None)
        if not (isinstance(node, ast.Call) and name == "check"):
            continue
        arguments = dict(zip(("name", "candidate"), node.args))
        arguments.update({keyword.arg: keyword.value for keyword in node.keywords if keyword.arg in ("name", "candidate")})
        first, candidate = arguments.get("name"), arguments.get("candidate")
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and candidate is not None:
            calls.append((first.value, candidate))
    return calls


def _first_line(message: str) -> str:
    line = str(message).strip().splitlines()[0] if str(message).strip() else ""
    return line if len(line) <= 160 else line[:159] + "…"


def grade_functions(path: Path) -> list[tuple[str, bool, str]]:
    """Grade ``path`` by running its imports, ``def``s and ``class``es, then its checks.

    Returns ``(exercise, passed, message)`` for each ``check`` call, in order.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # a notebook's `import tensorflow` stays quiet
    exercises()  # load every checker before any student code runs
    pristine = registry_snapshot()  # restored before each check: a notebook cannot swap a checker
    namespace: dict = {"__name__": "__grading__"}
    trees = [tree for tree in map(_parse, _code_cells(path)) if tree is not None]
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    results = []
    for tree in trees:
        for node in tree.body:
            if isinstance(node, keep):
                # BaseException: a sys.exit() in a default argument or class body is the student's bug, not ours.
                with contextlib.suppress(BaseException), contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec"), namespace)
        for name, candidate in _check_calls(tree):
            try:
                answer = eval(compile(ast.Expression(candidate), str(path), "eval"), namespace)
            except BaseException as error:
                results.append((name, False, f"{ast.unparse(candidate)} is not defined ({type(error).__name__}: {error})"))
                continue
            restore_registry(pristine)
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


@dataclass
class Submission:
    """The outcome of grading one notebook: a ``status`` from ``STATUSES``, its ``reason``, the results."""

    path: Path
    status: str
    reason: str = ""
    results: list = field(default_factory=list)


def _limit_memory(megabytes: int | None):
    """A ``preexec_fn`` that caps the child's address space, where the platform allows it."""
    if not megabytes:
        return None
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return None

    def apply():
        limit = int(megabytes) * 1024 * 1024
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def grade_isolated(path: Path, execute: bool = False, timeout: float | None = None,
                   memory_mb: int | None = DEFAULT_MEMORY_MB) -> Submission:
    """Grade ``path`` in a fresh Python process with a time and memory limit; never raises for the notebook's faults."""
    path = Path(path)
    try:
        _code_cells(path)
    except MalformedNotebook as error:
        return Submission(path, "malformed", str(error))
    timeout = timeout or DEFAULT_TIMEOUT["execute" if execute else "functions"]
    handle, out_name = tempfile.mkstemp(prefix="grade-", suffix=".json")
    os.close(handle)
    out = Path(out_name)
    command = [sys.executable, "-m", "cnncourse.exercises", "_grade-one", str(path), "--out", str(out)]
    if execute:
        command.append("--execute")
    try:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_limit_memory(memory_mb),
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the whole group: kernels started by --execute too
            process.communicate()
            return Submission(path, "timed out", f"still running after {timeout:g} s (--timeout)")
        text = out.read_text(encoding="utf-8") if out.stat().st_size else ""
        if process.returncode != 0 or not text:
            last = next((line for line in reversed(stderr.decode("utf-8", "replace").splitlines()) if line.strip()), "")
            how = f"exit status {process.returncode}" if process.returncode >= 0 else f"signal {-process.returncode}"
            detail = f": {_first_line(last)}" if last else ""
            return Submission(path, "crashed", f"the grading process ended ({how}) before reporting{detail}")
        return Submission(path, "graded", "", [tuple(result) for result in json.loads(text)])
    finally:
        out.unlink(missing_ok=True)


def _grade_one(path: Path, out: Path, execute: bool) -> int:
    """The child's side of ``grade_isolated``: grade, write the results as JSON, and leave at once."""
    results = grade_execute(path) if execute else grade_functions(path)
    payload = json.dumps([list(result) for result in results])
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(payload)
    sys.stdout.flush()
    os._exit(0)  # no atexit hook of a student's can change what was written


def _grade(notebooks: list[Path], execute: bool, csv_path: Path | None, timeout: float | None = None,
           memory_mb: int | None = DEFAULT_MEMORY_MB) -> int:
    rows = []
    ungraded = 0
    for path in notebooks:
        submission = grade_isolated(path, execute, timeout, memory_mb)
        if submission.status != "graded":
            ungraded += 1
            print(f"{path}: not graded ({submission.status}): {submission.reason}")
            rows.append({"notebook": str(path), "status": submission.status, "exercise": "", "passed": 0,
                         "message": submission.reason})
            continue
        results = submission.results
        passed = sum(ok for _, ok, _ in results)
        print(f"{path}: {passed}/{len(results)} exercises correct")
        for name, ok, message in results:
            print(f"  {'✓' if ok else '✗'} {name}" + ("" if ok else f": {message}"))
            rows.append({"notebook": str(path), "status": "graded", "exercise": name, "passed": int(ok), "message": message})
        if not results:
            rows.append({"notebook": str(path), "status": "graded", "exercise": "", "passed": 0,
                         "message": "no check(...) calls found"})
    if csv_path:
        with open(csv_path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["notebook", "status", "exercise", "passed", "message"])
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {csv_path}")
    if ungraded:
        print(f"{_plural(ungraded, 'submission')} could not be graded", file=sys.stderr)
    return 1 if ungraded else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.exercises", description="The course's exercise checkers.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the exercise checkers by chapter")
    listing.add_argument("chapter", nargs="?", help="only this chapter, e.g. 03_convolution or 3")
    grading = sub.add_parser("grade", help="run the checks of students' notebooks and print a score per notebook")
    grading.add_argument("notebooks", nargs="+", type=Path, help="the students' .ipynb files")
    grading.add_argument("--execute", action="store_true", help="run each notebook top to bottom (slow, faithful)")
    grading.add_argument("--csv", type=Path, help="also write one row per notebook and exercise to this CSV file")
    grading.add_argument("--timeout", type=float, default=None,
                         help="seconds per submission (default 300, or 1800 with --execute)")
    grading.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                         help=f"address-space limit per submission in MB, 0 for none (default {DEFAULT_MEMORY_MB})")
    child = sub.add_parser("_grade-one")  # internal: one submission, in its own process
    child.add_argument("notebook", type=Path)
    child.add_argument("--out", type=Path, required=True)
    child.add_argument("--execute", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args.chapter)
    if args.command == "_grade-one":
        return _grade_one(args.notebook, args.out, args.execute)
    if args.timeout is not None and not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.memory_mb < 0:
        parser.error(f"--memory-mb must be 0 (no limit) or a positive number of MB, got {args.memory_mb}")
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    return _grade(args.notebooks, args.execute, args.csv, args.timeout, args.memory_mb or None)


if __name__ == "__main__":
    raise SystemExit(main())
