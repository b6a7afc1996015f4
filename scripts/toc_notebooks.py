"""Print the chapter notebooks listed in _toc.yml, one per line (used by the Makefile)."""

from pathlib import Path
import re
import sys

ROOT = Path(__file__).resolve().parent.parent


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Notebooks (``.ipynb``) named in ``_toc.yml``, in the order of the table of contents."""
    found = []
    for entry in re.findall(r"(?:file|root):\s*([^\s#]+)", (root / "_toc.yml").read_text()):
        path = root / (entry if entry.endswith(".ipynb") else entry + ".ipynb")
        if path.is_file():
            found.append(path.relative_to(root))
    return found


if __name__ == "__main__":
    sys.stdout.write("\n".join(str(p) for p in toc_notebooks()) + "\n")
