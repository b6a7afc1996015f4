"""The Chinese edition: every English unit has a fresh, intact translation, and the build keeps the code.

``cnncourse.publishing.translations`` (``scripts/translations.py``) keys each translation by the hash of the English it was made
from, so an edited English cell shows up here as missing (and its old translation as stale)
until it is translated again: ``python scripts/translations.py skeleton PAGE`` adds it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnncourse.publishing import interface, translations

ROOT = Path(__file__).resolve().parents[1]
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
                # Only the comments are translated (tests/test_translations_comments.py): code and outputs stay.
                same = {**after, "source": translations.comments.strip_comments("".join(after["source"]))}
                assert same == {**before, "source": translations.comments.strip_comments("".join(before["source"]))}, (
                    f"{page}: code cell {before.get('id')} changed in the Chinese notebook")
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


# --- Chinese typography, references and vocabulary (``check``'s style rules) ---------------------


@pytest.mark.parametrize("page", PAGES)
def test_the_chinese_sources_keep_the_style_rules(page):
    status = translations.page_status(page)
    problems = [f"unit {index} ({key}): {problem}" for index, key, found in status["style"] for problem in found]
    assert not problems, f"{page} (python scripts/translations.py check):\n  " + "\n  ".join(problems[:20])


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("卷积层让一个小网格在图像上\n滑动。", "line break between CJK"),
        ("卷积层(convolution layer)让一个小网格滑动。", "half-width parentheses"),
        ("训练三个轮次 (epoch)，再评估。", "half-width parentheses"),
        ("这叫作「池化」。", "corner bracket"),
        ("海马体只占 {glue:text}`share:.1f` % 的像素。", "percent"),
        ("准确率约为 95 %。", "percent"),
        ("详见 {doc}`07b_training_deeper` 第 2 节。", "bare {doc}"),
        ("评分方式见 {ref}`grading`。", "bare {ref}"),
        ("本课程软件包中的检查器。", "'程序包'"),
        ("检查程序会报告遗漏了翻转。", "'检查器'"),
        ("两次池化使其后每一层的步长加倍。", "'步幅'"),
        ("## 练习", "'习题'"),
        ("每个卷积之后接批归一化。", "'批量归一化'"),
        ("Grad-CAM 热图的峰值。", "'热力图'"),
        ("损失停留在基础率的水平。", "'基础比率'"),
    ],
)
def test_a_style_problem_is_flagged(text, flagged):
    problems = translations.style_problems(text)
    assert any(flagged in problem for problem in problems), problems


@pytest.mark.parametrize(
    "text",
    [
        "卷积层（convolution layer）让一个小网格在图像上滑动，占 {glue:text}`share:.1f`% 的像素。",
        "(a) 三个步幅为 1 的卷积。(b) 形状为 (H, W) 的图像，缩放 1/(1-rate) 倍。",
        "函数 $f(x) = \\max(0, x)$ 与 `np.maximum(0, x)` 相同；见 [文档](https://example.org/a_(b))。",
        "详见{doc}`训练更深的卷积网络 <07b_training_deeper>`一章。",
        "> 原文：卷积神经网络(Convolutional Neural Networks,CNN)是一种深度学习技术,\n> 它在图像识别「等」领域",
        "SGD 的步长与梯度成正比；优化器的步长过大会杀死单元。",
        "形成性练习，无需评分。",
        "```python\nx = 1  # 中文\n# 注释\n```",
        "一行中文\nand English on the next line.",
    ],
)
def test_good_chinese_is_not_flagged(text):
    assert translations.style_problems(text) == []


def test_the_build_joins_lines_between_cjk_characters_and_nothing_else():
    text = "使第一层的输出\n落在合适的范围内。\n\n## 标题\n正文从这里开始，\nthen English.\n\n```python\n# 第一行\n# 第二行\n```"
    joined = translations.join_cjk_lines(text)
    assert "使第一层的输出落在合适的范围内。" in joined
    assert "## 标题\n正文" in joined and "，\nthen" in joined and "# 第一行\n# 第二行" in joined
    assert translations.full_width_parentheses("卷积层 (convolution layer) 把图像变小，$f(x)$ (a) 不变。") == \
        "卷积层（convolution layer）把图像变小，$f(x)$ (a) 不变。"


def test_the_vocabulary_names_the_glossary_terms():
    rules = translations.vocabulary()
    preferred = {rule["preferred"] for rule in rules}
    assert {"基础比率", "程序包", "检查器", "热力图", "步幅", "习题", "批量归一化"} <= preferred
    glossary = translations.translation_path("book/glossary").read_text(encoding="utf-8")
    assert "| stride | 步幅 |" in glossary and "| batch normalization | 批量归一化 |" in glossary
    assert "d2l-zh" in glossary and "批量规范化" in glossary and "暂退法" in glossary and "汇聚层" in glossary


# --- search and interface of the Chinese book -------------------------------------------------------

SEARCH_TERMS = ["卷积神经网络", "卷积核", "过拟合", "批量归一化", "特异度", "反向传播", "学习率", "损失函数", "感受野", "全连接层"]


def test_chinese_search_knows_the_course_terms(tmp_path):
    terms = translations.search_terms()
    assert set(SEARCH_TERMS) <= set(terms)
    pytest.importorskip("jieba")
    from sphinx.search.zh import SearchChinese

    dictionary = translations.write_search_dictionary(tmp_path / "dict.txt")
    words = SearchChinese({"dict": str(dictionary)}).split("本课程讲" + "、".join(SEARCH_TERMS) + "。")
    assert [term for term in SEARCH_TERMS if term not in words] == []


def test_the_chinese_config_sets_the_interface_and_search(tmp_path):
    config = translations.chinese_config((ROOT / "_config.yml").read_text(encoding="utf-8"), tmp_path / "dict.txt")
    assert f'author: "{translations.AUTHOR}"' in config and "The cnncourse authors" not in config
    assert 'togglebutton_hint: "点击显示"' in config and 'togglebutton_hint_hide: "点击隐藏"' in config
    assert f'html_search_options: {{dict: "{(tmp_path / "dict.txt").as_posix()}"}}' in config
    assert "chinese_interface: book/_ext" in config
    tree = translations.build_tree(tmp_path / "zh")
    assert (tree / translations.SEARCH_DICTIONARY).read_text(encoding="utf-8").split() == translations.search_terms()


def test_the_interface_strings_are_replaced_outside_the_prose():
    page = ('<link rel="next" title="x" href="a.html" /><input placeholder="Search this book..." />'
            '<span class="btn__text-container">Repository</span><button title="列印成 PDF"></button>'
            '<article class="bd-article"><p>Repository</p><pre><span class="nb">next</span></pre></article>'
            '<p class="prev-next-subtitle">next</p>')
    translated = interface.translate_interface(page)
    assert 'rel="next"' in translated and 'placeholder="搜索本书……"' in translated
    assert ">代码仓库<" in translated and 'title="打印为 PDF"' in translated and ">下一页<" in translated
    assert "<p>Repository</p>" in translated and '<span class="nb">next</span>' in translated
    exercise = ('<p class="admonition-title"><span class="caption-number">练习 13 </span> (带步幅的池化)</p>'
                '<p class="admonition-title">解答<a class="reference internal" href="#ex-04-pool2d"> 练习 13 (带步幅的池化)</a></p>')
    assert interface.translate_exercises(exercise) == (
        '<p class="admonition-title"><span class="caption-number">习题 13</span>（带步幅的池化）</p>'
        '<p class="admonition-title">解答<a class="reference internal" href="#ex-04-pool2d">习题 13（带步幅的池化）</a></p>')
