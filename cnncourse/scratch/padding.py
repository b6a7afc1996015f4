"""Where a sliding window goes: output sizes, TensorFlow's ``"valid"`` and ``"same"`` padding,
the window offsets, and cropping the padding off again.

``valid``: no padding; the window must fit, so the output has
``floor((n - k) / s) + 1`` positions along an axis of length ``n``.

``same``: the output has ``ceil(n / s)`` positions; the input is padded by
``pad_total = max((ceil(n / s) - 1) * s + k - n, 0)`` pixels, ``pad_total // 2`` before
and the rest (the extra pixel, when odd) after, i.e. at the bottom and the right.

Convolution and pooling share all of it through ``window_geometry``, which validates the
arguments once and computes the padding once; the result travels in their caches.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..checks import as_float_array, as_pair, check_padding


def output_length(input_length: int, kernel_length: int, stride: int, padding: str) -> int:
    """Number of output positions along one axis (``0`` when the kernel does not fit)."""
    padding = check_padding(padding)
    if padding == "same":
        return -(-input_length // stride)  # ceil(n / s)
    return max((input_length - kernel_length) // stride + 1, 0)


def pad_amounts(input_length: int, kernel_length: int, stride: int, padding: str) -> tuple[int, int]:
    """``(before, after)`` pixels of padding along one axis."""
    if check_padding(padding) == "valid":
        return (0, 0)
    out = -(-input_length // stride)
    total = max((out - 1) * stride + kernel_length - input_length, 0)
    return (total // 2, total - total // 2)


def output_shape(input_hw, kernel_size, strides, padding) -> tuple[int, int]:
    """``(out_height, out_width)`` for an input of spatial size ``input_hw = (H, W)``."""
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(strides, "strides")
    return (
        output_length(int(input_hw[0]), kh, sh, padding),
        output_length(int(input_hw[1]), kw, sw, padding),
    )


def window_offsets(window, strides, out_hw):
    """``(p, q, rows, cols)`` for every offset ``(p, q)`` of a ``window = (kh, kw)``.

    ``x_pad[:, rows, cols, :]``, shape ``(N, out_h, out_w, C)``, holds the pixel at offset
    ``(p, q)`` of every window at once: ``rows = p, p + sh, ..., p + (out_h - 1) * sh``.
    Convolution and pooling loop over these ``kh * kw`` slices instead of the output pixels.
    """
    (kh, kw), (sh, sw), (out_h, out_w) = window, strides, out_hw
    for p in range(kh):
        for q in range(kw):
            yield p, q, slice(p, p + (out_h - 1) * sh + 1, sh), slice(q, q + (out_w - 1) * sw + 1, sw)


class WindowGeometry(NamedTuple):
    """A window sliding over images of one size: everything its forward and backward passes share.

    ``window (kh, kw)``, ``strides (sh, sw)``, ``pads ((top, bottom), (left, right))``,
    ``input_hw (H, W)``, ``out_hw (out_h, out_w)``; made by ``window_geometry``.
    """

    window: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[tuple[int, int], tuple[int, int]]
    input_hw: tuple[int, int]
    out_hw: tuple[int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        """``(H + top + bottom, W + left + right)``."""
        (top, bottom), (left, right) = self.pads
        return (self.input_hw[0] + top + bottom, self.input_hw[1] + left + right)

    def offsets(self):
        """``window_offsets`` for this geometry: ``(p, q, rows, cols)`` per window offset."""
        return window_offsets(self.window, self.strides, self.out_hw)

    def pad(self, x: np.ndarray, value: float = 0.0) -> np.ndarray:
        """``x (N, H, W, C) -> (N, H_pad, W_pad, C)``, filled with ``value``; ``x`` itself when no padding."""
        if self.pads == ((0, 0), (0, 0)):
            return x
        return np.pad(x, ((0, 0), self.pads[0], self.pads[1], (0, 0)), constant_values=value)

    def zeros_padded(self, batch: int, channels: int, dtype) -> np.ndarray:
        """A zero gradient for the padded input, ``(N, H_pad, W_pad, C)``, for the backward passes to add into."""
        return np.zeros((batch,) + self.padded_hw + (channels,), dtype=dtype)

    def crop(self, x_padded: np.ndarray) -> np.ndarray:
        """``(N, H_pad, W_pad, C) -> (N, H, W, C)``: drop the padding (a view)."""
        (top, _), (left, _) = self.pads
        return x_padded[:, top : top + self.input_hw[0], left : left + self.input_hw[1], :]

    def check_output_gradient(self, dy, batch: int, channels: int, dtype=None, name: str = "dout") -> np.ndarray:
        """``dy`` as a float array of the forward output's shape ``(N, out_h, out_w, C)``, else ``ValueError``."""
        dy = as_float_array(dy, name, dtype)
        expected = (batch,) + tuple(self.out_hw) + (channels,)
        if dy.shape != expected:
            raise ValueError(f"{name} must have the forward output's shape {expected}, got {dy.shape}")
        return dy


def window_geometry(x_shape, window, strides, padding, name: str = "kernel_size") -> WindowGeometry:
    """Validate a sliding window over inputs of shape ``x_shape (N, H, W, C)`` and compute its padding once.

    ``window`` and ``strides`` are an int or a pair; ``padding`` is ``"valid"`` or ``"same"``.
    ``ValueError`` (naming ``name``) when the window is larger than the padded input.
    """
    window, strides = as_pair(window, name), as_pair(strides, "strides")
    padding = check_padding(padding)
    height, width = int(x_shape[1]), int(x_shape[2])
    pads = (pad_amounts(height, window[0], strides[0], padding), pad_amounts(width, window[1], strides[1], padding))
    padded = (height + sum(pads[0]), width + sum(pads[1]))
    if window[0] > padded[0] or window[1] > padded[1]:
        raise ValueError(
            f"{name} {window} is larger than the padded input {padded} "
            f"(input height and width {(height, width)}, padding={padding!r})"
        )
    out_hw = ((padded[0] - window[0]) // strides[0] + 1, (padded[1] - window[1]) // strides[1] + 1)
    return WindowGeometry(window, strides, pads, (height, width), out_hw)
