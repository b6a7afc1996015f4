"""The Chinese edition's interface in Chinese: the theme's buttons, tooltips and labels.

The Sphinx extension ``book/_ext/chinese_interface.py`` (loaded only by the Chinese book:
``scripts/translations.py`` adds it to the generated ``_config.yml``) is this module's ``setup``.
sphinx-book-theme's zh_CN catalogue has Taiwanese wording ("列印成 PDF") and leaves strings
such as "Repository", "Open issue" and "Search this book..." in English, and the pydata
theme's labels ("Toggle primary sidebar", "Color mode") have no zh_CN catalogue at all. After the HTML is written, each page's interface strings are replaced by
the Chinese in ``STRINGS``, but only where an interface string stands on its own: a whole
attribute value (``title="Repository"``) or a whole element text (``>Repository<``), never
inside prose. The solution toggle's hints and the author line are plain settings
(``togglebutton_hint``, ``author``) in the generated config.
"""

from __future__ import annotations

import re
from pathlib import Path

# English interface string -> its Chinese. The keys are exactly what the themes write.
STRINGS = {
    "Search this book...": "搜索本书……",
    "Search": "搜索",
    "Repository": "代码仓库",
    "Source repositories": "源代码仓库",
    "Open issue": "提交问题",
    "列印成 PDF": "打印为 PDF",
    "Print to PDF": "打印为 PDF",
    "Toggle primary sidebar": "显示或隐藏左侧栏",
    "Toggle secondary sidebar": "显示或隐藏右侧栏",
    "Color mode": "配色模式",
    "System Settings": "跟随系统",
    "Light": "浅色",
    "Dark": "深色",
    "Launch interactive content": "启动交互式环境",
    "Launch on Binder": "在 Binder 中启动",
    "Launch on Colab": "在 Colab 中启动",
    "Binder logo": "Binder 标志",
    "Colab logo": "Colab 标志",
    "Link to this heading": "链接到此标题",
    "Link to this equation": "链接到此公式",
    "Link to this image": "链接到此图片",
    "Link to this table": "链接到此表格",
    "Link to this code": "链接到此代码",
    "Skip to main content": "跳到正文",
    "Back to top": "回到顶部",
    "Main": "主导航",
    "Page": "本页",
    "Section Navigation": "本节导航",
    "Site navigation": "站点导航",
    "Breadcrumb": "导航路径",
    "Contents": "目录",
    "previous": "上一页",
    "next": "下一页",
    "Previous": "上一页",
    "Next": "下一页",
    "Download this page": "下载本页",
    "Download source file": "下载源文件",
    "Download notebook file": "下载笔记本文件",
    "Fullscreen mode": "全屏模式",
    "Edit this page": "编辑本页",
    "Copy": "复制",
    "Copied!": "已复制！",
    "Copy to clipboard": "复制到剪贴板",
}

_ATTRIBUTE = re.compile(r'(\b(?:title|aria-label|placeholder|alt|data-bs-title|data-tooltip)=")([^"<>]+)(")')
_TEXT = re.compile(r"(>)(\s*)([^<>]+?)(\s*)(<)")


_ARTICLE = re.compile(r"(<article\b.*?</article>|<pre\b.*?</pre>|<script\b.*?</script>)", re.DOTALL)


# sphinx-exercise titles an exercise "练习 13 (title)" (its zh_CN catalogue): the book calls exercises 习题
# (i18n/zh/vocabulary.yml) and puts full-width parentheses around Chinese.
_EXERCISE_TITLE = re.compile(r'(<span class="caption-number">)练习 (\d+) </span> \(([^\n]*)\)(</p>)')
_SOLUTION_LINK = re.compile(r'(<a class="reference internal" href="#[^"]*">) ?练习 (\d+) \(([^\n]*?)\)(</a></p>)')


def translate_exercises(html: str) -> str:
    """Exercise titles and the solutions' links to them as ``习题 13（title）``."""
    html = _EXERCISE_TITLE.sub(r"\1习题 \2</span>（\3）\4", html)
    return _SOLUTION_LINK.sub(r"\1习题 \2（\3）\4", html)


def translate_interface(html: str) -> str:
    """``html`` with every standalone interface string of ``STRINGS`` in Chinese: in the values of
    title, aria-label, placeholder, alt and tooltip attributes anywhere, in element text only outside the page's article (its prose, code and outputs) and scripts."""
    html = _ATTRIBUTE.sub(lambda m: m.group(1) + STRINGS.get(m.group(2), m.group(2)) + m.group(3), html)
    parts = _ARTICLE.split(html)
    for index in range(0, len(parts), 2):  # the even parts lie outside <article>, <pre> and <script>
        parts[index] = _TEXT.sub(
            lambda m: m.group(1) + m.group(2) + STRINGS.get(m.group(3), m.group(3)) + m.group(4) + m.group(5), parts[index])
    return "".join(parts)


def _translate_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for path in Path(app.outdir).rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        translated = translate_exercises(translate_interface(text))
        if translated != text:
            path.write_text(translated, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _translate_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
