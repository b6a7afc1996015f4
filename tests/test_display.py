"""cnncourse.display: show_source and draw_grid, the chapters' figure helpers."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cnncourse.display import draw_grid  # noqa: E402


def test_draw_grid_writes_every_value_and_outlines_each_window():
    fig, axis = plt.subplots()
    draw_grid(axis, [[1, 2.5], [3, 4]], "a grid", windows=[(0, 0, 1, 2), (1, 1, 1, 1, "tab:blue")], fmt="{:.1f}")
    assert sorted(text.get_text() for text in axis.texts) == ["1.0", "2.5", "3.0", "4.0"]
    assert len(axis.patches) == 2 and axis.get_title() == "a grid"
    plt.close(fig)


@pytest.mark.parametrize("values, windows, words", [
    (np.zeros(3), (), "values must be a 2-D grid"),
    (np.zeros((2, 2)), [(0, 0, 1)], "each window must be"),
])
def test_draw_grid_rejects_bad_input(values, windows, words):
    fig, axis = plt.subplots()
    with pytest.raises(ValueError, match=words):
        draw_grid(axis, values, "title", windows=windows)
    plt.close(fig)
