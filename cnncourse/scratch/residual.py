"""Residual connections (He et al., 2016): ``y = x + block(x)``, inside a ``Sequential``.

A skip connection needs two paths, which a linear stack of layers does not have. Keras
writes it with the functional API and an ``Add`` layer:

    inputs = keras.Input(shape)
    h = layers.Conv2D(c, 3, padding="same")(inputs)
    ...
    outputs = layers.Add()([inputs, h])          # y = x + f(x)

Here the two paths live inside one layer, ``Residual([Conv2D(c, 3, padding="same"), ...])``.
The backward pass adds the gradients of the two paths:

    dx = dy + block.backward(dy)

so the gradient reaches ``x`` through the identity even when the block's own gradient is
small: that is why very deep residual networks still train.

The block's weights are the wrapped layers' weights, in their order, which is Keras's
order for the functional model above: ``get_weights()`` / ``set_weights()`` lists move
between the two unchanged.

``Add`` is the merge itself, ``keras.layers.Add``'s twin, for code that keeps the two paths
by hand: ``Add()([x, h])`` sums equally shaped arrays, and ``backward(dy)`` hands ``dy``
unchanged to every input, because d(a + b)/da = d(a + b)/db = I. ``Residual`` is that
merge applied to ``[x, block(x)]``.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer
from ..checks import check_finite


class Residual(Layer):
    """``y = x + block(x)``; ``x (N,) + shape -> y (N,) + shape``, the block must keep the shape.

    Parameters
    ----------
    block : non-empty list of layers applied in order (e.g. Conv2D with ``padding="same"``,
        BatchNormalization, Activation), mapping per-sample shape ``s`` to ``s``

    ``params`` / ``grads`` hold the block's arrays themselves (not copies), under the keys
    ``"<layer name>.<weight name>"``; ``trainable_pairs()`` gives the block's own
    ``(layer, name)`` pairs, so moving statistics stay out of the optimizer.
    """

    def __init__(self, block, input_shape=None, name=None, dtype="float32"):
        super().__init__(input_shape, name, dtype)
        if isinstance(block, Layer) or not isinstance(block, (list, tuple)):
            raise TypeError(f"{self.name}: block must be a list of layers, e.g. [Conv2D(8, 3, padding='same')], "
                            f"got {type(block).__name__}")
        if not block:
            raise ValueError(f"{self.name}: block must hold at least one layer, got an empty list")
        for index, layer in enumerate(block):
            if not isinstance(layer, Layer):
                raise TypeError(f"{self.name}: block[{index}] must be a cnncourse.scratch layer, got {type(layer).__name__}")
        if len({id(layer) for layer in block}) != len(block):
            raise ValueError(f"{self.name}: block lists the same layer object twice; create one layer per position")
        self.block = list(block)

    # ------------------------------------------------------------------ weights
    @property
    def weight_names(self) -> tuple[str, ...]:
        return tuple(f"{layer.name}.{name}" for layer in self.block for name in layer.weight_names if name in layer.params)

    def _collect(self):
        """Point ``params`` and ``grads`` at the block's current arrays."""
        pairs = [(layer, name) for layer in self.block for name in layer.weight_names if name in layer.params]
        self.params = {f"{layer.name}.{name}": layer.params[name] for layer, name in pairs}
        self.grads = {f"{layer.name}.{name}": layer.grads[name] for layer, name in pairs}

    def trainable_pairs(self):
        return [pair for layer in self.block for pair in layer.trainable_pairs()]

    def astype(self, dtype):
        for layer in self.block:
            layer.astype(dtype)
        self.dtype = np.dtype(dtype)
        self._collect()
        return self

    # ------------------------------------------------------------------ building
    def _output_shape(self, input_shape):
        # Every shape is checked before any layer of the block is built.
        shape = tuple(input_shape)
        for layer in self.block:
            if layer.built and tuple(layer.input_shape) != shape:
                raise ValueError(f"{self.name}: {layer.name} was built for inputs {layer.input_shape}, but receives {shape}")
            if layer.expected_rank is not None and len(shape) + 1 != layer.expected_rank:
                raise ValueError(f"{self.name}: {layer.name} expects inputs of rank {layer.expected_rank} "
                                 f"{layer.layout}, but receives per-sample shape {shape}")
            shape = tuple(layer.output_shape) if layer.built else layer.compute_output_shape(shape)
        if shape != tuple(input_shape):
            raise ValueError(f"{self.name}: y = x + block(x) needs the block to keep the shape, but it maps "
                             f"{tuple(input_shape)} to {shape}; use padding='same', strides 1 and as many "
                             f"filters as input channels")
        return shape

    def _build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.block:
            if not layer.built:
                layer.build(shape)
            shape = layer.output_shape
        self._collect()

    def _check_compatible(self, shape):
        if tuple(shape) != tuple(self.input_shape):
            raise ValueError(f"{self.name}: x must have shape (batch,) + {tuple(self.input_shape)}, "
                             f"got (batch,) + {tuple(shape)}")

    # ------------------------------------------------------------------- passes
    def _forward(self, x, training=False):
        h = x
        for layer in self.block:
            h = layer.forward(h, training)
        y = x + h  # a new array: x itself is left as the caller gave it
        return y

    def _backward(self, dy, need_dx=True):
        dh = dy
        for index in range(len(self.block) - 1, -1, -1):
            dh = self.block[index].backward(dh, need_dx or index > 0)
        self._collect()  # the block's layers store fresh gradient arrays
        return dy + dh if need_dx else None

    def __repr__(self):
        return f"Residual(name={self.name!r}, block={[layer.name for layer in self.block]}, input_shape={self.input_shape})"


class Add:
    """Element-wise sum of a list of arrays, ``keras.layers.Add``'s twin: ``[x_1, ..., x_k] -> y``.

    ``forward(inputs, training=False)`` (or ``Add()(inputs)``) takes a list or tuple of
    ``k >= 2`` arrays of one shape ``(N, ...)`` and returns their sum, of that shape.
    ``backward(dy)`` returns ``[dy, ..., dy]`` (``k`` copies): the gradient of a sum reaches
    every input unchanged. ``Add`` has no weights (``params`` and ``grads`` are empty).

    Unlike Keras, shapes are not broadcast: a skip connection whose two paths differ in
    shape is a mistake, and gets a ValueError.
    """

    def __init__(self, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None, got {type(name).__name__} {name!r}")
        self.name = name or "add"
        self.params, self.grads = {}, {}
        self._count = None

    def forward(self, inputs, training=False):
        """Sum of ``inputs``, a list of ``k >= 2`` arrays of one shape ``(N, ...)``; returns ``(N, ...)``."""
        if isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{self.name}: inputs must be a list of arrays, e.g. Add()([x, h]), got {type(inputs).__name__}")
        if len(inputs) < 2:
            raise ValueError(f"{self.name}: inputs must hold at least 2 arrays to add, got {len(inputs)}")
        arrays = []
        for index, array in enumerate(inputs):
            array = np.asarray(array)
            if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
                raise TypeError(f"{self.name}: inputs[{index}] must hold real numbers, got dtype {array.dtype}")
            if array.shape != np.shape(inputs[0]):
                raise ValueError(f"{self.name}: every input must have the shape of inputs[0], {np.shape(inputs[0])}; "
                                 f"inputs[{index}] has shape {array.shape}")
            check_finite(array, f"{self.name}: inputs[{index}]")
            arrays.append(array)
        self._count = len(arrays)  # the backward pass returns one gradient per input
        total = arrays[0].copy() if np.issubdtype(arrays[0].dtype, np.floating) else arrays[0].astype(np.float32)
        for array in arrays[1:]:
            total = total + array
        return total

    def __call__(self, inputs, training=False):
        return self.forward(inputs, training)

    def backward(self, dy):
        """``[dy, ..., dy]``, one copy per input of the last ``forward``; ``dy`` has the output's shape."""
        if self._count is None:
            raise ValueError(f"{self.name}: call forward before backward")
        dy = np.asarray(dy)
        return [dy.copy() for _ in range(self._count)]

    def __repr__(self):
        return f"Add(name={self.name!r})"
