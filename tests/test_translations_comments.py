"""The Chinese notebooks: code comments translated (and nothing else in the code), published under zh/.

``cnncourse.publishing.comments`` keys each comment's translation by the hash of its English
text; ``scripts/translations.py notebooks`` writes ``zh/<page>.ipynb`` (markdown from
``i18n/zh/<page>.md``, comments from ``i18n/zh/comments/<page>.txt``, code and outputs as in
English), which the Chinese pages' launch buttons open.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnncourse.publishing import comments, translations

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_PAGES = translations.notebook_pages()
CJK = re.compile(r"[\u4e00-\u9fff]")


def _entries(**chinese):
    """Store entries ``{key: ("", chinese)}`` from English text -> Chinese."""
    return {comments.comment_key(english): ("", text) for english, text in chinese.items()}


# ------------------------------------------------------------------------------ the mechanism


def test_only_comment_tokens_change():
    source = (
        'label = "# not a comment"  # the label\n'
        "x = '''\n# inside a string\n'''\n"
        "# the label\n"
        "import cnncourse  # noqa: F401\n"
        "y = 1  # NBVAL_IGNORE_OUTPUT\n"
        "%matplotlib inline  # the label\n"
        "z = 2  # the label  # noqa: E501\n"
    )
    entries = _entries(**{"the label": "标签", "inside a string": "错", "not a comment": "错"})
    out = comments.translate_source(source, entries)
    assert out == (
        'label = "# not a comment"  # 标签\n'
        "x = '''\n# inside a string\n'''\n"
        "# 标签\n"
        "import cnncourse  # noqa: F401\n"
        "y = 1  # NBVAL_IGNORE_OUTPUT\n"
        "%matplotlib inline  # the label\n"
        "z = 2  # 标签  # noqa: E501\n"
    )
    assert comments.strip_comments(out) == comments.strip_comments(source)
    assert comments.cell_comments(source) == ["the label", "the label", "the label"]


def test_markers_shapes_and_shebangs_are_not_translatable():
    assert not comments.translatable("NBVAL_CHECK_OUTPUT")
    assert not comments.translatable("noqa: F401")
    assert not comments.translatable("type: ignore")
    assert not comments.translatable("(3, 2)")
    assert comments.translatable("(N,) integer labels")
    assert comments.cell_comments("#!/usr/bin/env python\nx = 1  # one\n") == ["one"]


def test_a_cell_that_does_not_tokenize_is_left_alone():
    source = "def f(:\n    return 1  # one\n"
    assert comments.translate_source(source, _entries(one="一")) == source


def test_comments_are_keyed_by_their_text_not_their_place():
    entries = _entries(**{"the gradient": "梯度"})
    assert comments.translate_source("a = 1  # the gradient\n", entries) == "a = 1  # 梯度\n"
    assert comments.translate_source("b = f(a)\n    #   the gradient  \n", entries) == "b = f(a)\n    #   梯度  \n"
    assert comments.translate_source("a = 1  # the gradients\n", entries) == "a = 1  # the gradients\n"


@pytest.mark.parametrize("english, chinese, problem", [
    ("(N, H, W, C_in), float64", "(N, H, W)，float64", "lost 'C_in'"),
    ("the 0.74 of always answering 'pneumonia'", "总答“肺炎”的比例", "lost '0.74'"),
    ("set_seed inside", "内部设定种子", "lost 'set_seed'"),
    ("the label", "the label, still English", "no Chinese"),
])
def test_a_damaged_comment_translation_is_caught(english, chinese, problem):
    assert any(problem in found for found in comments.damage(english, chinese))


def test_faithful_comment_translations_pass():
    assert comments.damage("(N, H, W, C_in), float64", "(N, H, W, C_in)，float64") == []
    assert comments.damage("(3, 2)", "(3, 2)") == []
    assert comments.damage("dL/dy, (1, 2)", "dL/dy, (1, 2)") == []  # notation, kept verbatim on purpose
    assert comments.damage("(N, H, W, C_in) = (1, 5, 5, 1)", "(N, H, W, C_in) = (1, 5, 5, 1)") == []
    assert comments.damage("step 3", "step 3")  # English words: not notation


def test_skeleton_reuses_known_translations_and_keeps_stale_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(comments, "STORE", tmp_path)
    notebook = {"cells": [{"cell_type": "code", "source": ["a = 1  # one\n", "b = 2  # two\n"]}]}
    known = {comments.comment_key("one"): "一"}
    path = comments.skeleton("chapters/xx", notebook, known)
    status = comments.page_status("chapters/xx", notebook)
    assert (status["comments"], status["translated"], [text for _, text in status["missing"]]) == (2, 1, ["two"])
    path.write_text(path.read_text(encoding="utf-8").replace(" untranslated]", "]").replace("zh: \n", "zh: 二\n"),
                    encoding="utf-8")
    assert comments.page_status("chapters/xx", notebook)["translated"] == 2
    notebook["cells"][0]["source"] = ["a = 1  # one!\n"]
    comments.skeleton("chapters/xx", notebook)
    status = comments.page_status("chapters/xx", notebook)
    assert len(status["stale"]) == 2 and [text for _, text in status["missing"]] == ["one!"]


# ------------------------------------------------------------------------------- the book's notebooks


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_comment_has_a_fresh_intact_translation(page):
    notebook = json.loads(translations.source_path(page).read_text(encoding="utf-8"))
    status = comments.page_status(page, notebook)
    problems = [f"missing: {key} {text!r}" for key, text in status["missing"]]
    problems += [f"stale: {key}" for key in status["stale"]]
    problems += [f"damaged: {key}: {'; '.join(found)}" for key, found in status["damaged"]]
    assert not problems, (f"{page}: python scripts/translations.py skeleton {page}, then translate "
                          f"i18n/zh/comments/{page}.txt:\n  " + "\n  ".join(problems[:20]))
    assert status["translated"] == status["comments"] > 0


def test_the_committed_chinese_notebooks_are_fresh():
    assert translations.stale_notebooks() == [], "run: python scripts/translations.py notebooks"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_a_chinese_notebook_is_the_english_one_with_chinese_prose_and_comments(page):
    english = json.loads(translations.source_path(page).read_text(encoding="utf-8"))
    path = translations.NOTEBOOKS / (page + ".ipynb")
    chinese = json.loads(path.read_text(encoding="utf-8"))
    assert chinese["metadata"] == english["metadata"] and len(chinese["cells"]) == len(english["cells"]), page
    translated = 0
    for before, after in zip(english["cells"], chinese["cells"]):
        assert after["cell_type"] == before["cell_type"] and after["metadata"] == before["metadata"], page
        if before["cell_type"] != "code":
            continue
        assert after["outputs"] == before["outputs"] and after["execution_count"] == before["execution_count"], page
        source, translation = "".join(before["source"]), "".join(after["source"])
        assert comments.strip_comments(translation) == comments.strip_comments(source), (
            f"{page}: cell {before.get('id')}: the code differs beyond its comments")
        pairs = list(zip(comments.comments_in(source), comments.comments_in(translation)))
        assert len(pairs) == len(comments.comments_in(source)) == len(comments.comments_in(translation)), page
        for (_, _, token), (_, _, chinese_token) in pairs:
            if comments.translatable(comments._split(token)[1]):
                english_text, chinese_text = comments._split(token)[1], comments._split(chinese_token)[1]
                assert comments.is_chinese(english_text, chinese_text), f"{page}: comment {token!r} is still English"
                assert comments._split(chinese_token)[2] == comments._split(token)[2], f"{page}: {token!r} lost its marker"
                translated += 1
            else:  # markers (NBVAL_*, noqa), shapes: verbatim
                assert chinese_token == token, page
        assert re.findall(r"#\s*NBVAL_\w+", source) == re.findall(r"#\s*NBVAL_\w+", translation), page
    assert translated == len(comments.notebook_comments(english)) > 0, page
    prose = "".join("".join(cell["source"]) for cell in chinese["cells"] if cell["cell_type"] == "markdown")
    assert len(CJK.findall(prose)) > 200, f"{page}: little Chinese in the Chinese notebook's markdown"


def test_the_chinese_book_launches_the_chinese_notebooks():
    config = translations.chinese_config((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert re.search(r'^\s*path_to_book: "zh"\s*$', config, re.MULTILINE), config
    assert re.search(r"^\s*colab_url: \S+", config, re.MULTILINE) and re.search(r"^\s*binderhub_url: \S+", config, re.MULTILINE)
    for page in NOTEBOOK_PAGES:  # Jupyter Book's launch URL: <path_to_book>/<page>.ipynb in the repository
        assert (ROOT / "zh" / f"{page}.ipynb").is_file(), page


def test_the_chinese_tree_holds_the_committed_notebooks(tmp_path):
    """The Chinese book (and its download button) serves exactly the notebooks that launch buttons open."""
    tree = translations.build_tree(tmp_path / "zh")
    for page in NOTEBOOK_PAGES:
        built = (tree / f"{page}.ipynb").read_text(encoding="utf-8")
        assert built == (translations.NOTEBOOKS / f"{page}.ipynb").read_text(encoding="utf-8"), page
