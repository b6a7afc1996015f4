"""Write the student edition: every chapter with its solutions replaced by stubs.

    python scripts/make_student.py --out student

For every chapter listed in ``_toc.yml`` (notebooks and Markdown pages under ``chapters/``):

* a code cell tagged ``solution`` (and any code cell between ``{solution-start}`` and
  ``{solution-end}``) becomes a stub: the same ``def`` lines and docstrings, with the body
  ``# YOUR CODE HERE`` / ``raise NotImplementedError``;
* ``{solution}`` blocks, and everything gated between ``{solution-start}`` and
  ``{solution-end}``, are removed from the Markdown; a cell left empty is dropped;
* ``{exercise}`` blocks (and ``{exercise-start}``) are rewritten as plain Markdown, which
  Jupyter renders;
* outputs and execution counts are cleared; every other cell, the checker calls
  (``check("name", function)``) included, is kept as it is.

The package ``cnncourse`` (which the notebooks import, and which holds the checkers),
``pyproject.toml``, ``requirements.txt``, the figures the chapters link to and a README
are copied beside the chapters, so the folder can be handed to students as it is.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import sys
import tokenize
from pathlib import Path

import nbformat

from . import ROOT
from .toc import toc_chapters

STUB_BODY = ("# YOUR CODE HERE", "raise NotImplementedError")
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>:{3,}|`{3,})\{(?P<name>[\w-]+)\}(?P<argument>.*)$")
_OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$")


class StudentEditionError(ValueError):
    """A chapter does not follow the exercise conventions, so it cannot be stubbed safely."""


# --------------------------------------------------------------------------- code cells


def _header_end(lines: list[str], node: ast.stmt) -> tuple[int, int]:
    """(line, column) just after the colon that ends the ``def``/``class`` header of ``node``."""
    start = node.lineno  # the ``def`` or ``class`` line itself; decorators come before it
    text = "".join(lines[start - 1 :])
    depth = 0
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            depth += 1
        elif token.string in ")]}":
            depth -= 1
        elif token.string == ":" and depth == 0:
            return start + token.end[0] - 1, token.end[1]
    raise StudentEditionError(f"cannot find the end of the header of {node.name}")


def _docstring_node(node) -> ast.Expr | None:
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _signature_and_docstring(lines: list[str], node) -> tuple[list[str], str]:
    """The decorators, header and docstring lines of a ``def`` or ``class``, and its body's indent."""
    first_line = min([node.lineno] + [d.lineno for d in node.decorator_list])
    header_line, header_column = _header_end(lines, node)
    header = lines[first_line - 1 : header_line - 1] + [lines[header_line - 1][:header_column]]
    own_indent = lines[node.lineno - 1][: node.col_offset]
    body_indent = own_indent + " " * 4
    docstring = _docstring_node(node)
    if docstring is not None and docstring.lineno > header_line:
        body_indent = lines[docstring.lineno - 1][: docstring.col_offset]
        header += lines[header_line : docstring.end_lineno]
    elif docstring is not None:  # ``def f(x): "doc"; ...`` on one line
        header.append(body_indent + ast.get_source_segment("".join(lines), docstring))
    elif node.body[0].lineno > header_line:
        body_indent = lines[node.body[0].lineno - 1][: node.body[0].col_offset]
    return [line.rstrip("\n") for line in header], body_indent


def _stub_function(lines: list[str], node) -> list[str]:
    """Decorators, signature and docstring of ``node`` with a NotImplementedError body."""
    header, body_indent = _signature_and_docstring(lines, node)
    return header + [body_indent + text for text in STUB_BODY]


def _stub_class(lines: list[str], node: ast.ClassDef) -> list[str]:
    """A class keeps its header, docstring and method signatures; every method body is stubbed."""
    header, body_indent = _signature_and_docstring(lines, node)
    methods = [item for item in node.body if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not methods:
        return header + [body_indent + text for text in STUB_BODY]
    out = header
    for item in methods:
        out = out + [""] + _stub_function(lines, item)
    return out


def stub_source(source: str, where: str = "a solution cell") -> str:
    """The student version of a solution cell's ``source``.

    Functions (and the methods of classes) keep their decorators, signatures and
    docstrings; their bodies become ``# YOUR CODE HERE`` and ``raise NotImplementedError``.
    Imports are kept. Anything else (an assignment, an expression) could hold the answer
    and cannot be stubbed, so it raises ``StudentEditionError`` naming ``where``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise StudentEditionError(f"{where}: the solution does not parse ({error})") from None
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    blocks = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            blocks.append("\n".join(_stub_function(lines, node)))
        elif isinstance(node, ast.ClassDef):
            blocks.append("\n".join(_stub_class(lines, node)))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            blocks.append(ast.get_source_segment(source, node))
        else:
            raise StudentEditionError(
                f"{where}: a solution cell may hold only `def`s (and imports), found "
                f"`{ast.get_source_segment(source, node).splitlines()[0]}` on line {node.lineno}"
            )
    if not blocks:
        raise StudentEditionError(f"{where}: the solution cell defines no function")
    return "\n\n\n".join(blocks)


# ------------------------------------------------------------------------ markdown cells


def _block_end(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes the fence opened on ``lines[start]`` (len(lines) if none)."""
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    for index in range(start + 1, len(lines)):
        if closing.match(lines[index]):
            return index
    return len(lines)


def _exercise_as_markdown(block: list[str], title: str) -> list[str]:
    """An ``{exercise}`` block as plain Markdown: a bold title, then its text."""
    body = block[1:-1] if re.match(r"^[ \t]*[:`]{3,}[ \t]*$", block[-1]) else block[1:]
    while body and _OPTION.match(body[0]):
        body = body[1:]
    heading = f"**Exercise: {title.strip()}**" if title.strip() else "**Exercise**"
    return [heading, ""] + body


_HANDLED = ("solution", "solution-start", "solution-end", "exercise", "exercise-start", "exercise-end")


class MarkdownFilter:
    """Removes solutions from Markdown, keeping state across cells (solution-start … solution-end)."""

    def __init__(self):
        self.gated = False  # inside a {solution-start} … {solution-end} pair

    def filter(self, text: str) -> str:
        lines = text.split("\n")
        out: list[str] = []
        index = 0
        while index < len(lines):
            match = _FENCE_OPEN.match(lines[index])
            name = match["name"] if match else None
            if match and name in _HANDLED:
                end = _block_end(lines, index, match["fence"])
                if name == "solution-start":
                    self.gated = True
                elif name == "solution-end":
                    self.gated = False
                elif name in ("exercise", "exercise-start") and not self.gated:
                    out.extend(_exercise_as_markdown(lines[index : end + 1], match["argument"]))
                # {solution} blocks and {exercise-end} markers are dropped
                index = end + 1
                continue
            if not self.gated:
                out.append(lines[index])
            index += 1
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


# ----------------------------------------------------------------------------- notebooks


def student_notebook(notebook: nbformat.NotebookNode, where: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``notebook`` with stubs for solutions, no solution text and no outputs."""
    result = nbformat.from_dict(notebook)  # a deep copy
    markdown = MarkdownFilter()
    cells = []
    for number, cell in enumerate(result.cells, start=1):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            cell.source = markdown.filter(cell.source)
            if cell.source.strip():
                cells.append(cell)
            continue
        if cell.cell_type == "code":
            if "solution" in tags or markdown.gated:
                cell.source = stub_source(cell.source, where=f"{where}, cell {number}")
                cell.metadata["tags"] = [tag for tag in tags if tag != "solution"] + ["exercise"]
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    if markdown.gated:
        raise StudentEditionError(f"{where}: a {{solution-start}} has no matching {{solution-end}}")
    result.cells = cells
    result.metadata.pop("widgets", None)
    return result


def student_markdown(text: str, where: str = "page") -> str:
    """A Markdown chapter without its solutions (the same rules as for notebook cells)."""
    markdown = MarkdownFilter()
    result = markdown.filter(text)
    if markdown.gated:
        raise StudentEditionError(f"{where}: a {{solution-start}} has no matching {{solution-end}}")
    return result + "\n"


# ------------------------------------------------------------------------------- edition


_LINKED_FILE = re.compile(r"""(?:\]\(|src=["']|\{(?:figure|image)\}\s*)(?P<path>[^)"'\s#]+\.(?:png|jpe?g|gif|svg|csv|npz|dcm))""")


def _linked_files(text: str, folder: Path, root: Path) -> set[Path]:
    """Local files (figures, small data) that Markdown in ``folder`` links to, inside ``root``."""
    found = set()
    for match in _LINKED_FILE.finditer(text):
        if "://" in match["path"]:
            continue
        path = (folder / match["path"]).resolve()
        if path.is_file() and path.is_relative_to(root.resolve()):
            found.add(path.relative_to(root.resolve()))
    return found


README = """# {title}: student edition

These are the course's chapter notebooks **without the solutions**. Where an exercise asks
for code, its cell holds the function's signature and docstring and the lines

```python
# YOUR CODE HERE
raise NotImplementedError
```

Replace them with your answer, run the cell, then run the `check("...", ...)` cell below it:
it prints `✓ name: correct`, or tells you what it expected and what your function returned.

## Set up

You need Python 3.10 or newer. In this folder:

```bash
python -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
pip install --no-deps -e .         # the course's package, cnncourse, with the checkers
jupyter lab chapters/
```

`python -m cnncourse.exercises list` lists every exercise that has a checker.
The chapters download PneumoniaMNIST (about 4 MB) on first use; without internet, put
`pneumoniamnist.npz` in a folder and set the environment variable `CNNCOURSE_DATA` to it.
"""


README_ZH = """# {title}：学生版

这里是本课程各章的 notebook，**不含习题答案**。凡是要求写代码的习题，其代码单元只保留函数的签名和文档字符串，以及

```python
# YOUR CODE HERE
raise NotImplementedError
```

把这两行换成你的答案，运行该单元，再运行其下方的 `check("...", ...)` 单元：答对时输出 `✓ name: correct`，
否则会说明它期望得到什么、你的函数返回了什么。

## 环境配置

需要 Python 3.10 或更新版本。在本文件夹中运行：

```bash
python -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
pip install --no-deps -e .         # 课程的 Python 包 cnncourse，含自动检查器
jupyter lab chapters/
```

`python -m cnncourse.exercises list` 列出所有带检查器的习题。各章第一次运行时会下载 PneumoniaMNIST（约 4 MB）；
没有网络时，把 `pneumoniamnist.npz` 放进一个文件夹，并把环境变量 `CNNCOURSE_DATA` 设为该文件夹。
"""
LANGUAGES = ("en", "zh")


def _chinese_sources(root: Path, folder: Path) -> Path:
    """The Chinese edition's sources (notebooks with translated markdown), written into ``folder``."""
    from . import translations

    return translations.build_tree(folder)


def make_student(out: Path, root: Path = ROOT, language: str = "en") -> list[Path]:
    """Write the student edition into ``out`` (replacing it); returns the chapter files written.

    ``language="zh"`` writes the Chinese edition: the same notebooks, with the markdown of
    ``i18n/zh/`` (``scripts/translations.py``), and a Chinese README.
    """
    import tempfile

    out = Path(out)
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, received {language!r}")
    if out.resolve() == root.resolve() or root.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"--out must not be the repository or a folder above it, received {out}")
    with tempfile.TemporaryDirectory() as scratch:
        sources = root if language == "en" else _chinese_sources(root, Path(scratch) / "zh")
        return _write_student(out, root, sources, language)


def _write_student(out: Path, root: Path, sources: Path, language: str) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    written, extra = [], set()
    for relative in toc_chapters(sources):
        source, target = sources / relative, out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative.suffix == ".ipynb":
            notebook = nbformat.read(source, as_version=4)
            nbformat.write(student_notebook(notebook, where=str(relative)), target)
            text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        else:
            text = source.read_text(encoding="utf-8")
            target.write_text(student_markdown(text, where=str(relative)), encoding="utf-8")
        extra |= _linked_files(text, source.parent, sources)
        written.append(relative)
    for relative in sorted(extra):
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(sources / relative, out / relative)
    shutil.copytree(
        root / "cnncourse", out / "cnncourse", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    )
    for name in ("pyproject.toml", "requirements.txt"):
        if (root / name).is_file():
            shutil.copy2(root / name, out / name)
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n.ipynb_checkpoints/\n*.egg-info/\n")
    if language == "zh":
        (out / "README.md").write_text(README_ZH.format(title="卷积神经网络在医学影像分析中的应用"), encoding="utf-8")
    else:
        title = "Convolutional Neural Networks for Medical Image Analysis"
        (out / "README.md").write_text(README.format(title=title), encoding="utf-8")
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="folder to write (replaced); default student/")
    parser.add_argument("--language", choices=LANGUAGES, default="en", help="en (default) or zh, the Chinese edition")
    args = parser.parse_args(argv)
    try:
        written = make_student(args.out, language=args.language)
    except StudentEditionError as error:
        print(f"make_student: {error}", file=sys.stderr)
        return 1
    for relative in written:
        print(f"{args.out / relative}")
    print(f"Student edition: {len(written)} chapters in {args.out}/ (solutions replaced by stubs, outputs cleared).")
    return 0


