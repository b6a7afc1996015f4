"""Showing the package's own code inside a chapter, so chapters never paste copies."""

from __future__ import annotations

import inspect


def show_source(obj):
    """Display the source of a function, class or module from ``cnncourse``.

    Returns an ``IPython.display.Code`` object, which renders with syntax colouring in
    Jupyter and in the book, and as plain text elsewhere.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")
