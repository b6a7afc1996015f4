"""``Concatenate``: the merge of a U-Net's skip connection, ``keras.layers.Concatenate``'s twin.

A U-Net's decoder sees two things at each level: the upsampled coarse maps ``a`` (what is
there) and the encoder's maps ``b`` of the same size (where exactly, at full resolution).
They are stacked along the channel axis::

    y = concatenate([a, b], axis=-1)      a (N, H, W, Ca), b (N, H, W, Cb) -> y (N, H, W, Ca + Cb)

Each input owns its own channels of ``y``, so the backward pass splits ``dy`` back into
them: ``[da, db] = [dy[..., :Ca], dy[..., Ca:]]``. In the network, ``db`` is added to the
gradient that reaches ``b`` along the encoder path: that sum is the skip connection's
backward pass.
"""

from __future__ import annotations

import numpy as np

from ..checks import as_float_array, check_finite, check_int


class Concatenate:
    """Concatenate a list of arrays along ``axis``: ``[x_1, ..., x_k] -> y``.

    ``forward(inputs, training=False)`` (or ``Concatenate()(inputs)``) takes ``k >= 2`` arrays
    whose shapes agree on every axis except ``axis`` (``-1``, the channels, by default; never
    the batch axis 0) and returns ``y``, whose ``axis`` is the sum of theirs.
    ``backward(dy)`` returns ``[dx_1, ..., dx_k]``, the slices of ``dy`` that came from each
    input (copies). No weights: ``params`` and ``grads`` are empty.
    """

    def __init__(self, axis=-1, name=None):
        axis = check_int(axis, "axis")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__} {name!r}")
        self.axis = int(axis)
        self.name = name or "concatenate"
        self.params, self.grads = {}, {}
        self._sizes = None

    def forward(self, inputs, training=False):
        """``inputs``: a list of ``k >= 2`` arrays ``(N, ..., C_i, ...)``; returns ``(N, ..., sum C_i, ...)``."""
        if isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{self.name}: inputs must be a list of arrays, e.g. Concatenate()([a, b]), "
                            f"got {type(inputs).__name__}")
        if len(inputs) < 2:
            raise ValueError(f"{self.name}: inputs must hold at least 2 arrays, got {len(inputs)}")
        arrays = [as_float_array(array, f"{self.name}: inputs[{index}]") for index, array in enumerate(inputs)]
        first = arrays[0]
        if first.ndim < 2:
            raise ValueError(f"{self.name}: inputs need a batch axis and at least one more, got shape {first.shape}")
        if not -first.ndim <= self.axis < first.ndim:
            raise ValueError(f"{self.name}: axis {self.axis} is out of range for inputs of rank {first.ndim}")
        axis = self.axis % first.ndim
        if axis == 0:
            raise ValueError(f"{self.name}: axis must not be the batch axis 0; use -1 for the channels")
        for index, array in enumerate(arrays):
            others = [d for k, d in enumerate(array.shape) if k != axis]
            expected = [d for k, d in enumerate(first.shape) if k != axis]
            if array.ndim != first.ndim or others != expected:
                raise ValueError(f"{self.name}: inputs must agree on every axis but {self.axis}; inputs[0] has shape "
                                 f"{first.shape}, inputs[{index}] has shape {array.shape}")
            check_finite(array, f"{self.name}: inputs[{index}]")
        self._axis, self._sizes = axis, [array.shape[axis] for array in arrays]
        self._output_shape = first.shape[:axis] + (sum(self._sizes),) + first.shape[axis + 1:]
        return np.concatenate(arrays, axis=axis)

    def __call__(self, inputs, training=False):
        return self.forward(inputs, training)

    def backward(self, dy):
        """``dy`` of the last output's shape -> ``[dx_1, ..., dx_k]``, each of its input's shape."""
        if self._sizes is None:
            raise ValueError(f"{self.name}: call forward before backward")
        dy = as_float_array(dy, "dy")
        if dy.shape != self._output_shape:
            raise ValueError(f"{self.name}: dy must have the last output's shape {self._output_shape}, got {dy.shape}")
        bounds = np.cumsum(self._sizes)[:-1]
        return [part.copy() for part in np.split(dy, bounds, axis=self._axis)]

    def __repr__(self):
        return f"Concatenate(axis={self.axis}, name={self.name!r})"
