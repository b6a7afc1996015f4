"""Serve MathJax 3 from the book itself, so formulas render offline.

The files come from the PyPI package ``django-static-mathjax`` (MathJax 3.2, Apache-2.0;
it has no dependencies). They are copied into ``_build/html/_static/mathjax`` and
Sphinx's ``mathjax_path`` points there, so the site needs no CDN: it works on a
laptop without internet, on CI, and on GitHub Pages alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# The bundle loads these on demand; the speech-rule engine (sre, ~15 MB) is left out.
_PARTS = ("tex-mml-chtml.js", "output", "input", "ui", "a11y", "adaptors", "core.js", "startup.js")


def _es5_dir() -> Path:
    import mathjax  # from django-static-mathjax

    return Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source, target = _es5_dir(), Path(app.outdir) / "_static" / "mathjax"
    for part in _PARTS:
        path = source / part
        if path.is_dir():
            shutil.copytree(path, target / part, dirs_exist_ok=True)
        elif path.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / part)


def _configure(app, config):
    _es5_dir()  # fail early, with an ImportError that names the package, if it is missing
    config.mathjax_path = "mathjax/tex-mml-chtml.js"


def setup(app):
    app.connect("config-inited", _configure, priority=900)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
