"""The grader against a class of hostile submissions, graded in bubblewrap sandboxes beside good ones.

Every good grade is unchanged, every submission has exactly one set of rows, no process it started
outlives the grader, and nothing outside the sandboxes' scratch folders changes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cnncourse
from cnncourse.exercises import sandbox
from cnncourse.exercises.__main__ import CsvRows, Grader, main

BWRAP = sandbox.bwrap_path()
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bwrap (Debian package bubblewrap) is not installed or "
                                 "cannot create a user namespace here; the grader refuses to grade without it")
PACKAGE = Path(cnncourse.__file__).resolve().parent

GOOD = '''
import numpy as np
from cnncourse.exercises import check

def positive_fraction(labels):
    return float(np.mean(labels))

def conv_params(kernel_size, channels_in, filters):
    return kernel_size * kernel_size * channels_in * filters + filters
'''
WRONG_ANSWERS = '''
def positive_fraction(labels):
    return 0.0

def conv_params(kernel_size, channels_in, filters):
    return -1
'''
CHECKS = 'check("positive_fraction", positive_fraction)\ncheck(name="conv_params", candidate=conv_params)\n'


def _notebook(path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
             for source in sources]
    Path(path).write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
                          encoding="utf-8")
    return Path(path)


def _at_import(code: str) -> str:
    """``code`` run when the grader defines the notebook's functions (a class body runs then)."""
    import textwrap

    return "class _Hack:\n" + textwrap.indent(textwrap.dedent(code), "    ") + "\n"


def _tree_digest(folder: Path, skip=()) -> dict[str, str]:
    """File name -> SHA-256 of every file under ``folder`` (a change anywhere shows)."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if any(part in skip for part in path.parts):
                continue
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _hostile(folder: Path, grader_cwd: Path, csv_path: Path) -> dict[str, Path]:
    good = folder / "alice.ipynb"
    carol = folder.parent / "other_group" / "carol.ipynb"  # a classmate in another folder
    carol.parent.mkdir()
    checker = PACKAGE / "exercises" / "ch02_core_concepts.py"
    made = {
        # Rewrites a checker module of the package and patches the checkers' tools in memory, then answers wrongly.
        "tamper_package": _notebook(folder / "tamper_package.ipynb", WRONG_ANSWERS + _at_import(f'''
import contextlib, numpy
import cnncourse.exercises as E
with contextlib.suppress(Exception):
    open({str(checker)!r}, "a").write("\\nraise SystemExit\\n")
numpy.allclose = lambda *a, **k: True
E.assert_close = lambda *a, **k: None
for exercise in list(E._REGISTRY.values()):
    exercise.checker.__code__ = (lambda candidate: None).__code__
'''), CHECKS),
        # Plants difflib.py in the grader's working folder and beside the package.
        "plant_module": _notebook(folder / "plant_module.ipynb", WRONG_ANSWERS + _at_import(f'''
import contextlib
for place in ({str(grader_cwd)!r}, {str(PACKAGE)!r}, {str(PACKAGE / "exercises")!r}):
    with contextlib.suppress(Exception):
        open(place + "/difflib.py", "w").write("raise SystemExit('planted')")
'''), CHECKS),
        # Edits a classmate's notebook (whose path it guessed) and copies the answers it finds.
        "edit_classmate": _notebook(folder / "edit_classmate.ipynb", WRONG_ANSWERS + _at_import(f'''
import contextlib
for victim in ({str(good)!r}, {str(carol)!r}):
  with contextlib.suppress(Exception):
    text = open(victim).read()
    open(victim, "w").write(text.replace("np.mean(labels)", "-1"))
    import json
    exec(compile(json.loads(text)["cells"][0]["source"], "x", "exec"), globals())
'''), CHECKS),
        # Forges its results: a well-formed record claiming right answers, another not even JSON.
        "forge_results": _notebook(folder / "forge_results.ipynb", WRONG_ANSWERS + '''
import os, json
def _forge():
    folder = os.environ.get("CNNCOURSE_RECORD_DIR", ".")
    os.makedirs(folder, exist_ok=True)
    for number, name in enumerate(("positive_fraction", "conv_params")):
        record = {"exercise": name, "candidate": {"t": "function", "name": "f", "params": None},
                  "calls": [{"args": "0" * 64, "result": {"t": "float", "v": "0.5"}}] * 5}
        open(os.path.join(folder, f"check-{number:04d}.json"), "w").write(json.dumps(record))
    open(os.path.join(folder, "check-0002.json"), "w").write("{not json")
    open(os.path.join(folder, "done"), "w").write("done")
    os._exit(0)
def _now(_=_forge()):
    pass
''', CHECKS),
        # Leaves a daemon (fork + setsid) that would rewrite the grades later.
        "daemon": _notebook(folder / "daemon.ipynb", GOOD + f'''
import os
def _daemon():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 4321.5; echo forged > {csv_path}"])
        os._exit(0)
    return 1
def _ignored(_=_daemon()):
    pass
''', CHECKS),
        # Floods its standard error far beyond the file-size limit.
        "flood": _notebook(folder / "flood.ipynb", '''
import sys
def _flood(_=[sys.stderr.write("x" * 2**20) for _ in range(64)]):
    pass
''' + GOOD, CHECKS),
        # Holds the GIL in a default argument (never returns).
        "gil": _notebook(folder / "gil.ipynb", "def positive_fraction(labels, _=sum(range(10**13))):\n    return 0\n", CHECKS),
        # Reads the instructor's solutions through the editable install's folder.
        "read_solutions": _notebook(folder / "read_solutions.ipynb", WRONG_ANSWERS + _at_import(f'''
import contextlib, glob
with contextlib.suppress(Exception):
    for notebook in glob.glob({str(PACKAGE.parent / "chapters")!r} + "/02*.ipynb"):
        exec(compile(json.loads(open(notebook).read())["cells"][0]["source"], "x", "exec"), globals())
import json
'''), CHECKS),
    }
    made["bad_name"] = _notebook(folder / "--csv=victim.ipynb", GOOD, CHECKS)
    made["non_utf8_name"] = _notebook(Path(os.fsdecode(bytes(folder) + b"/caf\xe9.ipynb")), GOOD, CHECKS)
    huge = folder / "huge.ipynb"
    with open(huge, "wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: 3 GB on paper
    made["huge"] = huge
    made["fifo"] = folder / "fifo.ipynb"
    os.mkfifo(made["fifo"])
    made["good"] = _notebook(good, GOOD, CHECKS)
    made["carol"] = _notebook(carol, GOOD, CHECKS)
    made["wrong"] = _notebook(folder / "bob.ipynb", GOOD.replace("+ filters\n", "\n"), CHECKS)
    return made


def _processes(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if marker in Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@needs_bwrap
def test_a_class_of_hostile_submissions(tmp_path, monkeypatch, capsys):
    folder, cwd, out = tmp_path / "submissions", tmp_path / "grader", tmp_path / "grades"
    for made in (folder, cwd, out):
        made.mkdir()
    monkeypatch.chdir(cwd)
    csv_path = out / "grades.csv"
    submissions = _hostile(folder, cwd, csv_path)
    order = ["good", "wrong", *[name for name in submissions if name not in ("good", "wrong")], "good"]
    before_package = _tree_digest(PACKAGE / "exercises", skip=("__pycache__",))  # the checkers it attacks
    before_submissions = {name: path.read_bytes() for name, path in submissions.items()
                          if name not in ("huge", "fifo")}
    monkeypatch.setattr("cnncourse.exercises.__main__.DEFAULT_FILE_MB", 16)
    status = main(["grade", "--timeout", "15", "--csv", str(csv_path), "--", *[str(submissions[n]) for n in order]])
    assert status == 1  # some submissions could not be graded
    time.sleep(1)
    assert _processes("sleep 4321.5") == [], "a daemon outlived the grader"
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    by_name = {}
    for row in rows:
        by_name.setdefault(row["notebook"], []).append((row["status"], row["exercise"], row["passed"]))
    names = {name: os.fsencode(str(submissions[name])).decode("utf-8", "backslashreplace") for name in order}
    assert set(by_name) == set(names.values()), "every submission has its rows, under a printable name"
    good = [("graded", "positive_fraction", "1"), ("graded", "conv_params", "1")]
    wrong = [("graded", "positive_fraction", "0"), ("graded", "conv_params", "0")]
    assert by_name[names["good"]] == good + good, "graded first and last: the same"
    assert by_name[names["wrong"]] == [good[0], ("graded", "conv_params", "0")]
    # The tampered checker inside the sandbox no longer calls the answer: its record cannot be judged.
    assert by_name[names["tamper_package"]] == [("malformed", "", "0")]
    for name in ("plant_module", "edit_classmate", "read_solutions"):
        assert by_name[names[name]] == wrong, name
    assert by_name[names["daemon"]] == good  # its answers are right; its daemon died with its sandbox
    assert by_name[names["carol"]] == good
    assert by_name[names["bad_name"]] == good and by_name[names["non_utf8_name"]] == good
    assert "\\xe9" in names["non_utf8_name"]
    assert by_name[names["forge_results"]] == [("malformed", "", "0")]
    assert by_name[names["flood"]] == good  # its writes stop at the file-size limit; its answers are right
    assert by_name[names["gil"]] == [("timed out", "", "0")]
    assert by_name[names["huge"]] == [("malformed", "", "0")]
    assert by_name[names["fifo"]] == [("malformed", "", "0")]
    messages = {row["notebook"]: row["message"] for row in rows}
    assert "too large" in messages[names["huge"]] and "not a regular file" in messages[names["fifo"]]
    # Nothing outside the scratch folders changed: package, submissions, the grader's folder, the CSV's folder.
    assert _tree_digest(PACKAGE / "exercises", skip=("__pycache__",)) == before_package
    assert not (PACKAGE / "difflib.py").exists() and not (PACKAGE / "exercises" / "difflib.py").exists()
    assert {name: submissions[name].read_bytes() for name in before_submissions} == before_submissions
    assert sorted(os.listdir(cwd)) == [] and sorted(os.listdir(out)) == ["grades.csv"]
    assert not (folder / "victim.ipynb").exists()


@needs_bwrap
def test_records_that_answer_other_inputs_are_malformed(tmp_path):
    """A record made for other inputs (as if the checker had been swapped in the sandbox) is not accepted."""
    from cnncourse.exercises import check

    encoder = sandbox._Encoder()
    recorder = sandbox.Recorder(lambda k, c, f: k * k * c * f + f, encoder)
    record = {"exercise": "conv_params", "candidate": {"t": "function", "name": "f", "params": None},
              "calls": [], "_arrays": {}}
    import cnncourse.exercises as registry

    registry._GRADING_SEED = 1  # the sandbox draws the inputs from the run's seed, as the grader below does
    try:
        assert check("conv_params", recorder)  # records the calls
    finally:
        registry._GRADING_SEED = None
    record["calls"] = recorder.calls
    grader = Grader(seed=1)
    assert grader.judge(["conv_params"], [dict(record)])[0][1] is True
    record["calls"] = [dict(call, args="f" * 64) for call in recorder.calls]
    with pytest.raises(sandbox.MalformedRecord, match="other inputs"):
        grader.judge(["conv_params"], [record])


def test_malformed_records_never_crash_or_pass(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    cases = ['{not json', '[[1]]', '{"exercise": "conv_params"}', '[' * 100_000 + ']' * 100_000,
             '{"exercise": "conv_params", "candidate": {"t": "value", "v": {"t": "int", "v": "' + "9" * 5000 + '"}}}',
             '{"exercise": "conv_params", "candidate": {"t": "function"}, "calls": [{"args": "x"}]}']
    for text in cases:
        for old in records.iterdir():
            old.unlink()
        (records / "check-0000.json").write_text(text)
        try:
            result = Grader(seed=1).judge(["conv_params"], sandbox.read_records(records))
        except sandbox.MalformedRecord:
            continue
        assert result[0][1] is False, text[:80]
    # An npz whose header claims an enormous array is refused before anything is allocated.
    (records / "check-0000.json").write_text('{"exercise": "conv_params", "candidate": {"t": "function"}, "calls": []}')
    np.savez(records / "check-0000.npz", a0=np.zeros(3))
    with pytest.raises(sandbox.MalformedRecord):
        raw = (records / "check-0000.npz").read_bytes().replace(b"(3,)", b"(99999999999,)")
        (records / "check-0000.npz").write_bytes(raw)
        sandbox.read_records(records)


def test_checker_inputs_follow_the_grading_seed():
    import cnncourse.exercises as registry

    assert np.array_equal(registry.grading_rng(3).random(4), np.random.default_rng(3).random(4))
    registry._GRADING_SEED = 12345
    try:
        assert not np.array_equal(registry.grading_rng(3).random(4), np.random.default_rng(3).random(4))
    finally:
        registry._GRADING_SEED = None


def test_csv_is_validated_first_and_file_names_are_never_options(tmp_path, capsys):
    good = _notebook(tmp_path / "good.ipynb", GOOD, CHECKS)
    assert main(["grade", "--no-sandbox", "--csv", str(tmp_path / "missing" / "g.csv"), "--", str(good)]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(ValueError, match="is a folder"):
        CsvRows(tmp_path)
    with pytest.raises(SystemExit):
        main(["grade", "--no-sandbox", str(good)])  # without `--`
    assert "after `--`" in capsys.readouterr().err


def test_without_bwrap_the_grader_refuses_unless_told(tmp_path, monkeypatch, capsys):
    good = _notebook(tmp_path / "good.ipynb", GOOD, CHECKS)
    monkeypatch.setattr("cnncourse.exercises.__main__.bwrap_path", lambda: None)
    assert main(["grade", "--", str(good)]) == 2
    assert "apt-get install bubblewrap" in capsys.readouterr().err
    assert main(["grade", "--no-sandbox", "--", str(good)]) == 0
    assert "WARNING: --no-sandbox" in capsys.readouterr().err


def test_sigterm_keeps_the_rows_written_so_far(tmp_path):
    good = _notebook(tmp_path / "good.ipynb", GOOD, CHECKS)
    slow = _notebook(tmp_path / "slow.ipynb", "import time\ndef f(_=time.sleep(600)):\n    pass\n", CHECKS)
    csv_path = tmp_path / "g.csv"
    sandboxing = [] if BWRAP else ["--no-sandbox"]
    process = subprocess.Popen([sys.executable, "-m", "cnncourse.exercises", "grade", *sandboxing, "--csv",
                                str(csv_path), "--", str(good), str(slow), str(good)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and (not csv_path.exists() or len(csv_path.read_text().splitlines()) < 3):
        time.sleep(0.5)
    time.sleep(2)
    process.terminate()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and b"interrupted" in err
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert [row["passed"] for row in rows] == ["1", "1"]
    assert _processes("_grade-one") == [], "the interrupted submission's process was stopped"


@needs_bwrap
def test_execute_mode_kills_a_cell_that_holds_the_gil(tmp_path):
    """``sum(range(10**13))`` holds the GIL in the kernel (its own session): the whole sandbox dies at the timeout."""
    pytest.importorskip("nbclient")
    notebook = _notebook(tmp_path / "gil.ipynb", GOOD, "sum(range(10**13))\n", CHECKS)
    start = time.perf_counter()
    submission = Grader(execute=True, timeout=20, sandbox=BWRAP, seed=1).grade(notebook)
    assert submission.status == "timed out"
    assert time.perf_counter() - start < 20 + 15
    time.sleep(1)
    assert _processes("/tmp/work/.local/share/jupyter/runtime") == [], "the sandbox's kernel outlived it"


def test_a_table_of_answers_fails_under_the_grading_seed():
    """Answers hard-coded for the inputs a notebook sees fail when the grader draws the inputs from its secret seed."""
    import cnncourse.exercises as registry
    from cnncourse.exercises import ExerciseFailed, check

    table = {}

    def spy(kernel_size, channels_in, filters):
        table[(kernel_size, channels_in, filters)] = kernel_size * kernel_size * channels_in * filters + filters
        return table[(kernel_size, channels_in, filters)]

    assert check("conv_params", spy)
    lookup = lambda k, c, f: table[(k, c, f)]  # noqa: E731 - what a student could paste into a notebook
    assert check("conv_params", lookup)
    registry._GRADING_SEED = 987654
    try:
        with pytest.raises(ExerciseFailed, match="KeyError"):
            check("conv_params", lookup)
        assert check("conv_params", spy)
    finally:
        registry._GRADING_SEED = None


def test_notebooks_that_used_to_empty_the_csv_each_get_their_row(tmp_path):
    """Deep nesting, a 5,000-digit integer in the metadata and an exception message with a lone surrogate."""
    folder = tmp_path / "class"
    folder.mkdir()
    nested = folder / "nested.ipynb"
    nested.write_text('{"cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    digits = folder / "digits.ipynb"
    digits.write_text('{"cells": [], "metadata": {"n": ' + "9" * 5000 + "}}")
    surrogate = _notebook(folder / "surrogate.ipynb", GOOD.replace(
        "return float(np.mean(labels))", "raise ValueError('bad \\ud800 value')"), CHECKS)
    good = _notebook(folder / "good.ipynb", GOOD, CHECKS)
    csv_path = tmp_path / "g.csv"
    sandboxing = [] if BWRAP else ["--no-sandbox"]
    assert main(["grade", *sandboxing, "--csv", str(csv_path), "--",
                 str(nested), str(digits), str(surrogate), str(good)]) == 1
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    outcome = {Path(row["notebook"]).stem: [] for row in rows}
    for row in rows:
        outcome[Path(row["notebook"]).stem].append((row["status"], row["passed"], row["message"]))
    assert [status for status, _, _ in outcome["nested"]] == ["malformed"]
    assert [status for status, _, _ in outcome["digits"]] == ["malformed"]
    assert outcome["surrogate"][0][:2] == ("graded", "0") and "\\ud800" in outcome["surrogate"][0][2]
    assert [passed for _, passed, _ in outcome["good"]] == ["1", "1"]


def test_kept_folders_under_tmp_are_shown_over_the_fresh_tmp(tmp_path):
    """A checkout (its venv and package) under /tmp must stay visible inside the sandbox's fresh /tmp."""
    from cnncourse.exercises.sandbox import sandbox_command

    kept = (tmp_path / "checkout" / ".venv").resolve()
    kept.mkdir(parents=True)
    arguments = sandbox_command("bwrap", tmp_path / "scratch", ["true"], hide=[tmp_path / "checkout"], keep=[kept])
    if not str(kept).startswith("/tmp/"):
        pytest.skip(f"pytest's tmp_path {kept} is not under /tmp here")
    triples = [arguments[i:i + 3] for i in range(len(arguments) - 2)]
    assert ["--ro-bind", str(kept), str(kept)] in triples
    assert arguments.index("--tmpfs") < triples.index(["--ro-bind", str(kept), str(kept)])
