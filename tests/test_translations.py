"""The Chinese edition: every English unit has a fresh, intact translation, and the build keeps the code.

``scripts/translations.py`` keys each translation by the hash of the English it was made
from, so an edited English cell shows up here as missing (and its old translation as stale)
until it is translated again: ``python scripts/translations.py skeleton PAGE`` adds it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts" / "translations.py")
translations = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(translations)
PAGES = translations.toc_pages()


@pytest.mark.parametrize("page", PAGES)
def test_every_unit_has_a_fresh_intact_translation(page):
    status = translations.page_status(page)
    problems = [f"missing: unit {index} ({key}) {first!r}" for index, key, first in status["missing"]]
    problems += [f"stale: entry {key} translates English that is no longer on the page" for key in status["stale"]]
    problems += [f"damaged: unit {index} ({key}): {'; '.join(found[:3])}" for index, key, found in status["damaged"]]
    assert not problems, (
        f"{page}: {len(problems)} of {status['units']} units need work "
        f"(python scripts/translations.py skeleton {page}):\n  " + "\n  ".join(problems[:20])
    )


ENGLISH = """## Stride

:::{exercise} Pooling with a stride
:label: ex-04-pool2d
Write `pool2d(x, stride)` for $x$ of shape $(H, W)$; see {doc}`the chapter <../chapters/03_convolution>`
and [MedMNIST](https://medmnist.com), {cite}`yang2023medmnist`.
:::

$$
y = \\max x
$$
"""

CHINESE = """## 步幅

:::{exercise} 带步幅的池化
:label: ex-04-pool2d
编写 `pool2d(x, stride)`，其中 $x$ 的形状为 $(H, W)$；参见{doc}`该章 <../chapters/03_convolution>`
与 [MedMNIST 数据集](https://medmnist.com)，{cite}`yang2023medmnist`。
:::

$$
y = \\max x
$$
"""


def test_a_faithful_translation_keeps_every_invariant():
    assert translations.damage(ENGLISH, CHINESE) == []


@pytest.mark.parametrize(
    "broken, lost",
    [
        (CHINESE.replace("$(H, W)$", "(H, W)"), "$(H, W)$"),
        (CHINESE.replace("`pool2d(x, stride)`", "pool2d"), "pool2d(x, stride)"),
        (CHINESE.replace(":label: ex-04-pool2d", ":label: ex-04-池化"), "ex-04-pool2d"),
        (CHINESE.replace("<../chapters/03_convolution>", "<../chapters/04_pooling>"), "03_convolution"),
        (CHINESE.replace("https://medmnist.com", "https://medmnist.cn"), "https://medmnist.com"),
        (CHINESE.replace("{cite}`yang2023medmnist`", ""), "yang2023medmnist"),
        (CHINESE.replace("y = \\max x", "y = \\max(x)"), "max x"),
        (CHINESE.replace("## 步幅", "步幅"), "heading"),
        (CHINESE.replace(":::{exercise} 带步幅的池化", "**带步幅的池化**"), "exercise"),
    ],
)
def test_a_damaged_translation_is_caught(broken, lost):
    problems = translations.damage(ENGLISH, broken)
    assert problems and any(lost in problem for problem in problems), problems


def test_units_are_keyed_by_their_english(tmp_path):
    assert translations.unit_key("Some text.") == translations.unit_key("\nSome text.\n")
    assert translations.unit_key("Some text.") != translations.unit_key("Some text!")
    assert not translations.needs_translation(":::{solution-end}\n:::")
    assert translations.needs_translation("## Summary")


def test_markdown_pages_split_at_headings_outside_fences():
    text = "# Title\n\nIntro.\n\n```python\n# not a heading\n```\n\n## Part\n\nBody.\n"
    assert translations.split_markdown(text) == ["# Title\n\nIntro.\n\n```python\n# not a heading\n```", "## Part\n\nBody."]


def test_the_chinese_tree_keeps_code_and_outputs(tmp_path):
    tree = translations.build_tree(tmp_path / "zh")
    config = (tree / "_config.yml").read_text(encoding="utf-8")
    assert "language: zh_CN" in config and 'language_switch_root: "../"' in config
    toc = (tree / "_toc.yml").read_text(encoding="utf-8")
    assert "caption: 课程" in toc and "caption: The course" not in toc
    assert translations.toc_pages(tree / "_toc.yml") == PAGES
    for page in PAGES:
        english_path = translations.source_path(page)
        chinese_path = tree / english_path.relative_to(ROOT)
        if english_path.suffix != ".ipynb":
            assert chinese_path.read_text(encoding="utf-8").strip()
            continue
        english = json.loads(english_path.read_text(encoding="utf-8"))["cells"]
        chinese = json.loads(chinese_path.read_text(encoding="utf-8"))["cells"]
        assert [cell["cell_type"] for cell in chinese] == [cell["cell_type"] for cell in english], page
        for before, after in zip(english, chinese):
            if before["cell_type"] == "code":
                assert after == before, f"{page}: code cell {before.get('id')} changed in the Chinese notebook"
            else:
                assert after["metadata"] == before["metadata"], page
        changed = sum("".join(a["source"]) != "".join(b["source"]) for a, b in zip(chinese, english) if b["cell_type"] == "markdown")
        assert changed >= 1, f"{page}: no markdown cell of the Chinese notebook differs from the English one"


def test_the_translation_files_cover_exactly_the_pages():
    files = sorted(path.relative_to(translations.I18N).with_suffix("").as_posix() for path in translations.I18N.rglob("*.md"))
    assert files == sorted(PAGES), "one translation file per page of _toc.yml, and no other"


# Terms whose English is unambiguous in prose: wherever a unit uses one, its translation uses
# the glossary's Chinese for it (the first form in the 中文 column).
GLOSSARY_TERMS = [
    "convolution layer", "pooling layer", "max pooling", "average pooling", "fully connected layer", "loss function",
    "activation function", "sensitivity", "specificity", "overfitting", "cross-entropy", "learning rate",
    "feature map", "receptive field", "backpropagation", "transfer learning", "federated learning",
]


def _glossary() -> dict[str, str]:
    """English term -> its first Chinese form, from the tables of book/glossary.md."""
    terms = {}
    for line in (ROOT / "book" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("English", "") or set(cells[0]) <= set("-: "):
            continue
        chinese = re.split(r"[(（,，、;；/]", cells[1])[0].strip()
        for english in re.split(r"[,;]\s*", re.sub(r"\(.*?\)", "", cells[0])):
            terms.setdefault(english.strip().lower(), chinese)
    return terms


def test_translations_use_the_glossary_terms():
    glossary = _glossary()
    missing = [term for term in GLOSSARY_TERMS if term not in glossary]
    assert not missing, f"terms not in book/glossary.md: {missing}"
    problems = []
    for page in PAGES:
        entries = translations.read_translations(page)
        for unit in translations.english_units(page):
            state, chinese = entries.get(translations.unit_key(unit), ("untranslated", ""))
            if state:
                continue  # reported by test_every_unit_has_a_fresh_intact_translation
            for term in GLOSSARY_TERMS:
                if re.search(rf"\b{re.escape(term)}", unit, re.IGNORECASE) and glossary[term] not in chinese:
                    problems.append(f"{page} unit {translations.unit_key(unit)}: {term!r} is not rendered {glossary[term]!r}")
    assert not problems, "\n".join(problems[:20])
