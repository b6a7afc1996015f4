"""A link on every page to the same page in the book's other language.

The English book is built into ``_build/html`` and the Chinese one into ``_build/html/zh``
(``scripts/build_book.py``), with the same page names. Each build is told where the other's
root is, relative to its own root (``language_switch_root``: ``"zh/"`` from the English
book, ``"../"`` from the Chinese one), and the switch on page ``chapters/03_convolution``
then points to ``<root>/<other root>/chapters/03_convolution.html``. The page also gets a
``<link rel="alternate" hreflang=...>`` for search engines.
"""

from __future__ import annotations

import html


def _add_switch(app, pagename, templatename, context, doctree):
    root = app.config.language_switch_root
    if not root or "body" not in context:
        return
    href = "../" * pagename.count("/") + root + pagename + ".html"
    label = html.escape(app.config.language_switch_label)
    lang = html.escape(app.config.language_switch_hreflang)
    switch = (
        f'<p class="language-switch" style="text-align: right"><a class="language-switch-link" href="{html.escape(href)}" '
        f'hreflang="{lang}" lang="{lang}">{label}</a></p>\n'
    )
    context["body"] = switch + context["body"]
    context["metatags"] = context.get("metatags", "") + f'\n<link rel="alternate" hreflang="{lang}" href="{html.escape(href)}" />'


def setup(app):
    app.add_config_value("language_switch_root", "", "html")
    app.add_config_value("language_switch_label", "", "html")
    app.add_config_value("language_switch_hreflang", "", "html")
    app.connect("html-page-context", _add_switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
