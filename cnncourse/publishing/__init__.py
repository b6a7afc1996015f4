"""What the book's scripts share: the table of contents, the Chinese translations and their code comments.

``scripts/*.py`` are thin command lines over these modules. They work on the repository checkout
(``ROOT``, the folder that holds ``_toc.yml``), not on an installed copy, and import Jupyter's
libraries only inside functions; ``import cnncourse`` never imports this package.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: _toc.yml, chapters/, i18n/
