"""Output sizes and padding amounts, following TensorFlow's ``"valid"`` and ``"same"``.

``valid``: no padding; the window must fit, so the output has
``floor((n - k) / s) + 1`` positions along an axis of length ``n``.

``same``: the output has ``ceil(n / s)`` positions; the input is padded by
``pad_total = max((ceil(n / s) - 1) * s + k - n, 0)`` pixels, ``pad_total // 2`` before
and the rest (the extra pixel, when odd) after, i.e. at the bottom and the right.
"""

from __future__ import annotations

import numpy as np

from .validation import as_pair, check_padding


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


def pad_images(x: np.ndarray, kernel_size, strides, padding, value: float = 0.0):
    """Pad a batch for a sliding window.

    Parameters
    ----------
    x : array ``(N, H, W, C)``
    kernel_size, strides : int or (int, int)
    padding : "valid" or "same"
    value : the fill value (0 for convolution and average pooling, -inf for max pooling)

    Returns
    -------
    x_padded : array ``(N, H + top + bottom, W + left + right, C)``
    pads : ``((top, bottom), (left, right))``
    """
    (kh, kw), (sh, sw) = as_pair(kernel_size, "kernel_size"), as_pair(strides, "strides")
    pads = (pad_amounts(x.shape[1], kh, sh, padding), pad_amounts(x.shape[2], kw, sw, padding))
    if pads == ((0, 0), (0, 0)):
        return x, pads
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value), pads


def check_window_fits(x_shape, kernel_size, strides, padding, name: str = "kernel_size") -> tuple[int, int]:
    """Output ``(out_height, out_width)``; ``ValueError`` if the window is larger than the padded input."""
    (kh, kw), (sh, sw) = as_pair(kernel_size, name), as_pair(strides, "strides")
    height, width = int(x_shape[1]), int(x_shape[2])
    padded = (
        height + sum(pad_amounts(height, kh, sh, padding)),
        width + sum(pad_amounts(width, kw, sw, padding)),
    )
    if kh > padded[0] or kw > padded[1]:
        raise ValueError(
            f"{name} {(kh, kw)} is larger than the padded input {padded} "
            f"(input height and width {(height, width)}, padding={padding!r})"
        )
    return output_shape((height, width), (kh, kw), (sh, sw), padding)
