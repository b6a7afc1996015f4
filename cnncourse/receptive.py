"""Receptive fields of a chain of convolution and pooling layers (chapter 3.1, FAQ Q3).

The receptive field of an output pixel is the patch of the input image that can change it.
Each layer, first layer first, adds ``kernel_size - 1`` times the current *jump* (the
distance, in input pixels, between neighbouring positions of the layer's input), and a
stride multiplies the jump::

    r_l = r_{l-1} + (k_l - 1) * j_{l-1},    j_l = j_{l-1} * s_l,    r_0 = j_0 = 1

A ``MaxPooling2D((2, 2))`` is the layer ``(2, 2)``. Padding moves the field but does not
change its size, so it plays no part here. NumPy only.
"""

from __future__ import annotations

from .checks import check_int

__all__ = ["receptive_field", "receptive_field_growth"]


def _check_layers(layers) -> list[tuple[int, int]]:
    """``layers`` as a list of ``(kernel_size, stride)`` pairs of positive ints, or a clear error."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of (kernel_size, stride) pairs, got {type(layers).__name__} {layers!r}")
    checked = []
    for index, layer in enumerate(layers):
        if isinstance(layer, (str, bytes)) or not hasattr(layer, "__len__") or len(layer) != 2:
            raise ValueError(f"layers[{index}] must be a (kernel_size, stride) pair, got {layer!r}")
        checked.append(tuple(check_int(value, f"layers[{index}]: {name}", low=1)
                             for name, value in zip(("kernel_size", "stride"), layer)))
    return checked


def receptive_field_growth(layers) -> list[tuple[int, int]]:
    """``(receptive field, jump)`` after each layer of a chain, first layer first.

    Parameters
    ----------
    layers : sequence of ``(kernel_size, stride)`` pairs of positive ints, length L

    Returns
    -------
    list of L ``(field, jump)`` pairs of ints: the side of the square input patch that one
    output pixel of that layer sees, and the distance in input pixels between its neighbouring
    output pixels
    """
    field, jump, growth = 1, 1, []
    for kernel_size, stride in _check_layers(layers):
        field, jump = field + (kernel_size - 1) * jump, jump * stride
        growth.append((field, jump))
    return growth


def receptive_field(layers) -> int:
    """Receptive field, in pixels, of the last layer of a chain of ``(kernel_size, stride)`` layers.

    ``receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)])`` is 18: one output value of the
    seed's last convolution sees an 18 x 18 patch of the 28 x 28 input. An empty chain sees 1 pixel.

    Parameters
    ----------
    layers : sequence of ``(kernel_size, stride)`` pairs of positive ints, first layer first

    Returns
    -------
    int, the side of the square input patch
    """
    growth = receptive_field_growth(layers)
    return growth[-1][0] if growth else 1
