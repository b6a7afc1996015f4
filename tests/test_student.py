"""The student edition (``make student``): no solution survives, and the checkers fail readably on the stubs."""

from __future__ import annotations

import __future__
import ast
import builtins
import importlib.util
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from cnncourse.exercises import ExerciseFailed, check

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_student", ROOT / "scripts" / "make_student.py")
make_student = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_student)

CHAPTERS = make_student.toc_chapters(ROOT)
NOTEBOOKS = [path for path in CHAPTERS if path.suffix == ".ipynb"]
_ids = dict(ids=lambda path: path.stem)


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student"
    written = make_student.make_student(out, ROOT)
    assert written == CHAPTERS
    return out


# ----------------------------------------------------------------------- helpers


def _compact(text: str) -> str:
    """Text without whitespace, so that re-indentation or re-wrapping cannot hide a match."""
    return re.sub(r"\s+", "", text)


def _is_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and "solution" in cell.get("metadata", {}).get("tags", [])


def _solution_blocks(markdown: str) -> list[str]:
    """The bodies of ``{solution}`` blocks in a Markdown text (a simple, independent scan)."""
    blocks, lines, index = [], markdown.split("\n"), 0
    while index < len(lines):
        match = re.match(r"^\s*(:{3,}|`{3,})\{solution\}", lines[index])
        if not match:
            index += 1
            continue
        fence, body = match.group(1), []
        index += 1
        while index < len(lines) and not re.fullmatch(rf"\s*{re.escape(fence[0])}{{{len(fence)},}}\s*", lines[index]):
            body.append(lines[index])
            index += 1
        blocks.append("\n".join(body))
    return blocks


def _split_original(notebook) -> tuple[list[str], list[str], str]:
    """(solution code cells, solution prose, the text outside every solution) of a chapter notebook."""
    code, prose, visible = [], [], []
    gated = False
    for cell in notebook.cells:
        source = cell.source
        if cell.cell_type == "markdown":
            starts, ends = "{solution-start}" in source, "{solution-end}" in source
            if gated or starts or ends:
                after_start = source.split("{solution-start}", 1)[-1].split("\n", 1)[-1] if starts else source
                prose.append(after_start.split("{solution-end}")[0])
            else:
                blocks = _solution_blocks(source)
                for block in blocks:
                    source = source.replace(block, "")
                visible.append(source)
            prose.extend(_solution_blocks(cell.source))
            gated = (gated or starts) and not (ends and source.rfind("{solution-end}") > source.rfind("{solution-start}"))
        elif _is_solution_cell(cell) or gated:
            code.append(source)
        else:
            visible.append(source)
    return code, prose, _compact("\n".join(visible))


def _body_statements(source: str) -> list[str]:
    """The source of every statement in the bodies of the functions a solution cell defines."""
    tree = ast.parse(source)
    statements = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if make_student._docstring_node(node) else node.body
            statements += [ast.get_source_segment(source, statement) for statement in body]
    return statements


def _student_text(notebook) -> str:
    return _compact("\n".join(cell.source for cell in notebook.cells))


class _Anything:
    """Stands for a name that an earlier cell defines (e.g. in a default value)."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self


class _Lenient(dict):
    def __missing__(self, key):
        if hasattr(builtins, key):
            raise KeyError(key)
        return _Anything()


def _exec_stub(source: str) -> dict:
    """Run a stub cell on its own; names from earlier cells resolve to placeholders."""
    namespace = _Lenient()
    flags = __future__.annotations.compiler_flag  # annotations are not evaluated
    exec(compile(source, "<stub cell>", "exec", flags=flags, dont_inherit=True), {"__builtins__": builtins}, namespace)
    return dict(namespace)


def _check_calls(notebook) -> list[tuple[str, str]]:
    """(exercise name, candidate expression) of every ``check("name", candidate)`` in a notebook."""
    calls = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            function = getattr(node, "func", None)
            name = getattr(function, "id", None) or getattr(function, "attr", None)
            if isinstance(node, ast.Call) and name == "check" and len(node.args) == 2:
                exercise = node.args[0]
                if isinstance(exercise, ast.Constant) and isinstance(exercise.value, str):
                    calls.append((exercise.value, ast.unparse(node.args[1])))
    return calls


def _read(edition: Path, relative: Path):
    return nbformat.read(edition / relative, as_version=4)


# --------------------------------------------------------------- the real chapters


def test_edition_holds_every_chapter_and_what_it_needs(edition):
    assert NOTEBOOKS, "no chapter notebook in _toc.yml"
    for relative in CHAPTERS:
        assert (edition / relative).is_file(), relative
    for needed in ("README.md", "pyproject.toml", "requirements.txt", "cnncourse/__init__.py", "cnncourse/exercises/__init__.py"):
        assert (edition / needed).is_file(), needed
    assert not list(edition.rglob("__pycache__"))
    assert "YOUR CODE HERE" in (edition / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("relative", NOTEBOOKS, **_ids)
def test_no_solution_code_survives(edition, relative):
    original = nbformat.read(ROOT / relative, as_version=4)
    student = _read(edition, relative)
    code, _, visible = _split_original(original)
    text = _student_text(student)
    leaks = [
        statement
        for source in code
        for statement in _body_statements(source)
        if _compact(statement) in text and _compact(statement) not in visible
    ]
    assert not leaks, f"{relative}: solution code survives in the student edition: {leaks[:3]}"
    assert not any(_is_solution_cell(cell) for cell in student.cells), f"{relative}: a cell is still tagged solution"


@pytest.mark.parametrize("relative", NOTEBOOKS, **_ids)
def test_no_solution_text_survives(edition, relative):
    original = nbformat.read(ROOT / relative, as_version=4)
    student = _read(edition, relative)
    _, prose, visible = _split_original(original)
    raw = "\n".join(cell.source for cell in student.cells)
    assert "{solution" not in raw, f"{relative}: a solution directive survives"
    text = _compact(raw)
    lines = [line.strip() for block in prose for line in block.split("\n") if len(line.strip()) >= 25]
    leaks = [line for line in lines if _compact(line) in text and _compact(line) not in visible]
    assert not leaks, f"{relative}: solution prose survives: {leaks[:3]}"


@pytest.mark.parametrize("relative", NOTEBOOKS, **_ids)
def test_outputs_cleared_and_other_cells_kept(edition, relative):
    original = nbformat.read(ROOT / relative, as_version=4)
    student = _read(edition, relative)
    nbformat.validate(student)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{relative}: outputs left in {cell.source[:60]!r}"
    kept = {cell.source for cell in original.cells if cell.cell_type == "code" and not _is_solution_cell(cell)}
    student_code = {cell.source for cell in student.cells if cell.cell_type == "code"}
    assert kept <= student_code, f"{relative}: a non-solution code cell was changed or dropped"
    assert _check_calls(student) == _check_calls(original), f"{relative}: checker calls differ"


@pytest.mark.parametrize("relative", NOTEBOOKS, **_ids)
def test_stubs_keep_signatures_and_docstrings(edition, relative):
    original = nbformat.read(ROOT / relative, as_version=4)
    solutions = {}
    for source in _split_original(original)[0]:
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                solutions[node.name] = node
    stubs = {}
    for cell in _read(edition, relative).cells:
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            assert "# YOUR CODE HERE" in cell.source
            stubs.update({n.name: n for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)})
    assert stubs.keys() == solutions.keys(), f"{relative}: stubs {sorted(stubs)} != solutions {sorted(solutions)}"
    for name, solution in solutions.items():
        stub = stubs[name]
        assert ast.dump(stub.args) == ast.dump(solution.args), f"{relative}: {name}() changed its signature"
        assert ast.get_docstring(stub) == ast.get_docstring(solution), f"{relative}: {name}() lost its docstring"
        assert isinstance(stub.body[-1], ast.Raise) and "NotImplementedError" in ast.unparse(stub.body[-1])


@pytest.mark.parametrize("relative", NOTEBOOKS, **_ids)
def test_checkers_fail_readably_on_the_stubs(edition, relative):
    student = _read(edition, relative)
    stubs = {}
    for cell in student.cells:
        if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
            stubs.update(_exec_stub(cell.source))
    calls = _check_calls(student)
    if not calls:
        pytest.skip(f"{relative} has no check(...) call")
    for name, candidate in calls:
        assert candidate in stubs, (
            f'{relative}: check("{name}", {candidate}) must name a function from a solution cell '
            f"(stubs: {sorted(stubs)}), so that the student edition can test it"
        )
        with pytest.raises(ExerciseFailed) as failure:
            check(name, stubs[candidate])
        message = str(failure.value)
        assert "not implemented" in message.lower(), f'check("{name}") on a stub said: {message}'
        assert "Traceback" not in message and len(message) < 1000


def test_command_line(tmp_path, capsys):
    assert make_student.main(["--out", str(tmp_path / "out")]) == 0
    assert "Student edition:" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--out"):
        make_student.make_student(ROOT, ROOT)


# ------------------------------------------------------------- the rules, in miniature


def test_stub_keeps_decorators_signature_and_docstring():
    source = textwrap.dedent(
        '''
        import numpy as np


        @staticmethod
        def scale(
            x: np.ndarray,
            factor=2,  # a comment in the signature
        ) -> np.ndarray:
            """Multiply ``x`` by ``factor``.

            Shapes: (N,) -> (N,).
            """
            secret = x * factor  # the answer
            return secret


        def one_liner(a, b): return a + b


        def no_docstring(values):
            # hint that must go
            return sorted(values)[::-1]


        class Pool:
            """A pooling layer."""

            def forward(self, x):
                """Pool ``x``."""
                return x[::2]
        '''
    )
    stub = make_student.stub_source(source)
    for gone in ("secret", "a + b", "sorted", "hint", "x[::2]"):
        assert gone not in stub
    for kept in ("import numpy as np", "@staticmethod", "factor=2,  # a comment", "Shapes: (N,) -> (N,).", '"""Pool ``x``."""'):
        assert kept in stub
    tree = ast.parse(stub)
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert set(functions) == {"scale", "one_liner", "no_docstring", "forward"}
    for function in functions.values():
        assert ast.unparse(function.body[-1]) == "raise NotImplementedError"
    assert stub.count("# YOUR CODE HERE") == 4
    namespace = _exec_stub(stub)
    with pytest.raises(NotImplementedError):
        namespace["one_liner"](1, 2)


@pytest.mark.parametrize("source", ["answer = 42", "print('hi')", "x = 1\ndef f():\n    return x", "   "])
def test_stub_refuses_what_it_cannot_stub(source):
    with pytest.raises(make_student.StudentEditionError, match="a solution cell"):
        make_student.stub_source(source, where="a solution cell")


def _notebook(*cells):
    notebook = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        if kind == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="out\n")]
            cell.execution_count = 3
        notebook.cells.append(cell)
    return notebook


def test_markdown_rules_across_cells():
    notebook = _notebook(
        ("md", "# Title\n\n:::{exercise} Mean\n:label: ex-99-mean\nWrite `mean(x)`.\n:::\n\n:::{solution-start} ex-99-mean\n:class: dropdown\n:::"),
        ("code", "def mean(x):\n    '''Mean of x, shape (N,).'''\n    return sum(x) / len(x)", "solution"),
        ("md", "The loop version is slower and SECRET-GATED-PROSE.\n\n:::{solution-end}\n:::\n\nText after the gate stays."),
        ("code", 'check("mean", mean)'),
        ("md", "::::{exercise} Why\n:label: ex-99-why\nExplain.\n:::{note}\nInner note stays.\n:::\n::::\n\n::::{solution} ex-99-why\n:class: dropdown\nSECRET-PROSE\n:::{note}\nSECRET-NOTE\n:::\n::::\n\nClosing words."),
        ("md", "```{solution} ex-99-other\nSECRET-BACKTICKS\n```"),
    )
    student = make_student.student_notebook(notebook)
    sources = [cell.source for cell in student.cells]
    text = "\n".join(sources)
    for gone in ("SECRET", "sum(x)", "{solution", ":label:", ":class:"):
        assert gone not in text
    for kept in ("# Title", "**Exercise: Mean**", "Write `mean(x)`.", "Text after the gate stays.", "Inner note stays.", "Closing words.", "**Exercise: Why**"):
        assert kept in text
    assert len(student.cells) == 5  # the cell that held only a {solution} block is dropped
    assert student.cells[1].metadata["tags"] == ["exercise"]
    assert 'check("mean", mean)' in sources
    assert all(cell.outputs == [] and cell.execution_count is None for cell in student.cells if cell.cell_type == "code")
    assert notebook.cells[1].outputs, "the original notebook must not be modified"


def test_unclosed_gate_is_an_error():
    notebook = _notebook(("md", ":::{solution-start} ex\n:::"), ("code", "def f():\n    return 1"))
    with pytest.raises(make_student.StudentEditionError, match="solution-end"):
        make_student.student_notebook(notebook, where="ch.ipynb")


def test_markdown_chapter():
    text = "# A page\n\n:::{solution} ex-1\nSECRET\n:::\n\nKept.\n"
    assert make_student.student_markdown(text) == "# A page\n\nKept.\n"
