"""The exercise checkers from the command line.

    python -m cnncourse.exercises list [CHAPTER]
    python -m cnncourse.exercises grade [--execute] [--csv FILE] [--no-sandbox] -- NOTEBOOK [NOTEBOOK ...]

``list`` shows the checkers by chapter; ``CHAPTER`` is a chapter id such as
``03_convolution``, or just its number (``03`` or ``3``).

``grade`` runs every ``check("name", function)`` call of students' notebooks and prints
one line per exercise and a score per notebook. By default it runs only the notebooks'
imports, ``def``s and ``class``es, then the checks: seconds per notebook, no data, no
training. ``--execute`` runs each notebook top to bottom instead (as a student would,
minutes per notebook) and reads the checks' results from its outputs.

Each submission runs in a bubblewrap sandbox (``bwrap``: Debian's ``bubblewrap``): the
system and the course package read-only, its own scratch folder and ``/tmp``, no network,
its own PID namespace (every process it starts dies with it), and no view of the other
submissions, the solutions, this folder or the CSV; with a time limit (``--timeout``), a
memory limit (``--memory-mb``) and a file-size limit. Inside it the notebook's ``check``
calls only *record* what its functions return on the checkers' inputs
(``cnncourse.exercises.sandbox``); this process, which never runs student code and loaded
every checker before any sandbox ran, judges the records. Checkers' inputs may depend on a
secret seed drawn for each run (``--seed`` to repeat one). Without ``bwrap`` the grader
refuses to grade unless given ``--no-sandbox``.

Every submission gets rows and a status: ``graded``, ``timed out``, ``crashed`` or
``malformed`` (with the reason: unreadable, too large (``--max-mb``, checked before
reading), not a regular file, results that do not follow the schema). The CSV is checked
before grading starts and rewritten atomically after each submission, so Ctrl-C or SIGTERM
(which stop the running sandbox) keep the rows so far. Notebooks are named after ``--``,
so that no file name is read as an option. The exit status is 1 when any submission could
not be graded, 2 for a usage error, 130 when interrupted.
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
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import check_seed
from . import ExerciseFailed, check, exercises, registry_snapshot, restore_registry
from .sandbox import (RECORD_ENV, SEED_ENV, MalformedRecord, bwrap_path, read_records, record_undefined,
                      replay_candidate, sandbox_command)

DEFAULT_TIMEOUT = {"functions": 300, "execute": 1800}  # seconds per submission
DEFAULT_MEMORY_MB = 8192
DEFAULT_MAX_MB = 20  # largest notebook read
DEFAULT_FILE_MB = 512  # largest file a submission may write (its output included)
PRISTINE = registry_snapshot()  # every checker, loaded before any submission runs
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
        data = Path(path).read_bytes()
    except OSError as error:
        raise MalformedNotebook(f"cannot be read ({error.strerror or error})") from None
    return _cells_from_bytes(data)


def _cells_from_bytes(data: bytes) -> list[str]:
    """The sources of the code cells of the notebook ``data``; ``MalformedNotebook`` says why it cannot be read."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedNotebook(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    if not text.strip():
        raise MalformedNotebook("the file is empty")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedNotebook(f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    except (ValueError, RecursionError) as error:  # a 5,000-digit integer, nesting deeper than Python's stack
        raise MalformedNotebook(f"not readable JSON ({type(error).__name__}: {_first_line(error)[:80]})") from None
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
                message = f"{ast.unparse(candidate)} is not defined ({type(error).__name__}: {error})"
                results.append((name, False, message))
                if os.environ.get(RECORD_ENV):
                    record_undefined(name, message, os.environ[RECORD_ENV])
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


def _limits(memory_mb: int | None, file_mb: int):
    """A ``preexec_fn`` that caps the child's address space and the size of any file it writes."""
    try:
        import resource
    except ImportError:  # Windows: no such limits
        return None

    def apply():
        limits = [(resource.RLIMIT_FSIZE, int(file_mb) * 1024 * 1024), (resource.RLIMIT_CORE, 0)]
        if memory_mb:
            limits.append((resource.RLIMIT_AS, int(memory_mb) * 1024 * 1024))
        for kind, limit in limits:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(kind, (limit, limit))

    return apply


def display_name(path) -> str:
    """``path`` as printable UTF-8 text: bytes that are not UTF-8 (or lone surrogates) escaped as ``\\xNN``."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def _clean(text) -> str:
    """A message safe for a terminal and a UTF-8 CSV: lone surrogates escaped, control characters shown as ``?``."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() or c in "\t" else "?" for c in text)


def _read_submission(path: Path, max_bytes: int) -> bytes:
    """The notebook's bytes, from a regular file no larger than ``max_bytes`` (checked before reading)."""
    import stat

    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise MalformedNotebook(f"cannot be opened ({error.strerror or error})") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise MalformedNotebook("not a regular file")
        if info.st_size > max_bytes:
            raise MalformedNotebook(f"too large: {info.st_size} bytes, the limit is {max_bytes} (--max-mb)")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise MalformedNotebook(f"too large: more than {max_bytes} bytes (--max-mb)")
    return data


def _checks_in(sources: list[str]) -> list[str]:
    """The exercise names of the notebook's ``check(...)`` calls, in the order ``grade_functions`` runs them."""
    return [name for tree in map(_parse, sources) if tree is not None for name, _ in _check_calls(tree)]


def _descendants(pid: int) -> list[int]:
    """Every process whose chain of parents leads to ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat_text = Path(entry.path, "stat").read_text()
                    parent = int(stat_text.rsplit(")", 1)[1].split()[1])
                    children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill(process: subprocess.Popen) -> None:
    """Kill ``process``, its process group and every descendant (a sandbox takes its whole PID namespace along)."""
    for pid in _descendants(process.pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(Exception):
        process.wait(timeout=10)


def _hidden_folders(paths: list[Path]) -> list[Path]:
    """What a sandbox must not see: the grader's folder, the submissions', the CSV's, home and the course's sources."""
    import cnncourse

    package = Path(cnncourse.__file__).resolve().parent
    hide = [Path.cwd(), Path.home(), package.parent, *[Path(os.path.abspath(p)).parent for p in paths]]
    return hide


def _needed_folders() -> list[Path]:
    """What a sandbox needs to read: Python, its packages and the course package (data too, for --execute)."""
    import cnncourse

    keep = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).parent,
            Path(cnncourse.__file__).resolve().parent]
    keep += [Path(entry) for entry in sys.path if entry and Path(entry).is_dir() and Path(entry) != Path.cwd()]
    if os.environ.get("CNNCOURSE_DATA"):
        keep.append(Path(os.environ["CNNCOURSE_DATA"]))
    return keep


@dataclass
class Grader:
    """Grades submissions one at a time: each in a sandbox (``bwrap``, or none with ``sandbox=None``), judged here."""

    execute: bool = False
    timeout: float | None = None
    memory_mb: int | None = DEFAULT_MEMORY_MB
    sandbox: str | None = None  # the bwrap program; None runs the child without a sandbox
    seed: int = 0
    max_bytes: int = DEFAULT_MAX_MB * 1024 * 1024
    hide: list = field(default_factory=list)

    def grade(self, path: Path) -> Submission:
        """Grade ``path``; never raises for the notebook's faults (``KeyboardInterrupt`` passes, sandbox killed)."""
        import shutil

        path = Path(path)
        try:
            data = _read_submission(path, self.max_bytes)
            names = _checks_in(_cells_from_bytes(data))
        except MalformedNotebook as error:
            return Submission(path, "malformed", str(error))
        timeout = self.timeout or DEFAULT_TIMEOUT["execute" if self.execute else "functions"]
        scratch = Path(tempfile.mkdtemp(prefix="cnncourse-grade-"))
        stderr_path = Path(tempfile.mkstemp(prefix="cnncourse-stderr-")[1])
        try:
            (scratch / "submission.ipynb").write_bytes(data)
            inside = Path("/tmp/work") if self.sandbox else scratch
            command = [sys.executable, "-I", "-m", "cnncourse.exercises", "_grade-one",
                       "--records", str(inside / "records"), "--", str(inside / "submission.ipynb")]
            if self.execute:
                command.insert(5, "--execute")
            env = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL", "TF_CPP_MIN_LOG_LEVEL",
                                                     "TF_ENABLE_ONEDNN_OPTS", "PYTHONHASHSEED", "CNNCOURSE_DATA",
                                                     "CNNCOURSE_SEED_OFFSET") if key in os.environ}
            env.update({"HOME": str(inside), RECORD_ENV: str(inside / "records"), SEED_ENV: str(self.seed),
                        "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"})
            if self.sandbox:
                command = sandbox_command(self.sandbox, scratch, command, self.hide + _hidden_folders([path]),
                                          _needed_folders())
            with open(stderr_path, "wb") as stderr:
                process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                    cwd=scratch, start_new_session=True, preexec_fn=_limits(self.memory_mb, DEFAULT_FILE_MB),
                )
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return Submission(path, "timed out", f"still running after {timeout:g} s (--timeout)")
            finally:
                _kill(process)  # whatever it left behind (without a sandbox, forked daemons too where /proc shows them)
            if process.returncode != 0 or not (scratch / "records" / "done").is_file():
                how = (f"exit status {process.returncode}" if process.returncode >= 0
                       else f"signal {-process.returncode}")
                last = _last_line(stderr_path)
                detail = f": {_first_line(last)}" if last else ""
                return Submission(path, "crashed", f"the grading process ended ({how}) before reporting{detail}")
            try:
                results = self.judge(names, read_records(scratch / "records"))
            except MalformedRecord as error:
                return Submission(path, "malformed", f"the results of the sandbox are not valid: {error}")
            return Submission(path, "graded", "", results)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            stderr_path.unlink(missing_ok=True)

    def judge(self, names: list[str], records: list[dict]) -> list[tuple[str, bool, str]]:
        """Replay the sandbox's records through the checkers loaded here; one result per ``check`` call."""
        import cnncourse.exercises as registry

        registry.set_grading_seed(self.seed)
        try:
            pool: dict[str, list[dict]] = {}
            for record in records:
                pool.setdefault(record["exercise"], []).append(record)
            results = []
            for name in names:
                restore_registry(PRISTINE)
                if name not in PRISTINE:
                    try:
                        check(name, None)
                    except KeyError as error:
                        results.append((name, False, _first_line(error.args[0] if error.args else error)))
                    continue
                if not pool.get(name):
                    results.append((name, False, "not run (an earlier error stopped the notebook?)"))
                    continue
                record = pool[name].pop(0)
                if "undefined" in record:
                    results.append((name, False, _first_line(record["undefined"])))
                    continue
                candidate = replay_candidate(record)
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        check(name, candidate)
                    results.append((name, True, "correct"))
                except ExerciseFailed as failure:
                    results.append((name, False, _first_line(failure)))
            return results
        finally:
            registry.set_grading_seed(None)


def _last_line(path: Path) -> str:
    with open(path, "rb") as handle:
        handle.seek(max(0, os.fstat(handle.fileno()).st_size - 4096))
        text = handle.read().decode("utf-8", "replace")
    return next((line for line in reversed(text.splitlines()) if line.strip()), "")


def grade_isolated(path: Path, execute: bool = False, timeout: float | None = None,
                   memory_mb: int | None = DEFAULT_MEMORY_MB, sandbox: bool | None = None) -> Submission:
    """Grade one notebook as the ``grade`` command does: in a sandbox where ``bwrap`` works (``sandbox=True``
    requires it, ``False`` runs without), judged in this process."""
    program = bwrap_path() if sandbox is not False else None
    if sandbox and not program:
        raise RuntimeError("no working bwrap (Debian: apt-get install bubblewrap)")
    return Grader(execute=execute, timeout=timeout, memory_mb=memory_mb, sandbox=program,
                  seed=secrets.randbelow(2**31)).grade(path)


def _grade_one(path: Path, records: Path, execute: bool) -> int:
    """The sandbox's side: run the notebook's checks, which write their records, then mark the run complete."""
    records.mkdir(parents=True, exist_ok=True)
    if execute:
        grade_execute(path)
    else:
        grade_functions(path)
    (records / "done").write_text("done")
    sys.stdout.flush()
    os._exit(0)  # no atexit hook of a student's runs


class CsvRows:
    """The grades CSV, rewritten atomically (a new file renamed into place) after each submission."""

    FIELDS = ["notebook", "status", "exercise", "passed", "message"]

    def __init__(self, path: Path):
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise ValueError(f"--csv {display_name(path)}: the folder {display_name(folder)} does not exist")
        if self.path.is_dir():
            raise ValueError(f"--csv {display_name(path)} is a folder; name a file")
        try:
            handle, probe = tempfile.mkstemp(dir=folder, prefix=".grades-", suffix=".tmp")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise ValueError(f"--csv {display_name(path)}: cannot write in {display_name(folder)} "
                             f"({error.strerror or error})") from None
        self.rows: list[dict] = []
        self._write()

    def add(self, rows: list[dict]) -> None:
        self.rows.extend(rows)
        self._write()

    def _write(self) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.path.parent if str(self.path.parent) else ".",
                                             prefix=".grades-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, fieldnames=self.FIELDS)
                writer.writeheader()
                writer.writerows(self.rows)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise


def _rows(submission: Submission) -> list[dict]:
    name = display_name(submission.path)
    if submission.status != "graded":
        return [{"notebook": name, "status": submission.status, "exercise": "", "passed": 0,
                 "message": _clean(submission.reason)}]
    if not submission.results:
        return [{"notebook": name, "status": "graded", "exercise": "", "passed": 0,
                 "message": "no check(...) calls found"}]
    return [{"notebook": name, "status": "graded", "exercise": _clean(exercise), "passed": int(ok),
             "message": _clean(message)} for exercise, ok, message in submission.results]


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def _grade(notebooks: list[Path], execute: bool, csv_path: Path | None, timeout: float | None = None,
           memory_mb: int | None = DEFAULT_MEMORY_MB, sandbox: str | None = None, seed: int | None = None,
           max_mb: int = DEFAULT_MAX_MB) -> int:
    try:
        table = CsvRows(csv_path) if csv_path else None
    except ValueError as error:
        print(_clean(error), file=sys.stderr)
        return 2
    hide = [Path(os.path.abspath(csv_path)).parent] if csv_path else []
    hide += sorted({Path(os.path.abspath(path)).parent for path in notebooks})  # every classmate's folder too
    grader = Grader(execute=execute, timeout=timeout, memory_mb=memory_mb, sandbox=sandbox,
                    seed=secrets.randbelow(2**31) if seed is None else seed, max_bytes=max_mb * 1024 * 1024, hide=hide)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    ungraded = 0
    try:
        for path in notebooks:
            submission = grader.grade(path)
            rows = _rows(submission)
            if table:
                table.add(rows)
            name = display_name(path)
            if submission.status != "graded":
                ungraded += 1
                print(f"{name}: not graded ({submission.status}): {_clean(submission.reason)}")
                continue
            results = submission.results
            print(f"{name}: {sum(ok for _, ok, _ in results)}/{len(results)} exercises correct")
            for exercise, ok, message in results:
                print(f"  {'✓' if ok else '✗'} {_clean(exercise)}" + ("" if ok else f": {_clean(message)}"))
    except KeyboardInterrupt:
        print(f"interrupted: the sandbox was stopped{'; ' + display_name(csv_path) + ' keeps the rows so far' if table else ''}",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    if table:
        print(f"wrote {display_name(csv_path)}")
    if ungraded:
        print(f"{_plural(ungraded, 'submission')} could not be graded", file=sys.stderr)
    return 1 if ungraded else 0


def main(argv=None) -> int:
    argv = [str(arg) for arg in (sys.argv[1:] if argv is None else argv)]
    after_dashes = None
    if argv[:1] == ["grade"] and "--" in argv:
        after_dashes = [Path(arg) for arg in argv[argv.index("--") + 1:]]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(prog="python -m cnncourse.exercises", description="The course's exercise checkers.")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the exercise checkers by chapter")
    listing.add_argument("chapter", nargs="?", help="only this chapter, e.g. 03_convolution or 3")
    grading = sub.add_parser("grade", help="run the checks of students' notebooks and print a score per notebook",
                             usage="%(prog)s [options] -- NOTEBOOK [NOTEBOOK ...]")
    grading.add_argument("notebooks", nargs="*", type=Path, help="the students' .ipynb files, after --")
    grading.add_argument("--execute", action="store_true", help="run each notebook top to bottom (slow, faithful)")
    grading.add_argument("--csv", type=Path, help="also write one row per notebook and exercise to this CSV file")
    grading.add_argument("--timeout", type=float, default=None,
                         help="seconds per submission (default 300, or 1800 with --execute)")
    grading.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB,
                         help=f"address-space limit per submission in MB, 0 for none (default {DEFAULT_MEMORY_MB})")
    grading.add_argument("--max-mb", type=int, default=DEFAULT_MAX_MB,
                         help=f"largest notebook read, in MB (default {DEFAULT_MAX_MB})")
    grading.add_argument("--seed", type=int, default=None,
                         help="seed of the checkers' inputs (default: a new secret one for each run)")
    grading.add_argument("--no-sandbox", action="store_true",
                         help="run submissions without bwrap: their code then runs with your rights (not advised)")
    child = sub.add_parser("_grade-one")  # internal: one submission, inside its sandbox
    child.add_argument("notebook", type=Path)
    child.add_argument("--records", type=Path, required=True)
    child.add_argument("--execute", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args.chapter)
    if args.command == "_grade-one":
        return _grade_one(args.notebook, args.records, args.execute)
    if args.notebooks or not after_dashes:
        parser.error("name the notebooks after `--` (grade [options] -- NOTEBOOK ...), so that no file name "
                     "is read as an option")
    args.notebooks = after_dashes
    missing = [display_name(path) for path in args.notebooks if not os.path.lexists(path)]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.timeout is not None and not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.seed is not None:
        try:
            check_seed(args.seed, "--seed")
        except ValueError as error:
            parser.error(str(error))
    if args.memory_mb < 0:
        parser.error(f"--memory-mb must be 0 (no limit) or a positive number of MB, got {args.memory_mb}")
    if args.max_mb <= 0:
        parser.error(f"--max-mb must be a positive number of MB, got {args.max_mb}")
    sandbox = None
    if args.no_sandbox:
        print("WARNING: --no-sandbox: the submissions' code runs with your rights and can read and change your "
              "files; grade in a container or a throw-away account", file=sys.stderr)
    else:
        sandbox = bwrap_path()
        if sandbox is None:
            print("cannot grade safely: bwrap (bubblewrap) is missing or cannot create a sandbox here. Install it "
                  "(Debian/Ubuntu: apt-get install bubblewrap), or pass --no-sandbox to run the submissions' code "
                  "with your rights", file=sys.stderr)
            return 2
    return _grade(args.notebooks, args.execute, args.csv, args.timeout, args.memory_mb or None, sandbox,
                  args.seed, args.max_mb)


if __name__ == "__main__":
    raise SystemExit(main())
