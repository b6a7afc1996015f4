"""The student edition (``make student``): no solution survives, and the checkers fail readably on the stubs."""

from __future__ import annotations

import __future__
import ast
import builtins
import collections
import copy
import dataclasses
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from cnncourse.exercises import ExerciseFailed, check
from cnncourse.publishing import student as make_student

ROOT = Path(__file__).resolve().parents[1]

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


@pytest.mark.parametrize("script", sorted(path.name for path in (ROOT / "scripts").glob("*.py")))
def test_scripts_import_the_package_not_each_other_by_path(script):
    # The package is installed (editable); a script imports what it shares from cnncourse.publishing.
    tree = ast.parse((ROOT / "scripts" / script).read_text(encoding="utf-8"))
    uses = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and ast.unparse(node) in ("sys.path", "importlib.util")]
    assert not uses, f"scripts/{script} changes sys.path or loads a module from its file: {uses}"


def test_command_line(tmp_path, capsys):
    assert make_student.main(["--out", str(tmp_path / "out")]) == 0
    assert "Student edition:" in capsys.readouterr().out
    with pytest.raises(ValueError, match="--out"):
        make_student.make_student(ROOT, ROOT)


# ----------------------------------------------- solution code visible elsewhere (a leak)
#
# A solution function "leaks" when its code can be read in a visible cell of any chapter of the
# student edition: the same function under another name, or its statements pasted inline. The
# comparison is on the syntax tree, so whitespace, comments, docstrings, quotes and parentheses do
# not matter, and local names are numbered in order of first use, so renaming the variables does
# not hide a copy either. Functions of a single statement (``return k**3 * c * f + f``) are idioms,
# not solutions, and are not compared.

MIN_STATEMENTS = 2  # statements in a solution function's body (nested ones counted), its docstring left out


class _Canonical(ast.NodeTransformer):
    """Numbers every name (variables, arguments, local functions) in order of first use; drops docstrings and
    annotations."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _rename(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = self._rename(node.arg), None
        return node

    def _function(self, node):
        node.name, node.returns, node.decorator_list = self._rename(node.name), None, []
        node.body = _without_docstrings(node.body) or [ast.Pass()]
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = _function


def _without_docstrings(statements: list[ast.stmt]) -> list[ast.stmt]:
    return [s for s in statements if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]


class _Substitute(ast.NodeTransformer):
    def __init__(self, values: dict):
        self.values = values

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.values:
            return copy.deepcopy(self.values[node.id])
        return node


def _inline_assignments(statements: list[ast.stmt]) -> list[ast.stmt]:
    """``statements`` with each name assigned once (``t = a * b``) replaced by its value where it is used,
    so that ``t = a * b; return t / (t + c)`` and ``return a * b / (a * b + c)`` compare equal."""
    stored = collections.Counter(node.id for statement in statements for node in ast.walk(statement)
                                 if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load))
    values, kept = {}, []
    for statement in copy.deepcopy(statements):
        statement = _Substitute(values).visit(statement)
        target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 else None
        if isinstance(target, ast.Name) and stored[target.id] == 1:
            values[target.id] = statement.value
        else:
            kept.append(statement)
    return kept


def _key(statements: list[ast.stmt], arguments: ast.arguments | None = None) -> str:
    """A canonical text of ``statements`` (copies; the originals are not changed). With ``arguments`` (a whole
    function), names assigned once are first replaced by their values."""
    canonical = _Canonical()
    statements = _without_docstrings(statements)
    if arguments is not None:
        canonical.visit(copy.deepcopy(arguments))  # arguments first: their names are numbered first
        statements = _inline_assignments(statements)
    return "\n".join(ast.dump(canonical.visit(copy.deepcopy(s))) for s in statements)


def _statement_count(statements: list[ast.stmt]) -> int:
    return sum(isinstance(node, ast.stmt) for s in _without_docstrings(statements) for node in ast.walk(s))


def _functions(tree) -> list:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _blocks(tree) -> list[list[ast.stmt]]:
    """Every list of statements in ``tree``: the module's, and each body, else and finally branch."""
    found = []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                found.append(_without_docstrings(value))
    return found


def _parse(source: str):
    """The syntax tree of a cell (IPython's ``%magic`` and ``!shell`` lines removed), or None."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


_FENCED_PYTHON = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*(?:\{code-cell\}[ \t]*)?(?:python|ipython3?|py)\b[^\n]*\n(.*?)^[ \t]*\1[ \t]*$",
                            re.MULTILINE | re.DOTALL)


def _fenced_python(markdown: str) -> list[str]:
    return [match.group(2) for match in _FENCED_PYTHON.finditer(markdown)]


@dataclasses.dataclass(frozen=True)
class _Solution:
    where: str
    name: str
    as_function: str  # the key of the whole function, its arguments numbered first
    inline: str  # the key of its body without the final return (the code pasted at top level)
    inline_length: int


def _solutions_of(relative: Path) -> list[_Solution]:
    """The solution functions of a chapter (notebook or Markdown page) worth comparing."""
    if relative.suffix == ".ipynb":
        sources = _split_original(nbformat.read(ROOT / relative, as_version=4))[0]
        sources += [code for prose in _split_original(nbformat.read(ROOT / relative, as_version=4))[1]
                    for code in _fenced_python(prose)]
    else:
        sources = [code for block in _solution_blocks((ROOT / relative).read_text(encoding="utf-8"))
                   for code in _fenced_python(block)]
    found = []
    for source in sources:
        tree = _parse(source)
        for function in _functions(tree) if tree else []:
            if _statement_count(function.body) < MIN_STATEMENTS:
                continue
            body = _without_docstrings(function.body)
            inline = body[:-1] if isinstance(body[-1], ast.Return) else body
            found.append(_Solution(str(relative), function.name, _key(function.body, function.args),
                                   _key(inline), len(inline) if _statement_count(inline) >= MIN_STATEMENTS else 0))
    return found


def _visible_sources(edition: Path, relative: Path) -> list[tuple[str, str]]:
    """(where, code) of everything a student sees as code in a chapter of the edition: the code cells that are not
    stubs, and Python blocks in the Markdown."""
    if relative.suffix != ".ipynb":
        return [(f"{relative}", code) for code in _fenced_python((edition / relative).read_text(encoding="utf-8"))]
    found = []
    for number, cell in enumerate(_read(edition, relative).cells):
        if cell.cell_type == "code" and "exercise" not in cell.metadata.get("tags", []):
            found.append((f"{relative} cell {number}", cell.source))
        elif cell.cell_type == "markdown":
            found += [(f"{relative} cell {number} (Markdown)", code) for code in _fenced_python(cell.source)]
    return found


def _leaks(solutions: list[_Solution], visible: list[tuple[str, str]]) -> list[str]:
    """One line per place where a solution's code is visible."""
    by_function = {}
    for solution in solutions:
        by_function.setdefault(solution.as_function, []).append(solution)
    lengths = {solution.inline_length for solution in solutions if solution.inline_length}
    by_inline = {(s.inline_length, s.inline): s for s in solutions if s.inline_length}
    found = []
    for where, source in visible:
        tree = _parse(source)
        if tree is None:
            continue
        for function in _functions(tree):
            for solution in by_function.get(_key(function.body, function.args), []):
                found.append(f"{where}: `{function.name}` is the solution `{solution.name}` of {solution.where}")
        for block in _blocks(tree):
            for length in lengths:
                for start in range(len(block) - length + 1):
                    solution = by_inline.get((length, _key(block[start : start + length])))
                    if solution is not None:
                        found.append(f"{where}, line {block[start].lineno}: the body of the solution "
                                     f"`{solution.name}` of {solution.where}")
    return sorted(set(found))


@pytest.fixture(scope="module")
def all_solutions() -> list[_Solution]:
    return [solution for relative in CHAPTERS for solution in _solutions_of(relative)]


def test_solutions_are_found_in_every_chapter_with_code_exercises(all_solutions):
    chapters = {solution.where for solution in all_solutions}
    assert len(all_solutions) >= 20 and len(chapters) >= 8, sorted(chapters)


@pytest.mark.parametrize("relative", CHAPTERS, **_ids)
def test_no_solution_is_visible_in_any_chapter(edition, all_solutions, relative):
    leaks = _leaks(all_solutions, _visible_sources(edition, relative))
    assert not leaks, "a solution's code is visible in the student edition:\n  " + "\n  ".join(leaks)


def test_leak_rules_in_miniature():
    solution = textwrap.dedent(
        '''
        def receptive_field(layers):
            """Receptive field of (kernel_size, stride) layers."""
            size, jump = 1, 1
            for kernel_size, stride in layers:
                size += (kernel_size - 1) * jump
                jump *= stride
            return size

        def conv3d_params(k, c, f):
            return k**3 * c * f + f
        '''
    )
    notebook = _notebook(("code", solution, "solution"))
    path = ROOT / "chapters" / "99_miniature.ipynb"
    sources = _split_original(notebook)[0]
    solutions = []
    for source in sources:
        for function in _functions(ast.parse(source)):
            if _statement_count(function.body) >= MIN_STATEMENTS:
                body = _without_docstrings(function.body)
                inline = body[:-1] if isinstance(body[-1], ast.Return) else body
                solutions.append(_Solution(path.name, function.name, _key(function.body, function.args),
                                           _key(inline), len(inline)))
    assert [s.name for s in solutions] == ["receptive_field"]  # the one-statement idiom is not compared

    renamed_and_reformatted = """
def receptive_field_of(chain):   # a copy under another name
    '''Another docstring.'''
    field,   jump = (1), 1
    for k, s in chain:
        field += (k - 1) * jump  # grows with the jump
        jump *= s
    return field
"""
    inline = "size, jump = 1, 1\nfor kernel_size, stride in seed_layers:\n    size += (kernel_size - 1) * jump\n    jump *= stride\nprint(size)"
    different = "def field(layers):\n    size = 1\n    for k, s in layers:\n        size += k - 1\n    return size"
    idiom = "def volume(k, c, f):\n    return k**3 * c * f + f"
    visible = [("renamed", renamed_and_reformatted), ("inline", inline), ("different", different), ("idiom", idiom),
               ("magic", "%matplotlib inline\nx = 1")]
    leaks = _leaks(solutions, visible)
    assert [leak.split(":")[0] for leak in leaks] == ["inline, line 1", "renamed, line 4", "renamed"], leaks
    assert "`receptive_field_of` is the solution `receptive_field` of 99_miniature.ipynb" in leaks[2]

    ppv = "def ppv(se, sp, p):\n    tp = se * p\n    fp = (1 - sp) * (1 - p)\n    return tp / (tp + fp)"
    folded = "def positive_predictive(a, b, c):\n    hits = a * c\n    return hits / (hits + (1 - b) * (1 - c))"
    other = "def npv(se, sp, p):\n    tn = sp * (1 - p)\n    return tn / (tn + (1 - se) * p)"
    ppv_solution = [_Solution("ch", "ppv", _key(f.body, f.args), "", 0) for f in _functions(ast.parse(ppv))]
    assert len(_leaks(ppv_solution, [("folded", folded)])) == 1  # the intermediate variable inlined: still a copy
    assert _leaks(ppv_solution, [("other", other)]) == []
    assert _fenced_python("text\n\n```python\nx = 1\n```\n\n```text\nno\n```\n") == ["x = 1\n"]


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


# ------------------------------------------------------------------- the Chinese edition


def test_chinese_student_edition_has_the_same_code_and_chinese_prose(edition, tmp_path):
    """``--language zh``: the same stubs and checker calls, with the Chinese markdown."""
    chinese = tmp_path / "student-zh"
    assert make_student.make_student(chinese, ROOT, language="zh") == CHAPTERS
    from cnncourse.publishing import comments

    strip_comments = comments.strip_comments  # the Chinese edition translates the code's comments, nothing else
    assert "学生版" in (chinese / "README.md").read_text(encoding="utf-8")
    for relative in NOTEBOOKS:
        english_cells = nbformat.read(edition / relative, as_version=4).cells
        chinese_cells = nbformat.read(chinese / relative, as_version=4).cells
        assert [strip_comments(cell.source) for cell in chinese_cells if cell.cell_type == "code"] == [
            strip_comments(cell.source) for cell in english_cells if cell.cell_type == "code"
        ], f"{relative}: the Chinese student edition's code differs from the English one's (comments aside)"
        prose = "".join(cell.source for cell in chinese_cells if cell.cell_type == "markdown")
        assert len(re.findall(r"[\u4e00-\u9fff]", prose)) > 200, f"{relative}: little Chinese in the Chinese edition"
        assert "solution-start" not in prose and "{solution}" not in prose, f"{relative}: a solution survived"


def test_student_edition_refuses_an_unknown_language(tmp_path):
    with pytest.raises(ValueError, match="language must be one of"):
        make_student.make_student(tmp_path / "out", ROOT, language="fr")
