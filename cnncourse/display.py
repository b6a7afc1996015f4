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


def draw_grid(axis, values, title, windows=(), cmap="Greys", fmt="{:g}", vmin=None, vmax=None):
    """Draw a small 2-D array as a grid of cells with their values written in.

    The chapters' worked examples (a 5 × 5 image and its kernel, a 4 × 4 feature map and
    its pooling windows) use it, so a reader can follow each sum by hand.

    Parameters
    ----------
    axis : a matplotlib ``Axes``
    values : array-like ``(rows, cols)`` of numbers
    title : str
    windows : sequence of ``(row, col, height, width)`` or ``(row, col, height, width, colour)``;
        each is outlined (in orange when no colour is given)
    cmap, vmin, vmax : the colour map of the cells' faint background, as in ``imshow``
    fmt : format of each written value, e.g. ``"{:g}"`` or ``"{:.1f}"``
    """
    import numpy as np
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"values must be a 2-D grid (rows, cols), got shape {values.shape}")
    windows = [tuple(window) for window in windows]
    for window in windows:
        if len(window) not in (4, 5):
            raise ValueError(f"each window must be (row, col, height, width[, colour]), got {window!r}")
    axis.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, alpha=0.35)
    for (row, col), value in np.ndenumerate(values):
        axis.text(col, row, fmt.format(value), ha="center", va="center", fontsize=11)
    axis.set_xticks(range(values.shape[1])), axis.set_yticks(range(values.shape[0]))
    axis.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    axis.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    axis.grid(which="minor", color="grey", linewidth=0.5)
    axis.tick_params(which="both", length=0, labelsize=8)
    for row, col, height, width, *colour in windows:
        # Slightly inset, so that neighbouring windows of different colours stay visible.
        axis.add_patch(Rectangle((col - 0.45, row - 0.45), width - 0.1, height - 0.1, fill=False,
                                 edgecolor=colour[0] if colour else "tab:orange", linewidth=3))
    axis.set_title(title, fontsize=11)


def glue(name: str, value, display: bool = False):
    """Store ``value`` under ``name`` for the prose (MyST-NB's ``{glue:text}`name:.3f```), printing nothing.

    A NumPy scalar is stored as the Python number it holds: NumPy 2 writes ``np.float64(0.5)`` as
    its text, which MyST-NB cannot format as a number.
    """
    from myst_nb import glue as myst_glue

    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    return myst_glue(name, value, display=display)
