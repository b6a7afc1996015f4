"""One setting for the repository URL: ``repository.url`` in ``_config.yml``.

Everything else that names the repository follows it: the README's badges, CITATION.cff,
the instructors' guide and the setup cell at the top of every chapter (which installs the
course's package in Colab). Run

    python scripts/set_repository.py https://github.com/OWNER/REPO   # set it, rewrite every place
    python scripts/set_repository.py --setup-cells                    # (re)write the chapters' setup cells
    python scripts/set_repository.py --check                          # exit 1 if any place disagrees

after forking, then re-run ``make test``. ``tests/test_publishing.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from . import ROOT, toc

CONFIG = ROOT / "_config.yml"
TEXT_PLACES = ("README.md", "CITATION.cff", "book/instructors.md")
SETUP_CELL_ID = "colab-setup"
SETUP_TAG = "remove-cell"  # the book hides it; Colab users see and run it
DICOM_DATA_CHAPTERS = ("03_convolution", "09_dicom")  # chapters that read pydicom-data's files
NO_GPU_CHAPTERS = ("02_core_concepts",)  # trains nothing: a CPU runtime is enough
URL_PATTERN = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$")


def repository_url(root: Path = ROOT) -> str:
    """The ``repository.url`` of ``_config.yml``."""
    match = re.search(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", (root / "_config.yml").read_text(encoding="utf-8"),
                      re.MULTILINE)
    if not match:
        raise SystemExit("_config.yml has no repository.url")
    return match.group(1)


def pages_url(url: str) -> str:
    """GitHub Pages address of the repository: https://OWNER.github.io/REPO/."""
    owner, repo = _parts(url)
    return f"https://{owner}.github.io/{repo}/"


def _parts(url: str) -> tuple[str, str]:
    match = URL_PATTERN.match(url)
    if not match:
        raise SystemExit(f"the repository URL must look like https://github.com/OWNER/REPO, got {url!r}")
    return match.group(1), match.group(2)


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks of ``_toc.yml``, in order, as paths under ``root``."""
    return [root / path for path in toc.toc_notebooks(root)]


def setup_source(url: str, chapter: str) -> str:
    """The first code cell of ``chapter``: installs the package only when it cannot be imported."""
    extras = "keras,dicom-data" if chapter in DICOM_DATA_CHAPTERS else "keras"
    return (
        "# Setup for Colab and other fresh machines: install the course's package if it is missing.\n"
        "# Where cnncourse is installed (`make lab`, JupyterHub) this cell does nothing.\n"
        "try:\n"
        "    import cnncourse  # noqa: F401\n"
        "except ImportError:\n"
        "    import importlib, subprocess, sys\n"
        "\n"
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "cnncourse[{extras}] @ git+{url}"])\n'
        "    importlib.invalidate_caches()  # let this running kernel find the new package"
    )


def write_setup_cells(url: str, root: Path = ROOT, paths=None) -> list[Path]:
    """Insert or refresh the setup cell (first code cell) of every chapter notebook (or of ``paths``); return the changed ones."""
    changed = []
    for path in toc_notebooks(root) if paths is None else [Path(p) for p in paths]:
        notebook = nbformat.read(path, as_version=4)
        source = setup_source(url, path.stem)
        existing = [cell for cell in notebook.cells if cell.get("id") == SETUP_CELL_ID]
        if existing:
            cell = existing[0]
            if cell.source == source:
                continue
            cell.source = source
        else:
            cell = nbformat.v4.new_code_cell(source, id=SETUP_CELL_ID, metadata={"tags": [SETUP_TAG]})
            first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
            notebook.cells.insert(first_code, cell)
        if path.stem not in NO_GPU_CHAPTERS:
            notebook.metadata["accelerator"] = "GPU"  # Colab opens the chapter with a GPU runtime where one is free
        nbformat.write(notebook, path)
        changed.append(path)
    return changed


def problems(root: Path = ROOT) -> list[str]:
    """Every place that does not name the configured repository."""
    url = repository_url(root)
    found = []
    for name in TEXT_PLACES:
        text = (root / name).read_text(encoding="utf-8")
        if url not in text:
            found.append(f"{name} does not mention {url}")
        for other in set(re.findall(r"https://github\.com/[A-Za-z0-9_.-]+/cnncourse\b", text)) - {url}:
            found.append(f"{name} names another repository: {other}")
    readme = (root / "README.md").read_text(encoding="utf-8")
    if pages_url(url) not in readme:
        found.append(f"README.md does not link the book at {pages_url(url)}")
    for path in toc_notebooks(root):
        cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.get("id") == SETUP_CELL_ID]
        if not cells:
            found.append(f"{path.relative_to(root)} has no setup cell (id {SETUP_CELL_ID!r})")
        elif cells[0].source != setup_source(url, path.stem):
            found.append(f"{path.relative_to(root)}: its setup cell does not install from {url}")
    return found


def set_url(new: str, root: Path = ROOT) -> None:
    _parts(new)
    old = repository_url(root)
    config = (root / "_config.yml").read_text(encoding="utf-8")
    (root / "_config.yml").write_text(config.replace(f"url: {old}", f"url: {new}", 1), encoding="utf-8")
    for name in TEXT_PLACES:
        path = root / name
        text = path.read_text(encoding="utf-8").replace(old, new).replace(pages_url(old), pages_url(new))
        path.write_text(text, encoding="utf-8")
    write_setup_cells(new, root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("url", nargs="?", help="the new repository URL, https://github.com/OWNER/REPO")
    group.add_argument("--check", action="store_true", help="report every place that disagrees with _config.yml")
    group.add_argument("--setup-cells", action="store_true", help="(re)write the chapters' setup cells")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for problem in found:
            print(problem, file=sys.stderr)
        print(f"{len(found)} place(s) disagree with repository.url = {repository_url()}")
        return 1 if found else 0
    if args.setup_cells:
        changed = write_setup_cells(repository_url())
        print(f"setup cells written in {len(changed)} notebook(s)")
        return 0
    set_url(args.url)
    print(f"repository.url is now {args.url}; every place follows it (re-execute nothing: the setup cell is a no-op here)")
    return 0


