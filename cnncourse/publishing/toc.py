"""The one reader of ``_toc.yml``: the book's pages in the order of its table of contents.

``toc_pages()`` gives every page (the ``root`` and each ``file`` entry, at any depth of parts,
chapters and sections) without its suffix, e.g. ``book/intro``, ``chapters/03_convolution``;
``toc_notebooks`` and ``toc_chapters`` pick the files among them.
"""

from __future__ import annotations

from pathlib import Path

from . import ROOT

SUFFIXES = (".ipynb", ".md")


def _entries(node) -> list[str]:
    """``file`` (and ``root``) entries of a parsed ``_toc.yml`` node, depth first, in order."""
    found = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                found += _entries(child)
    return found


def toc_pages(toc_path: Path | None = None) -> list[str]:
    """The pages of ``_toc.yml`` (default: the repository's), in order, without suffix."""
    import yaml

    path = Path(toc_path) if toc_path is not None else ROOT / "_toc.yml"
    toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(toc, dict) or "root" not in toc:
        raise ValueError(f"{path} is not a Jupyter Book table of contents (no 'root' entry)")
    return [_without_suffix(entry) for entry in _entries(toc)]


def _without_suffix(entry: str) -> str:
    for suffix in SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


def page_file(page: str, root: Path = ROOT) -> Path | None:
    """The source of ``page`` under ``root``: ``page.ipynb`` or ``page.md``, whichever exists, else None."""
    for suffix in SUFFIXES:
        path = Path(root) / (page + suffix)
        if path.is_file():
            return path
    return None


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of the table of contents, in order, as paths relative to ``root``."""
    root = Path(root)
    return [Path(page + ".ipynb") for page in toc_pages(root / "_toc.yml") if (root / (page + ".ipynb")).is_file()]


def toc_chapters(root: Path = ROOT) -> list[Path]:
    """The chapter files (``.ipynb`` or ``.md`` under ``chapters/``), in order, relative to ``root``."""
    root = Path(root)
    files = [page_file(page, root) for page in toc_pages(root / "_toc.yml") if page.split("/")[0] == "chapters"]
    return [path.relative_to(root) for path in files if path is not None]
