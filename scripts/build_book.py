"""Build both editions of the book: English into ``_build/html``, Chinese into ``_build/html/zh``.

    python scripts/build_book.py          # what `make book` runs
    python scripts/build_book.py -W       # warnings are errors, in both editions (`make test`)

The Chinese sources are generated from the English notebooks and ``i18n/zh/``
(``scripts/translations.py build``) into ``_build/zh/src`` and built as a second Jupyter
Book, whose HTML is then copied to ``_build/html/zh``. Neither edition executes a notebook:
both render the outputs stored in the English notebooks. The Chinese notebooks (markdown and
code comments translated) are also refreshed under ``zh/`` (``translations.py notebooks``), where
the Chinese pages' Colab and Binder buttons open them: commit them with the translations.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from cnncourse.publishing import ROOT, translations


def jupyter_book() -> str:
    local = Path(sys.executable).with_name("jupyter-book")
    return str(local) if local.exists() else "jupyter-book"


def build(strict: bool = False, clean: bool = False) -> Path:
    """Build both editions; returns ``_build/html``. Raises ``CalledProcessError`` when a build fails."""
    html = ROOT / "_build" / "html"
    zh_build = ROOT / "_build" / "zh"
    if clean:
        shutil.rmtree(html, ignore_errors=True)
        shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)
        shutil.rmtree(zh_build, ignore_errors=True)
    flags = ["-W", "--keep-going"] if strict else ["--keep-going"]
    subprocess.run([jupyter_book(), "build", *flags, "."], cwd=ROOT, check=True)
    translations.write_notebooks()  # zh/<page>.ipynb: what the Chinese pages' launch buttons open
    source = translations.build_tree(zh_build / "src")
    subprocess.run([jupyter_book(), "build", *flags, "--path-output", str(zh_build), str(source)], cwd=ROOT, check=True)
    target = html / "zh"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(zh_build / "_build" / "html", target)
    return html


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-W", dest="strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("--clean", action="store_true", help="remove earlier builds first")
    args = parser.parse_args(argv)
    try:
        html = build(strict=args.strict, clean=args.clean)
    except subprocess.CalledProcessError as error:
        print(f"book build failed: {' '.join(error.cmd)} exited with {error.returncode}", file=sys.stderr)
        return 1
    print(f"English: {html / 'index.html'}\nChinese: {html / 'zh' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
