"""Drop duplicate inline <script> blocks from every page.

With Sphinx 7.4, an inline script that an extension adds in ``builder-inited`` or later
(sphinx-togglebutton's selector, sphinx-thebe's ``const THEBE_JS_URL = ...``) is
registered once with the file name ``None`` and once more with ``''``; the two do not
compare equal, so the page gets both, and the second ``const`` declaration is a
JavaScript error ("Identifier 'THEBE_JS_URL' has already been declared") in every
reader's console. The browser test (tests/test_site.py) checks for such errors.
"""

from __future__ import annotations


def _key(script) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(filename), tuple(sorted((name, str(value)) for name, value in attributes.items())))


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
