"""Time every chapter notebook the way a student runs it: a fresh kernel, top to bottom.

    python scripts/time_notebooks.py                      # the notebooks of _toc.yml, a Markdown table
    python scripts/time_notebooks.py chapters/03_convolution.ipynb
    python scripts/time_notebooks.py --update book/instructors.md
    python scripts/time_notebooks.py --save --update book/instructors.md   # and keep the outputs

Each notebook is executed in memory (the file on disk is never changed), in its own folder,
with the current environment's ``python3`` kernel. The table gives the wall-clock time of
the whole run (kernel start included), of its slowest cell, and the kernel's peak memory. ``--update FILE`` replaces
the table between the lines ``<!-- notebook-times:start -->`` and ``<!-- notebook-times:end -->``
in FILE. ``--save`` writes each executed notebook back to its file (as
``scripts/execute_notebooks.py`` does), so one quiet run both re-executes and times the book.
Run it on a quiet machine: other work on the same cores inflates the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cnncourse.publishing import ROOT
from cnncourse.publishing.toc import toc_notebooks

os.environ.setdefault("CNNCOURSE_DATA", str(ROOT.parent / "shared" / "data"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("PYTHONHASHSEED", "0")

START, END = "<!-- notebook-times:start -->", "<!-- notebook-times:end -->"


def _title(notebook) -> str:
    for cell in notebook.cells:
        match = re.search(r"^# (.+)$", cell.source, re.MULTILINE) if cell.cell_type == "markdown" else None
        if match:
            return match.group(1).strip()
    return ""


def _cell_seconds(cell) -> float:
    """Seconds a cell ran, from the timestamps nbclient records in its metadata."""
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = dt.datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def time_notebook(path: Path, timeout: int = 900, save: bool = False) -> dict:
    """Execute ``path`` (a copy in memory) and return its title, total and slowest-cell seconds.

    With ``save``, the executed notebook (without the memory probe) is written back to ``path``.
    """
    notebook = nbformat.read(path, as_version=4)
    # One extra cell at the end reads the kernel's peak memory (resident set size).
    probe = nbformat.v4.new_code_cell(
        "import resource, sys\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print('PEAK_RSS_BYTES', peak if sys.platform == 'darwin' else peak * 1024)"
    )
    notebook.cells.append(probe)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    notebook.cells.pop()
    if save:
        nbformat.write(notebook, path)
    printed = "".join(output.get("text", "") for output in probe.outputs)
    match = re.search(r"PEAK_RSS_BYTES (\d+)", printed)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    slowest = max(code, key=_cell_seconds, default=None)
    return {
        "path": path,
        "title": _title(notebook),
        "seconds": total,
        "cells": len(code),
        "slowest": _cell_seconds(slowest) if slowest is not None else 0.0,
        "peak_bytes": int(match.group(1)) if match else 0,
    }


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return re.sub(r"\s+", " ", line.split(":", 1)[1]).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def markdown_table(rows: list[dict]) -> str:
    """The results as a Markdown table, with a line that says on what machine they were measured."""
    lines = [
        "| Notebook | Run top to bottom | Slowest cell | Peak memory | Code cells |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        name = row["title"] or row["path"].stem
        memory = f"{row['peak_bytes'] / 2**30:.1f} GiB" if row["peak_bytes"] else "?"
        lines.append(
            f"| {name} | {_minutes(row['seconds'])} | {_minutes(row['slowest'])} | {memory} | {row['cells']} |"
        )
    total = sum(row["seconds"] for row in rows)
    lines.append(f"| **All notebooks** | **{_minutes(total)}** | | | |")
    lines += [
        "",
        f"Measured in {dt.date.today():%B %Y} with `python scripts/time_notebooks.py`: {os.cpu_count()} CPU cores "
        f"({_cpu_name()}), no GPU, Python {platform.python_version()}, a fresh kernel per notebook.",
    ]
    return "\n".join(lines)


def update_file(path: Path, table: str) -> None:
    """Replace the text between the notebook-times markers in ``path`` with ``table``."""
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no '{START}' ... '{END}' block to replace")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: the notebooks in _toc.yml")
    parser.add_argument("--update", type=Path, help="write the table into this file, between the markers")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell (default 900)")
    parser.add_argument("--save", action="store_true", help="write each executed notebook back to its file")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or [ROOT / path for path in toc_notebooks()]
    rows, failed = [], []
    for path in notebooks:
        try:
            row = time_notebook(path, timeout=args.timeout, save=args.save)
        except CellExecutionError as error:  # go on with the others; the failing notebook is left as it was
            print(f"{path}: FAILED\n{str(error)[-2000:]}", file=sys.stderr, flush=True)
            failed.append(path)
            continue
        print(f"{path}: {row['seconds']:.1f} s (slowest cell {row['slowest']:.1f} s)", file=sys.stderr, flush=True)
        rows.append(row)
    if failed:
        print("failed: " + " ".join(map(str, failed)), file=sys.stderr)
        return 1
    table = markdown_table(rows)
    print(table)
    if args.update:
        update_file(args.update, table)
        print(f"updated {args.update}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
