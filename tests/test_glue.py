"""Every measured number in a chapter's prose comes from the cell that computes it.

A chapter's markdown may not hold a bare decimal, percentage, multiplier ("22,000×") or
duration ("13 s"): such a number is inserted with MyST-NB's glue (``{glue:text}`name:.3f```),
written in maths or a code span (a setting, such as ``learning_rate=0.001``), or listed in
``CITED`` below with its source. Section numbers ("chapter 3.4") and headings are not numbers
of this kind.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from cnncourse.publishing.toc import toc_pages

ROOT = Path(__file__).resolve().parents[1]

# Cited facts: (page, the exact text as written, its citation). Keep this list short.
CITED = [
    ("chapters/08_end_to_end", "0.944", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, PneumoniaMNIST: ResNet-18 (28) test AUC"),
    ("chapters/08_end_to_end", "0.962", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, PneumoniaMNIST: ResNet-50 (224) test AUC"),
    ("chapters/13_little_data", "0.901", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, BreastMNIST: ResNet-18 (28) test AUC"),
    ("chapters/13_little_data", "0.863", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, BreastMNIST: ResNet-18 (28) test ACC"),
    ("chapters/14_grades", "0.717", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, RetinaMNIST: ResNet-18 (28) test AUC"),
    ("chapters/14_grades", "0.524", "MedMNIST v2 (Yang et al. 2023), 2-D benchmark table, RetinaMNIST: ResNet-18 (28) test ACC"),
]

# Chapters whose prose is still being converted: the bare numbers each may still hold, and
# no others. An entry that disappears from the chapter must be removed here too, so the list
# only shrinks (see issue 22's note for what is left).
PENDING: dict[str, list[str]] = {}

_HIDDEN = [
    re.compile(r"\$\$.*?\$\$", re.S),                 # display maths
    re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$"),         # inline maths
    re.compile(r"```.*?```", re.S),                    # code blocks
    re.compile(r"`[^`\n]*`"),                          # code spans and roles' targets
    re.compile(r"\{glue:[a-z]+\}"),                    # glue roles (their targets are code spans)
    re.compile(r"\]\([^)]*\)"),                        # link targets
    re.compile(r"<!--.*?-->", re.S),                   # comments
    re.compile(r"^\s*:[a-z-]+:.*$", re.M),             # directive options (:width: 80%)
    re.compile(r"^#+ .*$", re.M),                      # headings
    re.compile(r"(?:[Cc]hapters?|[Ss]ections?|§|第)\s*\d+(?:\.\d+)+(?:\s*(?:and|to|,|–|-)\s*\d+(?:\.\d+)+)*"),  # section numbers
    re.compile(r"(?<![\d.])(?:3\.[1-5](?:\.[1-3])?|4\.[1-5]|6\.\d)(?![\d.]*\d)"),  # the seed's own section numbers (3.1.2, 3.4)
    re.compile(r"\d+(?:\.\d+)?\s*[×x]\s*\d+(?:\.\d+)?(?:\s*[×x]\s*\d+)*"),  # sizes: 3×3, 28 x 28 x 1
    re.compile(r"https?://\S+"),
    re.compile(r"\b2\.5-?D\b"),                         # the name "2.5-D" (three orthogonal slices)
]
_NUMBER = re.compile(
    r"(?<![\w.,])("
    r"\d[\d,]*\.\d+"                                   # a decimal: 0.965, 1.00
    r"|\d[\d,]*(?:\.\d+)?\s?%"                         # a percentage: 30 %, 1.5%
    r"|\d[\d,]*(?:\.\d+)?\s?×(?!\s*\d)"                # a multiplier: 22,000×
    r"|\d[\d,]*(?:\.\d+)?(?:\s(?:s|ms)|\s?(?:min|seconds|minutes))\b"  # a duration: 13 s, 2.9 min
    r")"
)


def bare_numbers(markdown: str) -> list[str]:
    """The measured-looking numbers left in ``markdown`` once maths, code and glue are removed."""
    for pattern in _HIDDEN:
        markdown = pattern.sub(" ", markdown)
    return [match.group(1).strip() for match in _NUMBER.finditer(markdown)]


def page_markdown(path: Path) -> list[str]:
    """The markdown of a page: its markdown cells, or the whole file for a Markdown page."""
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]


def chapter_pages() -> list[str]:
    return [page for page in toc_pages() if page.startswith("chapters/")]


def source_of(page: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / (page + suffix)).exists():
            return ROOT / (page + suffix)
    raise FileNotFoundError(page)


def violations(page: str, path: Path) -> list[str]:
    cited = {text for cited_page, text, _ in CITED if cited_page == page}
    return [number for cell in page_markdown(path) for number in bare_numbers(cell) if number not in cited]


@pytest.mark.parametrize("page", chapter_pages())
def test_no_bare_measured_numbers(page):
    found = violations(page, source_of(page))
    if page in PENDING:
        allowed = PENDING[page]
        new = [number for number in found if found.count(number) > allowed.count(number)]
        gone = [number for number in set(allowed) if allowed.count(number) > found.count(number)]
        assert not new, f"{page}: new bare numbers in the prose: {new}; glue them (see the module docstring)"
        assert not gone, f"{page}: {gone} no longer in the prose: remove them from PENDING in tests/test_glue.py"
        return
    assert not found, (f"{page}: numbers in the prose that no cell inserts: {found}. Glue them from the cell "
                       "that computes them ({glue:text}`name:format`), write a setting as code, or cite it in "
                       "tests/test_glue.py's CITED list.")


def test_the_scanner_fails_on_a_bare_number():
    fixture = ROOT / "tests" / "fixtures" / "bare_number.ipynb"
    assert violations("fixture", fixture) == ["0.973", "12 %", "22,000×", "13 s"]


def test_the_scanner_passes_glue_maths_code_sizes_and_sections():
    text = ("AUC {glue:text}`auc:.3f` for $p = 0.5$ with `learning_rate=0.001`, a 3×3 kernel on 28 × 28 images "
            "(chapter 3.4; see [the docs](https://example.org/v1.2)).\n\n## 3.1 卷积层\n\n:::{figure} a.png\n:width: 80%\n:::")
    assert bare_numbers(text) == []


def test_every_citation_is_used():
    for page, text, citation in CITED:
        assert citation, text
        assert any(text in cell for cell in page_markdown(source_of(page))), (page, text)
